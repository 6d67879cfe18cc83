"""Recursive-descent parser of MLflow's filter and order_by languages.

    filter     := [ condition { AND condition } ] END
    condition  := identifier predicate
    identifier := WORD [ "." key ] | QUOTED_NAME          (a bare name is an attribute)
    key        := name-part { "." name-part } | QUOTED_NAME | DQ_STRING
    predicate  := OPERATOR literal
                | [ NOT ] ( LIKE | ILIKE ) string
                | [ NOT ] IN "(" literal { "," literal } ")"
                | IS [ NOT ] NULL
    literal    := STRING | DQ_STRING | NUMBER
    order_by   := identifier [ ASC | DESC ] END

Only AND joins conditions, as in MLflow: OR and parentheses are rejected with a clear message.
"""

from __future__ import annotations

from mlgrpc_server.errors import InvalidArgument
from tracking_service.store.portable.search.ast import (
    ATTRIBUTE,
    ENTITY_ALIASES,
    Condition,
    Identifier,
    Literal,
    OrderTerm,
)
from tracking_service.store.portable.search.tokenizer import Kind, Token, error_at, tokenize

_KEYWORDS = ("AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL", "ASC", "DESC")


class _Parser:
    def __init__(self, text: str, field: str) -> None:
        self.text = text
        self.field = field
        self.tokens = tokenize(text, field)
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not Kind.END:
            self.index += 1
        return token

    def fail(self, expected: str, token: Token | None = None) -> InvalidArgument:
        token = token or self.current
        return error_at(
            self.text, token.position, f"expected {expected}, found {token.describe()}", self.field
        )

    def expect_word(self, word: str) -> Token:
        if not self.current.is_word(word):
            raise self.fail(word)
        return self.advance()

    # filter := [ condition { AND condition } ] END
    def parse_filter(self) -> tuple[Condition, ...]:
        conditions: list[Condition] = []
        if self.current.kind is Kind.END:
            return ()
        conditions.append(self.parse_condition())
        while self.current.kind is not Kind.END:
            if self.current.is_word("OR"):
                raise error_at(
                    self.text,
                    self.current.position,
                    "OR is not supported; only AND may join conditions (run one search per "
                    "alternative instead)",
                    self.field,
                )
            if not self.current.is_word("AND"):
                raise self.fail("AND or the end of the filter")
            self.advance()
            conditions.append(self.parse_condition())
        return tuple(conditions)

    # condition := identifier predicate
    def parse_condition(self) -> Condition:
        if self.current.kind is Kind.LPAREN:
            raise error_at(
                self.text,
                self.current.position,
                "parentheses are not supported; write conditions joined by AND",
                self.field,
            )
        target = self.parse_identifier()
        return self.parse_predicate(target)

    # identifier := WORD [ "." key ] | QUOTED_NAME
    def parse_identifier(self) -> Identifier:
        start = self.current
        if start.kind is Kind.QUOTED_NAME:
            self.advance()
            return Identifier(ATTRIBUTE, str(start.value), start.position, start.text)
        if start.kind is not Kind.WORD or start.text.upper() in _KEYWORDS:
            raise self.fail(
                "an identifier such as metrics.<key>, params.<key>, tags.<key> or an attribute",
            )
        self.advance()
        if self.current.kind is not Kind.DOT:
            return Identifier(ATTRIBUTE, start.text, start.position, start.text)
        entity = ENTITY_ALIASES.get(start.text.lower())
        if entity is None:
            raise error_at(
                self.text,
                start.position,
                f"unknown entity {start.text!r}; use metrics., params., tags. or attributes.",
                self.field,
            )
        self.advance()  # the dot
        key = self.parse_key()
        end = self.tokens[self.index - 1]
        text = self.text[start.position : end.position + len(end.text)]
        return Identifier(entity, key, start.position, text)

    # key := name-part { "." name-part } | QUOTED_NAME | DQ_STRING
    def parse_key(self) -> str:
        token = self.current
        if token.kind in (Kind.QUOTED_NAME, Kind.DQ_STRING):
            self.advance()
            return str(token.value)
        if token.kind not in (Kind.WORD, Kind.NUMBER):
            raise self.fail("a key after '.' (use `backticks` around keys with special characters)")
        parts = [self.advance().text]
        while self.current.kind is Kind.DOT and self._joined_to_previous():
            self.advance()
            if self.current.kind not in (Kind.WORD, Kind.NUMBER) or not self._joined_to_previous():
                raise self.fail("the rest of the key after '.'")
            parts.append(self.advance().text)
        return ".".join(parts)

    def _joined_to_previous(self) -> bool:
        previous = self.tokens[self.index - 1]
        return previous.position + len(previous.text) == self.current.position

    def parse_predicate(self, target: Identifier) -> Condition:
        token = self.current
        if token.kind is Kind.OPERATOR:
            self.advance()
            value, is_string = self.parse_literal()
            return Condition(target, str(token.value), value, token.position, is_string)
        if token.is_word("IS"):
            self.advance()
            negated = self.current.is_word("NOT")
            if negated:
                self.advance()
            self.expect_word("NULL")
            operator = "IS NOT NULL" if negated else "IS NULL"
            return Condition(target, operator, None, token.position, False)
        negated = token.is_word("NOT")
        if negated:
            self.advance()
        if self.current.is_word("LIKE", "ILIKE"):
            word = self.advance().text.upper()
            value, is_string = self.parse_literal()
            if not is_string:
                raise error_at(
                    self.text, token.position, f"{word} needs a quoted pattern", self.field
                )
            return Condition(
                target, f"NOT {word}" if negated else word, value, token.position, True
            )
        if self.current.is_word("IN"):
            self.advance()
            values, all_strings = self.parse_tuple()
            operator = "NOT IN" if negated else "IN"
            return Condition(target, operator, values, token.position, all_strings)
        expected = "LIKE, ILIKE or IN after NOT" if negated else (
            "an operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL)"
        )  # fmt: skip
        raise self.fail(expected)

    def parse_literal(self) -> tuple[Literal, bool]:
        token = self.current
        if token.kind in (Kind.STRING, Kind.DQ_STRING):
            self.advance()
            return str(token.value), True
        if token.kind is Kind.NUMBER:
            self.advance()
            return token.value, False
        raise self.fail("a value: a 'quoted string' or a number")

    def parse_tuple(self) -> tuple[tuple[str | int | float, ...], bool]:
        if self.current.kind is not Kind.LPAREN:
            raise self.fail("'(' to open the list of values")
        self.advance()
        values: list[str | int | float] = []
        all_strings = True
        while True:
            value, is_string = self.parse_literal()
            assert value is not None and not isinstance(value, tuple)
            values.append(value)
            all_strings = all_strings and is_string
            if self.current.kind is Kind.COMMA:
                self.advance()
                continue
            if self.current.kind is Kind.RPAREN:
                self.advance()
                return tuple(values), all_strings
            raise self.fail("',' or ')' in the list of values")

    # order_by := identifier [ ASC | DESC ] END
    def parse_order_term(self) -> OrderTerm:
        target = self.parse_identifier()
        descending = False
        if self.current.is_word("ASC", "DESC"):
            descending = self.advance().text.upper() == "DESC"
        if self.current.kind is not Kind.END:
            raise self.fail("ASC, DESC or the end of the order_by clause")
        return OrderTerm(target, descending)


def parse_filter(text: str, field: str = "filter") -> tuple[Condition, ...]:
    """The conditions of `text` (empty for an empty filter); InvalidArgument if malformed."""
    return _Parser(text or "", field).parse_filter()


def parse_order_by(text: str, field: str = "order_by") -> OrderTerm:
    """One `order_by` clause: `<identifier> [ASC|DESC]`."""
    if not text or not text.strip():
        raise InvalidArgument(f"{field} is empty; write e.g. 'metrics.rmse DESC'", field=field)
    return _Parser(text, field).parse_order_term()
