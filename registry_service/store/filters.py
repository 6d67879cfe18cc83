"""MLflow's filter and order-by language for registered models and model versions.

Grammar: `clause (AND clause)*`, clause = `key op value` or `key [NOT] IN (v, …)`; key is an
attribute (`name`, optionally prefixed `attribute.`/`attributes.`/`attr.`) or `tags.<key>`
(``tags.`key with.dots` `` in backticks); values are quoted strings or integers. OR is not part of
MLflow's language and is rejected. The store turns the clauses into SQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mlgrpc_server.errors import InvalidArgument

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'[^']*'|"[^"]*")
    | (?P<bq>`[^`]*`)
    | (?P<num>-?\d+(?!\w))
    | (?P<op>!=|<>|<=|>=|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z_][\w.]*)
    )""",
    re.VERBOSE,
)
_ATTRIBUTE_PREFIXES = ("attribute.", "attributes.", "attr.")
_TAG_PREFIXES = ("tags.", "tag.")
_WORD_OPS = {"LIKE", "ILIKE"}

Value = str | int


@dataclass(frozen=True)
class Clause:
    """One comparison: `entity` is "attribute" or "tag"."""

    entity: str
    key: str
    op: str  # = != < <= > >= LIKE ILIKE IN NOT IN
    value: Value | tuple[Value, ...]


@dataclass(frozen=True)
class OrderKey:
    key: str
    descending: bool


def _bad(filter_string: str, what: str) -> InvalidArgument:
    return InvalidArgument(
        f"invalid filter {filter_string[:200]!r}: {what}; write clauses like "
        "\"name LIKE 'wine%' AND tags.team = 'ml'\" joined by AND",
        field="filter",
    )


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    stripped_end = len(text.rstrip())
    while position < stripped_end:
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _bad(text, f"unexpected text at {text[position : position + 20].strip()!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _literal(kind: str, token: str, filter_string: str) -> Value:
    if kind == "str":
        return token[1:-1]
    if kind == "num":
        # Versions and timestamps are 64-bit: a longer number can match nothing, and a driver
        # given one fails (SQLite: OverflowError); int() itself refuses over 4,300 digits.
        number = int(token) if len(token) <= 20 else None
        if number is None or not -(2**63) <= number < 2**63:
            raise _bad(filter_string, f"number {token[:30]!r} is out of the 64-bit range")
        return number
    raise _bad(filter_string, f"expected a quoted string or a number, got {token!r}")


def parse_filter(filter_string: str) -> list[Clause]:
    tokens = _tokenize(filter_string)
    clauses: list[Clause] = []
    i = 0

    def take() -> tuple[str, str]:
        nonlocal i
        if i >= len(tokens):
            raise _bad(filter_string, "it ends in the middle of a clause")
        i += 1
        return tokens[i - 1]

    while i < len(tokens):
        kind, token = take()
        if kind != "word":
            raise _bad(filter_string, f"expected a key such as name or tags.<key>, got {token!r}")
        lowered = token.lower()
        if lowered in ("tags.", "tag."):
            bq_kind, bq = take()
            if bq_kind != "bq":
                raise _bad(filter_string, "after 'tags.' give the key in backticks")
            entity, key = "tag", bq[1:-1]
        elif lowered.startswith(_TAG_PREFIXES):
            entity, key = "tag", token.split(".", 1)[1]
        elif lowered.startswith(_ATTRIBUTE_PREFIXES):
            entity, key = "attribute", token.split(".", 1)[1].lower()
        else:
            entity, key = "attribute", lowered
        op_kind, op_token = take()
        op = op_token.upper()
        if op_kind == "word" and op == "NOT":
            _, nxt = take()
            if nxt.upper() != "IN":
                raise _bad(filter_string, "NOT must be followed by IN")
            op = "NOT IN"
        elif op == "<>":
            op = "!="
        elif not (op_kind == "op" or op in _WORD_OPS or op == "IN"):
            raise _bad(filter_string, f"{token!r} is followed by {op_token!r}, not an operator")
        if op.endswith("IN"):
            if take() != ("punct", "("):
                raise _bad(filter_string, f"{op} needs a parenthesised list: ('a', 'b')")
            values: list[Value] = []
            while True:
                values.append(_literal(*take(), filter_string))
                sep = take()
                if sep == ("punct", ")"):
                    break
                if sep != ("punct", ","):
                    raise _bad(filter_string, f"expected ',' or ')' in the {op} list")
            clauses.append(Clause(entity, key, op, tuple(values)))
        else:
            clauses.append(Clause(entity, key, op, _literal(*take(), filter_string)))
        if i < len(tokens):
            and_kind, and_token = take()
            if and_kind != "word" or and_token.upper() != "AND":
                raise _bad(filter_string, f"clauses are joined by AND only, got {and_token!r}")
            if i >= len(tokens):
                raise _bad(filter_string, "it ends with AND")
    return clauses


def parse_order_by(order_by: Sequence[str], allowed: dict[str, str]) -> list[OrderKey]:
    """`allowed` maps accepted spellings to canonical keys."""
    keys: list[OrderKey] = []
    for clause in order_by:
        parts = clause.split()
        key = parts[0].lower() if parts else ""
        for prefix in _ATTRIBUTE_PREFIXES:
            key = key.removeprefix(prefix)
        direction = parts[1].upper() if len(parts) > 1 else "ASC"
        if key not in allowed or len(parts) > 2 or direction not in ("ASC", "DESC"):
            raise InvalidArgument(
                f"invalid order_by clause {clause!r}; use '<key> [ASC|DESC]' with key one of "
                f"{', '.join(sorted(set(allowed)))}",
                field="order_by",
            )
        keys.append(OrderKey(allowed[key], direction == "DESC"))
    return keys
