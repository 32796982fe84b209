"""The run search language, compiled to parameterized SQL.

Filter: conditions joined by ``and``::

    metrics.rmse < 7 and params.alpha = '0.1' and tags.developer = 'ana'
    attributes.status = 'FINISHED' and run_name LIKE 'xgb-%' and params.model IN ('lr', 'xgb')

Metrics compare with numbers (``= != < <= > >=``); params, tags and text attributes with quoted
strings (``= != LIKE ILIKE IN NOT IN``); ``start_time``/``end_time`` with numbers. Keys with
spaces or odd characters go in backticks or double quotes: ``metrics.`val rmse```.
Order by: ``["metrics.rmse ASC", "params.alpha DESC", "start_time"]``; runs missing the key
sort last. User values only ever reach SQL as bound parameters, never as SQL text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from modelpack.exceptions import ModelpackError

__all__ = ["FilterError", "compile_filter", "compile_order_by"]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
      | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
      | (?P<op><=|>=|!=|<>|==|=|<|>)
      | (?P<punct>[(),])
      | (?P<key>[A-Za-z_]\w*\.(?:`[^`]+`|"[^"]+")|[A-Za-z_][\w.\-/]*)
    )""",
    re.VERBOSE,
)
_ENTITIES = {
    "metric": "metrics", "metrics": "metrics",
    "param": "params", "params": "params", "parameter": "params", "parameters": "params",
    "tag": "tags", "tags": "tags",
    "attribute": "attributes", "attributes": "attributes", "attr": "attributes", "run": "attributes",
}  # fmt: skip
_TEXT_ATTRS = {
    "run_id": "r.run_id",
    "run_name": "r.run_name",
    "status": "r.status",
    "user_id": "r.user_id",
    "experiment_id": "CAST(r.experiment_id AS TEXT)",
}
_TIME_ATTRS = {"start_time": "r.start_time", "end_time": "r.end_time"}
_NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
_TEXT_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
_TABLES = {"metrics": "latest_metrics", "params": "params", "tags": "run_tags"}
_GRAMMAR = (
    "write conditions like metrics.rmse < 7 and params.alpha = '0.1' and tags.team = 'a' "
    "(metrics compare with numbers, params and tags with quoted strings)"
)


class FilterError(ModelpackError, ValueError):
    """A filter or order-by expression that cannot be parsed; the message says why."""


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokenize(text: str) -> list[_Token]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise FilterError(
                f"cannot parse {text!r} at {text[pos : pos + 20].strip()!r}; {_GRAMMAR}"
            )
        kind = match.lastgroup or ""
        tokens.append(_Token(kind, match.group(kind)))
        pos = match.end()
    return tokens


def _split_key(text: str, *, where: str) -> tuple[str, str]:
    """``metrics.rmse`` -> (metrics, rmse); a bare name is an attribute."""
    head, dot, rest = text.partition(".")
    entity = _ENTITIES.get(head.lower()) if dot else None
    if entity is None:
        entity, rest = "attributes", text
    quoted = len(rest) > 1 and rest[0] == rest[-1] and rest[0] in '`"'
    key = rest[1:-1] if quoted else rest
    if entity == "attributes" and key not in _TEXT_ATTRS and key not in _TIME_ATTRS:
        known = ", ".join([*_TEXT_ATTRS, *_TIME_ATTRS])
        raise FilterError(
            f"unknown key {text!r} in {where}; use metrics.<name>, params.<name>, tags.<name> "
            f"or an attribute ({known})"
        )
    if not key:
        raise FilterError(f"empty key in {where}: {text!r}")
    return entity, key


def _unquote(token: _Token) -> str:
    quote = token.text[0]
    return token.text[1:-1].replace(quote * 2, quote)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def next(self, expected: str) -> _Token:
        if self.pos >= len(self.tokens):
            raise FilterError(f"filter {self.text!r} ends early: expected {expected}; {_GRAMMAR}")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def peek_word(self) -> str | None:
        if self.pos < len(self.tokens) and self.tokens[self.pos].kind == "key":
            return self.tokens[self.pos].text.upper()
        return None

    def operator(self) -> str:
        token = self.next("a comparison (=, !=, <, <=, >, >=, LIKE, ILIKE, IN)")
        if token.kind == "op":
            return {"==": "=", "<>": "!="}.get(token.text, token.text)
        word = token.text.upper()
        if word == "NOT" and self.peek_word() == "IN":
            self.pos += 1
            return "NOT IN"
        if word in ("LIKE", "ILIKE", "IN"):
            return word
        raise FilterError(f"expected a comparison after a key, got {token.text!r}; {_GRAMMAR}")

    def value(self) -> _Token:
        token = self.next("a value")
        if token.kind not in ("string", "number"):
            raise FilterError(
                f"expected a number or a quoted string, got {token.text!r}; {_GRAMMAR}"
            )
        return token

    def value_list(self) -> list[_Token]:
        if self.next("(").text != "(":
            raise FilterError(f"IN takes a parenthesized list: IN ('a', 'b'); in {self.text!r}")
        values = [self.value()]
        while (token := self.next(") or ,")).text == ",":
            values.append(self.value())
        if token.text != ")":
            raise FilterError(f"expected , or ) in the IN list of {self.text!r}")
        return values


def _condition(entity: str, key: str, op: str, values: list[_Token]) -> tuple[str, list[Any]]:
    """One condition as SQL on the run row ``r``, and its bound parameters."""
    numeric = entity == "metrics" or (entity == "attributes" and key in _TIME_ATTRS)
    allowed = _NUMERIC_OPS if numeric else _TEXT_OPS
    label = f"{entity}.{key}" if entity != "attributes" else key
    if op not in allowed:
        raise FilterError(f"{label} cannot be compared with {op}; use {', '.join(allowed)}")
    want = "number" if numeric else "string"
    for value in values:
        if value.kind != want:
            hint = (
                "an unquoted number" if numeric else f"a quoted string: {label} {op} '{value.text}'"
            )
            raise FilterError(f"{label} compares with {hint}, got {value.text}")
    args: list[Any] = [float(v.text) if numeric else _unquote(v) for v in values]
    if entity == "attributes":
        column = _TEXT_ATTRS.get(key) or _TIME_ATTRS[key]
        return _compare(column, op, args)
    sql, params = _compare("x.value", op, args)
    table = _TABLES[entity]
    return (
        f"EXISTS (SELECT 1 FROM {table} x WHERE x.run_id = r.run_id AND x.key = ? AND {sql})",
        [key, *params],
    )


def _compare(column: str, op: str, args: list[Any]) -> tuple[str, list[Any]]:
    if op in ("IN", "NOT IN"):
        marks = ", ".join("?" * len(args))
        return f"{column} {op} ({marks})", args
    if op in ("LIKE", "ILIKE"):
        return f"mp_like({column}, ?, {int(op == 'ILIKE')})", args
    return f"{column} {op} ?", args


def compile_filter(text: str | None) -> tuple[str, list[Any]]:
    """Compile a filter to a SQL boolean expression over ``runs r`` (``"1"`` when empty)."""
    if text is None or not text.strip():
        return "1", []
    parser = _Parser(text)
    clauses: list[str] = []
    params: list[Any] = []
    while True:
        key = parser.next("a key such as metrics.rmse")
        if key.kind != "key":
            raise FilterError(f"expected a key such as metrics.rmse, got {key.text!r}; {_GRAMMAR}")
        entity, name = _split_key(key.text, where=f"filter {text!r}")
        op = parser.operator()
        values = parser.value_list() if op in ("IN", "NOT IN") else [parser.value()]
        sql, args = _condition(entity, name, op, values)
        clauses.append(sql)
        params.extend(args)
        if parser.pos == len(parser.tokens):
            return " AND ".join(clauses), params
        joiner = parser.next("and").text.upper()
        if joiner != "AND":
            extra = " (OR is not supported: run two searches)" if joiner == "OR" else ""
            raise FilterError(f"expected 'and' between conditions, got {joiner!r}{extra}")


def compile_order_by(items: list[str] | None) -> tuple[str, list[Any]]:
    """Compile order-by terms to SQL (missing values last; newest run breaks ties)."""
    terms: list[str] = []
    params: list[Any] = []
    for item in items or ():
        match = re.fullmatch(r"\s*(.+?)(?:\s+(ASC|DESC))?\s*", item, re.IGNORECASE)
        if not match:
            raise FilterError(f"cannot parse order_by {item!r}; write 'metrics.rmse ASC'")
        entity, key = _split_key(match.group(1).strip(), where=f"order_by {item!r}")
        direction = (match.group(2) or "ASC").upper()
        if entity == "attributes":
            expr = _TEXT_ATTRS.get(key) or _TIME_ATTRS[key]
        else:
            expr = (
                f"(SELECT x.value FROM {_TABLES[entity]} x WHERE x.run_id = r.run_id AND x.key = ?)"
            )
            params.extend([key, key])
        terms.append(f"{expr} IS NULL, {expr} {direction}")
    terms.append("r.start_time DESC, r.run_id")
    return ", ".join(terms), params
