"""Searching the registry: filters, ordering and pages for registered models and versions.

The filter language is MLflow's for the registry: conditions joined by ``and``::

    name = 'taxi'        name LIKE 'taxi-%'        name IN ('taxi', 'churn')
    run_id = '4f2...'    source_path LIKE '%/model'    version_number > 2
    tags.team = 'ml'     tags.`needs review` != 'yes'

Registered models filter on ``name`` and ``tags.<key>``; versions also on ``run_id``,
``source_path`` and ``version_number``. Text compares with quoted strings (``= != LIKE ILIKE``,
and ``IN``/``NOT IN`` for ``name`` and ``run_id``); ``LIKE`` is case-sensitive, ``ILIKE`` not.
Order by ``name``, ``creation_timestamp``, ``last_updated_timestamp`` (``timestamp``) and, for
versions, ``version_number``, each ``ASC`` or ``DESC``.

The text is parsed here into conditions, never spliced into SQL: :func:`compile_search` turns
them into a parameterized WHERE and ORDER BY for the SQL backends, where every value the user
wrote is a bound parameter. Pages are ``max_results`` long; ``page_token`` is opaque to the
caller (it records the offset of the next page).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modelpack._store._filter import FilterError
from modelpack.exceptions import StoreError

__all__ = [
    "MODELS",
    "VERSIONS",
    "RegistryValueError",
    "SearchKind",
    "check_max_results",
    "compile_search",
    "decode_page_token",
    "encode_page_token",
]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
      | (?P<number>[-+]?\d+)
      | (?P<op><=|>=|!=|<>|==|=|<|>)
      | (?P<punct>[(),])
      | (?P<key>[A-Za-z_]\w*\.(?:`[^`]+`|"[^"]+")|[A-Za-z_][\w.\-]*)
    )""",
    re.VERBOSE,
)
_TAG_PREFIXES = ("tags.", "tag.")
_ATTR_PREFIXES = ("attributes.", "attribute.")
_EQ_OPS = ("=", "!=", "LIKE", "ILIKE")
_LIST_OPS = ("IN", "NOT IN")
_NUMBER_OPS = ("=", "!=", "<", "<=", ">", ">=")


class RegistryValueError(StoreError, ValueError):
    """A registry argument that cannot be used: a name, alias, stage or version number,
    ``max_results`` or a page token. The message says what is accepted.

    A :class:`~modelpack.exceptions.StoreError` and a ``ValueError``; its ``error_code`` is
    ``INVALID_PARAMETER_VALUE``, as MLflow's for the same mistakes.
    """

    error_code = "INVALID_PARAMETER_VALUE"


@dataclass(frozen=True)
class SearchKind:
    """What a registry search returns, and what its filter and order may name."""

    what: str
    #: attribute -> (SQL column, the comparisons it takes); text attributes
    text_attrs: dict[str, tuple[str, tuple[str, ...]]]
    #: numeric attribute -> SQL column
    number_attrs: dict[str, str]
    #: the tag table and how a tag row ``x`` joins the searched row
    tag_table: str
    tag_join: str
    #: order-by key -> SQL column
    order_keys: dict[str, str]
    #: the order when none is given, then the keys that always break ties (key, ascending)
    default_order: tuple[tuple[str, bool], ...]
    tie_breakers: tuple[tuple[str, bool], ...]
    min_results: int
    max_results: int
    example: str


_TEXT_ALL = (*_EQ_OPS, *_LIST_OPS)

MODELS = SearchKind(
    what="registered models",
    text_attrs={"name": ("m.name", _TEXT_ALL)},
    number_attrs={},
    tag_table="registered_model_tags",
    tag_join="x.name = m.name",
    order_keys={
        "name": "m.name",
        "creation_timestamp": "m.creation_time",
        "last_updated_timestamp": "m.last_updated_time",
        "timestamp": "m.last_updated_time",
    },
    default_order=(),
    tie_breakers=(("name", True),),
    min_results=0,
    max_results=1000,
    example="name LIKE 'taxi-%' and tags.team = 'ml'",
)
VERSIONS = SearchKind(
    what="model versions",
    text_attrs={
        "name": ("v.name", _TEXT_ALL),
        "run_id": ("v.run_id", _TEXT_ALL),
        "source_path": ("v.source", _EQ_OPS),
    },
    number_attrs={"version_number": "v.version"},
    tag_table="model_version_tags",
    tag_join="x.name = v.name AND x.version = v.version",
    order_keys={
        "name": "v.name",
        "version_number": "v.version",
        "creation_timestamp": "v.creation_time",
        "last_updated_timestamp": "v.last_updated_time",
        "timestamp": "v.last_updated_time",
    },
    default_order=(("last_updated_timestamp", False),),
    tie_breakers=(("name", True), ("version_number", False)),
    min_results=1,
    max_results=200_000,
    example="name = 'taxi' and tags.validated = 'true'",
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


@dataclass(frozen=True)
class _Condition:
    key: str
    is_tag: bool
    op: str
    values: tuple[_Token, ...]


def _grammar(kind: SearchKind) -> str:
    keys = ", ".join([*kind.text_attrs, *kind.number_attrs, "tags.<key>"])
    return f"{kind.what} filter on {keys}, e.g. {kind.example}"


def _tokens(text: str, kind: SearchKind) -> list[_Token]:
    found, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise FilterError(
                f"cannot parse the filter {text!r} at {text[pos : pos + 20].strip()!r}; "
                f"{_grammar(kind)}"
            )
        found.append(_Token(match.lastgroup or "", match.group(match.lastgroup or 0)))
        pos = match.end()
    return found


class _Parser:
    """Reads ``key op value [and key op value ...]`` from the tokens."""

    def __init__(self, text: str, kind: SearchKind) -> None:
        self.text, self.kind = text, kind
        self.tokens = _tokens(text, kind)
        self.pos = 0

    def take(self, expected: str) -> _Token:
        if self.pos >= len(self.tokens):
            raise FilterError(
                f"the filter {self.text!r} ends early: expected {expected}; {_grammar(self.kind)}"
            )
        self.pos += 1
        return self.tokens[self.pos - 1]

    def word(self, *words: str) -> bool:
        """Consume the next token if it is one of ``words`` (any case)."""
        if self.pos < len(self.tokens) and self.tokens[self.pos].text.upper() in words:
            self.pos += 1
            return True
        return False

    def key(self) -> tuple[str, bool]:
        token = self.take("a key such as name or tags.<key>")
        text = token.text
        if token.kind != "key":
            raise FilterError(f"expected a key, got {text!r}; {_grammar(self.kind)}")
        lower = text.lower()
        for prefix in _TAG_PREFIXES:
            if lower.startswith(prefix):
                key = text[len(prefix) :]
                if len(key) > 1 and key[0] == key[-1] and key[0] in '`"':
                    key = key[1:-1]
                return key, True
        for prefix in _ATTR_PREFIXES:
            if lower.startswith(prefix):
                text = text[len(prefix) :]
        if text not in self.kind.text_attrs and text not in self.kind.number_attrs:
            raise FilterError(f"unknown key {token.text!r}; {_grammar(self.kind)}")
        return text, False

    def operator(self) -> str:
        token = self.take("a comparison (=, !=, LIKE, ILIKE, IN)")
        if token.kind == "op":
            return {"==": "=", "<>": "!="}.get(token.text, token.text)
        word = token.text.upper()
        if word == "NOT" and self.word("IN"):
            return "NOT IN"
        if word in ("LIKE", "ILIKE", "IN"):
            return word
        raise FilterError(
            f"expected a comparison after a key, got {token.text!r}; {_grammar(self.kind)}"
        )

    def values(self, op: str) -> tuple[_Token, ...]:
        if op not in _LIST_OPS:
            return (self.value(),)
        if self.take("(").text != "(":
            raise FilterError(f"{op} takes a parenthesized list: {op} ('a', 'b')")
        found = [self.value()]
        while (token := self.take(") or ,")).text == ",":
            found.append(self.value())
        if token.text != ")":
            raise FilterError(f"expected ',' or ')' in the {op} list of {self.text!r}")
        return tuple(found)

    def value(self) -> _Token:
        token = self.take("a value")
        if token.kind not in ("string", "number"):
            raise FilterError(
                f"expected a quoted string or a number, got {token.text!r}; {_grammar(self.kind)}"
            )
        return token

    def conditions(self) -> list[_Condition]:
        found = []
        while True:
            key, is_tag = self.key()
            op = self.operator()
            found.append(_Condition(key, is_tag, op, self.values(op)))
            if self.pos == len(self.tokens):
                return found
            joiner = self.take("and").text.upper()
            if joiner != "AND":
                extra = " (OR is not supported: run two searches)" if joiner == "OR" else ""
                raise FilterError(
                    f"expected 'and' between conditions of {self.text!r}, got {joiner!r}{extra}"
                )


def _unquote(token: _Token) -> str:
    if token.kind == "number":
        return token.text
    return token.text[1:-1].replace(token.text[0] * 2, token.text[0])


def _compare(column: str, op: str, args: list[Any]) -> str:
    if op in _LIST_OPS:
        return f"{column} {op} ({', '.join('?' * len(args))})"
    if op in ("LIKE", "ILIKE"):
        return f"mp_like({column}, ?, {int(op == 'ILIKE')})"
    return f"{column} {op} ?"


def _condition_sql(cond: _Condition, kind: SearchKind) -> tuple[str, list[Any]]:
    label = f"tags.{cond.key}" if cond.is_tag else cond.key
    if cond.key in kind.number_attrs and not cond.is_tag:
        allowed: tuple[str, ...] = _NUMBER_OPS
        try:
            args: list[Any] = [int(_unquote(v)) for v in cond.values]
        except ValueError:
            raise FilterError(
                f"{label} compares with a whole number, got {cond.values[0].text}"
            ) from None
        column = kind.number_attrs[cond.key]
    else:
        allowed = _EQ_OPS if cond.is_tag else kind.text_attrs[cond.key][1]
        strings = [v for v in cond.values if v.kind == "string"]
        if len(strings) != len(cond.values):
            raise FilterError(
                f"{label} compares with a quoted string: {label} {cond.op} '{cond.values[0].text}'"
            )
        args = [_unquote(v) for v in cond.values]
        column = "x.value" if cond.is_tag else kind.text_attrs[cond.key][0]
    if cond.op not in allowed:
        raise FilterError(f"{label} cannot be compared with {cond.op}; use {', '.join(allowed)}")
    sql = _compare(column, cond.op, args)
    if not cond.is_tag:
        return sql, args
    exists = f"EXISTS (SELECT 1 FROM {kind.tag_table} x WHERE {kind.tag_join} AND x.key = ?"
    return f"{exists} AND {sql})", [cond.key, *args]


def _order_sql(items: Sequence[str] | None, kind: SearchKind) -> str:
    terms: list[tuple[str, bool]] = []
    for item in items or ():
        match = re.fullmatch(r"\s*([\w.]+)(?:\s+(ASC|DESC))?\s*", str(item), re.IGNORECASE)
        key = match.group(1).lower() if match else None
        if match is None or key not in kind.order_keys:
            raise FilterError(
                f"cannot order {kind.what} by {item!r}; use one of "
                f"{', '.join(kind.order_keys)}, then ASC or DESC (e.g. 'name DESC')"
            )
        assert key is not None
        column = kind.order_keys[key]
        if any(kind.order_keys[seen] == column for seen, _ in terms):
            raise FilterError(f"order_by names {key!r} twice: {items!r}")
        terms.append((key, (match.group(2) or "ASC").upper() == "ASC"))
    terms = terms or list(kind.default_order)
    columns = {kind.order_keys[key] for key, _ in terms}
    terms += [(k, asc) for k, asc in kind.tie_breakers if kind.order_keys[k] not in columns]
    return ", ".join(f"{kind.order_keys[k]} {'ASC' if asc else 'DESC'}" for k, asc in terms)


def compile_search(
    kind: SearchKind, filter_string: str | None, order_by: Sequence[str] | None
) -> tuple[str, list[Any], str]:
    """``(WHERE expression, its parameters, ORDER BY expression)`` for a registry search.

    The row is ``m`` for registered models and ``v`` for versions; ``mp_like`` is the
    case-sensitive LIKE both store databases define (see ``_dialect``). Raises :class:`FilterError` saying what is
    wrong and what the filter may name.
    """
    if filter_string is not None and not isinstance(filter_string, str):
        raise FilterError(
            f"filter_string is a string such as {kind.example!r}, got {filter_string!r}"
        )
    clauses, params = [], []
    if filter_string and filter_string.strip():
        for cond in _Parser(filter_string, kind).conditions():
            sql, args = _condition_sql(cond, kind)
            clauses.append(sql)
            params.extend(args)
    if isinstance(order_by, str):
        raise FilterError(f"order_by is a list of terms, e.g. [{order_by!r}], not a string")
    return " AND ".join(clauses) or "1 = 1", params, _order_sql(order_by, kind)


def check_max_results(kind: SearchKind, max_results: Any) -> int:
    """``max_results`` as an int within what a search of ``kind`` accepts."""
    if isinstance(max_results, bool) or not isinstance(max_results, int):
        raise RegistryValueError(
            f"max_results is a whole number of {kind.what} per page, got {max_results!r}"
        )
    if not kind.min_results <= max_results <= kind.max_results:
        raise RegistryValueError(
            f"max_results must be between {kind.min_results} and {kind.max_results} for "
            f"{kind.what}, got {max_results}; page through more with page_token"
        )
    return max_results


def encode_page_token(offset: int) -> str:
    """The token of the page starting at ``offset``."""
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_page_token(token: str | bytes | None) -> int:
    """The offset a page token stands for (0 for no token)."""
    if not token:
        return 0
    try:
        raw = token if isinstance(token, bytes) else str(token).encode()
        offset = json.loads(base64.urlsafe_b64decode(raw))["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        offset = None
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise RegistryValueError(
            f"invalid page_token {token!r}: pass the .token of the previous page unchanged "
            "(None for the first page)"
        ) from None
    return offset
