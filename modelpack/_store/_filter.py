"""The search language for runs and experiments, compiled to parameterized SQL.

Run filter: conditions joined by ``and``::

    metrics.rmse < 7 and params.alpha = '0.1' and tags.developer = 'ana'
    attributes.status = 'FINISHED' and run_name LIKE 'xgb-%' and params.model IN ('lr', 'xgb')
    tags.mlflow.parentRunId IS NULL

Metrics compare with numbers (``= != < <= > >=``); params, tags and text attributes with quoted
strings (``= != LIKE ILIKE IN NOT IN``, and ``IS NULL`` / ``IS NOT NULL`` for params and tags);
``start_time``/``end_time`` with numbers. Keys with spaces or odd characters go in backticks or
double quotes: ``metrics.`val rmse```. Order by: ``["metrics.rmse ASC", "params.alpha DESC",
"start_time"]``; runs missing the key sort last.

Experiment filter: ``name`` and ``experiment_id`` (text), ``creation_time`` and
``last_update_time`` (numbers) and ``tags.<key>``, e.g. ``name LIKE 'nyc-%' and tags.team =
'ml'``; order by ``name``, ``experiment_id``, ``creation_time`` or ``last_update_time``.

User values only ever reach SQL as bound parameters, never as SQL text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from modelpack.exceptions import ModelpackError

__all__ = [
    "FilterError",
    "RunSearch",
    "compile_experiment_filter",
    "compile_experiment_order_by",
    "compile_filter",
    "compile_order_by",
    "compile_search",
]

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
_NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
_TEXT_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
_NULL_OPS = ("IS NULL", "IS NOT NULL")


@dataclass(frozen=True)
class _Target:
    """What a search is about: the row alias, its attributes and its key/value tables."""

    what: str
    row_id: str
    text_attrs: dict[str, str]
    number_attrs: dict[str, str]
    #: entity -> (table, column joining it to the row)
    tables: dict[str, tuple[str, str]]
    grammar: str


_RUNS = _Target(
    what="run",
    row_id="r.run_id",
    text_attrs={
        "run_id": "r.run_id",
        "run_name": "r.run_name",
        "status": "r.status",
        "user_id": "r.user_id",
        "experiment_id": "CAST(r.experiment_id AS TEXT)",
    },
    number_attrs={
        "start_time": "r.start_time",
        "end_time": "r.end_time",
        "created": "r.start_time",
    },
    tables={
        "metrics": ("latest_metrics", "run_id"),
        "params": ("params", "run_id"),
        "tags": ("run_tags", "run_id"),
    },
    grammar=(
        "write conditions like metrics.rmse < 7 and params.alpha = '0.1' and tags.team = 'a' "
        "(metrics compare with numbers, params and tags with quoted strings)"
    ),
)
_EXPERIMENTS = _Target(
    what="experiment",
    row_id="e.experiment_id",
    text_attrs={"name": "e.name", "experiment_id": "CAST(e.experiment_id AS TEXT)"},
    number_attrs={"creation_time": "e.creation_time", "last_update_time": "e.last_update_time"},
    tables={"tags": ("experiment_tags", "experiment_id")},
    grammar="write conditions like name LIKE 'nyc-%' and tags.team = 'ml'",
)


class FilterError(ModelpackError, ValueError):
    """A filter or order-by expression that cannot be parsed; the message says why."""


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokenize(text: str, grammar: str) -> list[_Token]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise FilterError(
                f"cannot parse {text!r} at {text[pos : pos + 20].strip()!r}; {grammar}"
            )
        kind = match.lastgroup or ""
        tokens.append(_Token(kind, match.group(kind)))
        pos = match.end()
    return tokens


def _split_key(text: str, target: _Target, *, where: str) -> tuple[str, str]:
    """``metrics.rmse`` -> (metrics, rmse); a bare name is an attribute."""
    head, dot, rest = text.partition(".")
    entity = _ENTITIES.get(head.lower()) if dot else None
    if entity is None:
        entity, rest = "attributes", text
    quoted = len(rest) > 1 and rest[0] == rest[-1] and rest[0] in '`"'
    key = rest[1:-1] if quoted else rest
    known_attr = key in target.text_attrs or key in target.number_attrs
    if (entity == "attributes" and not known_attr) or (
        entity != "attributes" and entity not in target.tables
    ):
        known = ", ".join([*target.text_attrs, *target.number_attrs])
        kinds = ", ".join(f"{t}.<name>" for t in target.tables)
        raise FilterError(f"unknown key {text!r} in {where}; use {kinds} or an attribute ({known})")
    if not key:
        raise FilterError(f"empty key in {where}: {text!r}")
    return entity, key


def _unquote(token: _Token) -> str:
    quote = token.text[0]
    return token.text[1:-1].replace(quote * 2, quote)


class _Parser:
    def __init__(self, text: str, grammar: str) -> None:
        self.text = text
        self.grammar = grammar
        self.tokens = _tokenize(text, grammar)
        self.pos = 0

    def next(self, expected: str) -> _Token:
        if self.pos >= len(self.tokens):
            raise FilterError(
                f"filter {self.text!r} ends early: expected {expected}; {self.grammar}"
            )
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def peek_word(self) -> str | None:
        if self.pos < len(self.tokens) and self.tokens[self.pos].kind == "key":
            return self.tokens[self.pos].text.upper()
        return None

    def operator(self) -> str:
        token = self.next("a comparison (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS NULL)")
        if token.kind == "op":
            return {"==": "=", "<>": "!="}.get(token.text, token.text)
        word = token.text.upper()
        if word == "NOT" and self.peek_word() == "IN":
            self.pos += 1
            return "NOT IN"
        if word == "IS":
            negated = self.peek_word() == "NOT"
            self.pos += negated
            if self.peek_word() == "NULL":
                self.pos += 1
                return "IS NOT NULL" if negated else "IS NULL"
        if word in ("LIKE", "ILIKE", "IN"):
            return word
        raise FilterError(f"expected a comparison after a key, got {token.text!r}; {self.grammar}")

    def value(self) -> _Token:
        token = self.next("a value")
        if token.kind not in ("string", "number"):
            raise FilterError(
                f"expected a number or a quoted string, got {token.text!r}; {self.grammar}"
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

    def values_for(self, op: str) -> list[_Token]:
        if op in _NULL_OPS:
            return []
        return self.value_list() if op in ("IN", "NOT IN") else [self.value()]


@dataclass(frozen=True)
class _Term:
    """One checked condition of a filter: ``metrics.rmse < 7`` and its bound values."""

    entity: str
    key: str
    op: str
    args: tuple[Any, ...]


def _arguments(
    target: _Target, entity: str, key: str, op: str, values: list[_Token]
) -> tuple[Any, ...]:
    """The condition's values as bound parameters, once the operator and value kinds are
    checked."""
    numeric = entity == "metrics" or (entity == "attributes" and key in target.number_attrs)
    allowed: tuple[str, ...] = _NUMERIC_OPS if numeric else _TEXT_OPS
    if entity in ("params", "tags"):
        allowed = (*allowed, *_NULL_OPS)
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
    return tuple(float(v.text) if numeric else _unquote(v) for v in values)


def _condition(target: _Target, term: _Term) -> tuple[str, list[Any]]:
    """One condition as SQL on the row, and its bound parameters."""
    args = list(term.args)
    if term.entity == "attributes":
        column = target.text_attrs.get(term.key) or target.number_attrs[term.key]
        return _compare(column, term.op, args)
    table, link = target.tables[term.entity]
    exists = f"EXISTS (SELECT 1 FROM {table} x WHERE x.{link} = {target.row_id} AND x.key = ?"
    if term.op in _NULL_OPS:
        return f"{'NOT ' if term.op == 'IS NULL' else ''}{exists})", [term.key]
    sql, params = _compare("x.value", term.op, args)
    return f"{exists} AND {sql})", [term.key, *params]


def _compare(column: str, op: str, args: list[Any]) -> tuple[str, list[Any]]:
    if op in ("IN", "NOT IN"):
        marks = ", ".join("?" * len(args))
        return f"{column} {op} ({marks})", args
    if op in ("LIKE", "ILIKE"):
        return f"mp_like({column}, ?, {int(op == 'ILIKE')})", args
    return f"{column} {op} ?", args


def _terms(text: str | None, target: _Target) -> list[_Term]:
    """The conditions of a filter, parsed and checked (none for an empty filter)."""
    if text is None or not text.strip():
        return []
    parser = _Parser(text, target.grammar)
    terms: list[_Term] = []
    while True:
        key = parser.next("a key such as metrics.rmse")
        if key.kind != "key":
            raise FilterError(f"expected a key, got {key.text!r}; {target.grammar}")
        entity, name = _split_key(key.text, target, where=f"filter {text!r}")
        op = parser.operator()
        args = _arguments(target, entity, name, op, parser.values_for(op))
        terms.append(_Term(entity, name, op, args))
        if parser.pos == len(parser.tokens):
            return terms
        joiner = parser.next("and").text.upper()
        if joiner != "AND":
            extra = " (OR is not supported: run two searches)" if joiner == "OR" else ""
            raise FilterError(f"expected 'and' between conditions, got {joiner!r}{extra}")


def _where(terms: list[_Term], target: _Target) -> tuple[str, list[Any]]:
    if not terms:
        return "1 = 1", []
    clauses: list[str] = []
    params: list[Any] = []
    for term in terms:
        sql, args = _condition(target, term)
        clauses.append(sql)
        params.extend(args)
    return " AND ".join(clauses), params


def _order_terms(items: list[str] | None, target: _Target) -> list[tuple[str, str, str]]:
    """(entity, key, ASC|DESC) for each order-by item."""
    terms = []
    for item in items or ():
        match = re.fullmatch(r"\s*(.+?)(?:\s+(ASC|DESC))?\s*", item, re.IGNORECASE)
        if not match:
            raise FilterError(f"cannot parse order_by {item!r}; write 'metrics.rmse ASC'")
        entity, key = _split_key(match.group(1).strip(), target, where=f"order_by {item!r}")
        terms.append((entity, key, (match.group(2) or "ASC").upper()))
    return terms


def _order(items: list[tuple[str, str, str]], carried: list[_Term]) -> tuple[str, list[Any], str]:
    """(joins, join parameters, ORDER BY expression) for run order-by terms; a key with
    ``carried`` filter conditions is an inner join holding them, any other a LEFT JOIN."""
    joins: list[str] = []
    params: list[Any] = []
    order: list[str] = []
    for n, (entity, key, direction) in enumerate(items):
        if entity == "attributes":
            expr = _RUNS.text_attrs.get(key) or _RUNS.number_attrs[key]
            order.append(f"{expr} IS NULL, {expr} {direction}")
            continue
        table, link = _RUNS.tables[entity]
        alias = f"o{n}"
        on = f"{alias}.{link} = r.run_id AND {alias}.key = ?"
        params.append(key)
        terms = [t for t in carried if (t.entity, t.key) == (entity, key)]
        if not terms:
            joins.append(f"LEFT JOIN {table} {alias} ON {on}")
            order.append(f"{alias}.value IS NULL, {alias}.value {direction}")
            continue
        for term in terms:
            if term.op not in _NULL_OPS:  # IS NOT NULL: the inner join is the condition
                sql, args = _compare(f"{alias}.value", term.op, list(term.args))
                on += f" AND {sql}"
                params.extend(args)
        joins.append(f"JOIN {table} {alias} ON {on}")
        order.append(f"{alias}.value {direction}")
    order.append("r.start_time DESC, r.run_id")
    return " ".join(joins), params, ", ".join(order)


class RunSearch(NamedTuple):
    """A run search as SQL pieces over ``runs r``, spliced as ``FROM runs r {joins} WHERE
    ({where}) ORDER BY {order}``, with ``join_params`` bound before ``params``."""

    joins: str
    join_params: list[Any]
    where: str
    params: list[Any]
    order: str


def compile_filter(text: str | None) -> tuple[str, list[Any]]:
    """Compile a run filter to a SQL boolean expression over ``runs r`` (``"1 = 1"`` when empty)."""
    return _where(_terms(text, _RUNS), _RUNS)


def compile_order_by(items: list[str] | None) -> tuple[str, list[Any], str]:
    """Compile run order-by terms to ``(joins, join parameters, ORDER BY expression)``.

    Each metric, param or tag term is one ``LEFT JOIN`` on the run (one index lookup per
    run); runs missing the key sort last either way, and the newest run breaks ties.
    """
    return _order(_order_terms(items, _RUNS), [])


def compile_search(filter_string: str | None, order_by: list[str] | None) -> RunSearch:
    """Compile a run search's filter and order together: the same rows in the same order as
    :func:`compile_filter` with :func:`compile_order_by`, in a form that can be read from an
    index in order.

    Runs missing an order key (or holding NaN, stored as NULL) sort last: a ``LEFT JOIN`` and
    an ``IS NULL`` sort key. A filter that compares that same key (``metrics.rmse < 5``, or
    ``IS NOT NULL``; every comparison fails on a NaN) admits no such run, so the key becomes an
    inner join carrying those conditions, with no ``IS NULL`` key, and they leave the WHERE
    clause: PostgreSQL can then walk ``latest_metrics_by_key (key, value)`` from the filter's
    bound in the order asked for and stop at the page's end, instead of joining and sorting
    every run of the experiment. (Repeating them in WHERE would also be correct, but makes the
    planner count their selectivity twice and pick the sort.)
    """
    terms = _terms(filter_string, _RUNS)
    items = _order_terms(order_by, _RUNS)
    ordered = {(entity, key) for entity, key, _ in items if entity != "attributes"}
    carried = [t for t in terms if (t.entity, t.key) in ordered and t.op != "IS NULL"]
    where, params = _where([t for t in terms if not any(t is c for c in carried)], _RUNS)
    joins, join_params, order = _order(items, carried)
    return RunSearch(joins, join_params, where, params, order)


def compile_experiment_filter(text: str | None) -> tuple[str, list[Any]]:
    """Compile an experiment filter to SQL over ``experiments e`` (``"1 = 1"`` when empty)."""
    return _where(_terms(text, _EXPERIMENTS), _EXPERIMENTS)


def compile_experiment_order_by(items: list[str] | None) -> str:
    """Experiment order: newest first unless told otherwise; the id always breaks ties."""
    terms = _order_terms(items, _EXPERIMENTS) or [
        ("attributes", "creation_time", "DESC"),
        ("attributes", "experiment_id", "ASC"),
    ]
    order = []
    for entity, key, direction in terms:
        if entity != "attributes":
            raise FilterError(
                f"experiments order by an attribute ({', '.join(_EXPERIMENTS.text_attrs)}, "
                f"{', '.join(_EXPERIMENTS.number_attrs)}), not {entity}.{key}"
            )
        column = (
            "e.experiment_id"
            if key == "experiment_id"
            else (_EXPERIMENTS.text_attrs.get(key) or _EXPERIMENTS.number_attrs[key])
        )
        order.append(f"{column} {direction}")
    if not any(key == "experiment_id" for _, key, _ in terms):
        order.append("e.experiment_id DESC")
    return ", ".join(order)
