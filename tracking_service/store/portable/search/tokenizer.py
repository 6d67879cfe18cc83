"""Splits a filter into tokens, each with its offset so that errors can point at it."""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass

from mlgrpc_server.errors import InvalidArgument


class Kind(enum.Enum):
    WORD = "a word"
    QUOTED_NAME = "a `backticked` name"
    STRING = "a 'quoted' string"
    DQ_STRING = 'a "quoted" string or name'
    NUMBER = "a number"
    OPERATOR = "a comparison operator"
    LPAREN = "'('"
    RPAREN = "')'"
    COMMA = "','"
    DOT = "'.'"
    END = "the end of the filter"


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str  # the raw text as written
    value: str | int | float  # unquoted string, number, or upper-cased operator
    position: int

    def is_word(self, *words: str) -> bool:
        return self.kind is Kind.WORD and self.text.upper() in words

    def describe(self) -> str:
        return "the end of the filter" if self.kind is Kind.END else repr(self.text)


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?![\w.])")
_WORD = re.compile(r"[^\W\d]\w*")
_OPERATORS = ("!=", "<>", "<=", ">=", "==", "=", "<", ">")
_PUNCTUATION = {"(": Kind.LPAREN, ")": Kind.RPAREN, ",": Kind.COMMA, ".": Kind.DOT}
_QUOTES = {"'": Kind.STRING, '"': Kind.DQ_STRING, "`": Kind.QUOTED_NAME}


def error_at(text: str, position: int, message: str, field: str) -> InvalidArgument:
    excerpt = text[position : position + 20]
    where = f"at character {position + 1}" + (f" ({excerpt!r})" if excerpt else " (the end)")
    return InvalidArgument(f"invalid {field} {where}: {message}", field=field)


def _read_quoted(text: str, start: int, field: str) -> tuple[str, int]:
    """The unescaped content of the quoted text at `start`, and the offset after it.

    A quote inside is written twice (`'it''s'`) or escaped with a backslash (`'it\\'s'`).
    """
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
            out.append(text[i + 1])
            i += 2
        elif char == quote:
            if i + 1 < len(text) and text[i + 1] == quote:
                out.append(quote)
                i += 2
            else:
                return "".join(out), i + 1
        else:
            out.append(char)
            i += 1
    raise error_at(text, start, f"unterminated {quote}quoted{quote} text: add the closing {quote}",
                   field)  # fmt: skip


def tokenize(text: str, field: str = "filter") -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char in _QUOTES:
            content, end = _read_quoted(text, i, field)
            tokens.append(Token(_QUOTES[char], text[i:end], content, i))
            i = end
            continue
        number = _NUMBER.match(text, i)
        if number and (char.isdigit() or char in "+-" or not tokens or tokens[-1].kind
                       is not Kind.DOT):  # fmt: skip
            raw = number.group()
            # float() for long digit strings: int() refuses more than 4,300 digits, and an int
            # past 1e308 cannot become a float; float() just says inf, refused below.
            inexact = len(raw) > 20 or any(c in raw for c in ".eE")
            value: int | float = float(raw) if inexact else int(raw)
            if isinstance(value, int) and not -(2**63) <= value < 2**63:
                value = float(value)  # beyond BIGINT: compare as a double
            if not math.isfinite(value):
                raise error_at(text, i, f"number {raw} is out of range", field)
            tokens.append(Token(Kind.NUMBER, raw, value, i))
            i = number.end()
            continue
        word = _WORD.match(text, i)
        if word:
            tokens.append(Token(Kind.WORD, word.group(), word.group(), i))
            i = word.end()
            continue
        operator = next((op for op in _OPERATORS if text.startswith(op, i)), None)
        if operator:
            canonical = {"<>": "!=", "==": "="}.get(operator, operator)
            tokens.append(Token(Kind.OPERATOR, operator, canonical, i))
            i += len(operator)
            continue
        if char in _PUNCTUATION:
            tokens.append(Token(_PUNCTUATION[char], char, char, i))
            i += 1
            continue
        raise error_at(text, i, f"unexpected character {char!r}", field)
    tokens.append(Token(Kind.END, "", "", len(text)))
    return tokens
