"""Parse SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2) into ``scim.filter_ast`` trees.

Every problem raises ``InvalidFilterError`` (filters) or ``InvalidPathError`` (paths) whose
detail names the problem and its 0-based character position; a filter over the length,
nesting or operator limits raises ``TooManyError`` instead (RFC 7644 §3.12 ``tooMany``: more
than the server is willing to process). No other exception escapes.
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass
from typing import Final

from scim.errors import InvalidFilterError, InvalidPathError, TooManyError
from scim.filter_ast import (
    COMPARISON_OPERATORS,
    And,
    AttrPath,
    Compare,
    Filter,
    Literal,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
)

__all__ = [
    "MAX_FILTER_DEPTH",
    "MAX_FILTER_LENGTH",
    "MAX_LOGICAL_OPERATORS",
    "parse_filter",
    "parse_path",
]

MAX_FILTER_LENGTH: Final = 4096
"""Longest filter or PATCH path accepted, in characters."""

MAX_FILTER_DEPTH: Final = 16
"""Deepest nesting accepted; each '(', 'not' and value path '[' adds one level.

Each level costs SQLite's parser several stack entries: at 16 every filter within the other
limits still compiles there (and on Postgres); about 22 levels overflow SQLite's parser."""

MAX_LOGICAL_OPERATORS: Final = 100
"""Most 'and'/'or' operators accepted in one filter.

``a and b and c ...`` is a left-deep tree, one level per operator, and the dataclasses'
``==``/``repr``/``hash`` (and any recursive consumer) overflow the stack near 330 levels.
"""

# RFC 7644 asks for exactly one SP between tokens; clients are sloppier than that.
_WHITESPACE: Final = frozenset(" \t\r\n")
_DIGITS: Final = frozenset(string.digits)
# Attribute paths, URN prefixes and keywords all lex as one "word" (RFC 7644 §3.4.2.2 attrPath).
_WORD_START: Final = frozenset(string.ascii_letters + "$")
_WORD_CHARS: Final = frozenset(string.ascii_letters + string.digits + "-_.:$")
# A number token runs over everything that could belong to it, so `01x` is one bad token.
_NUMBER_CHARS: Final = frozenset(string.ascii_letters + string.digits + ".+-_")
_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# RFC 7644 §3.4.2.2: ATTRNAME = ALPHA *(nameChar); RFC 7643 §2.4 adds "$ref".
_ATTR_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]*|\$[Rr][Ee][Ff]")
_HEX: Final = frozenset(string.hexdigits)
_ESCAPES: Final = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}
_LITERAL_WORDS: Final[dict[str, Literal]] = {"true": True, "false": False, "null": None}
_OPERATOR_LIST: Final = ", ".join((*COMPARISON_OPERATORS, "pr"))
_SNIPPET_LENGTH: Final = 40


class _ParseError(Exception):
    """A problem at a position; the public functions turn it into the right ScimError."""

    def __init__(self, message: str, pos: int | None = None) -> None:
        super().__init__(message if pos is None else f"{message} at position {pos}")


class _LimitError(_ParseError):
    """Text that may be valid but is longer, deeper or has more operators than we process."""


@dataclass(frozen=True, slots=True)
class _Token:
    """One lexeme: kind is word, string, number, end, or the punctuation itself."""

    kind: str
    pos: int
    text: str
    value: Literal = None


def _snippet(text: str) -> str:
    """Quote user text for an error message, shortened so details stay readable."""
    if len(text) > _SNIPPET_LENGTH:
        text = text[: _SNIPPET_LENGTH - 3] + "..."
    return repr(text)


def _describe(token: _Token) -> str:
    """Name a token for an error message."""
    if token.kind == "end":
        return "end of input"
    if token.kind == "string":
        return f"string {_snippet(token.text)}"
    return _snippet(token.text)


# --- lexer ------------------------------------------------------------------------------


def _tokenize(text: str) -> list[_Token]:
    """Split text into tokens, ending with an ``end`` token."""
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char in _WHITESPACE:
            pos += 1
            continue
        token = _next_token(text, pos)
        tokens.append(token)
        pos += len(token.text)
    tokens.append(_Token("end", len(text), ""))
    return tokens


def _next_token(text: str, pos: int) -> _Token:
    """Lex the token starting at a non-whitespace position."""
    char = text[pos]
    if char in "()[]":
        return _Token(char, pos, char)
    if char == '"':
        return _lex_string(text, pos)
    if char in _DIGITS or char == "-" or (char == "." and text[pos + 1 : pos + 2] in _DIGITS):
        return _lex_number(text, pos)
    if char in _WORD_START:
        end = _scan(text, pos, _WORD_CHARS)
        return _Token("word", pos, text[pos:end])
    if char == ".":
        return _Token(".", pos, char)
    hint = " (string values take double quotes)" if char == "'" else ""
    raise _ParseError(f"unexpected character {char!r}{hint}", pos)


def _scan(text: str, pos: int, allowed: frozenset[str]) -> int:
    """The end of the run of ``allowed`` characters starting at pos."""
    end = pos
    while end < len(text) and text[end] in allowed:
        end += 1
    return end


def _lex_number(text: str, pos: int) -> _Token:
    """Lex a JSON number (RFC 8259 §6), which is what RFC 7644 compValue allows."""
    raw = text[pos : _scan(text, pos + 1, _NUMBER_CHARS)]
    if not _NUMBER.fullmatch(raw):
        raise _ParseError(f"invalid number {_snippet(raw)}", pos)
    try:
        value: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
    except ValueError:  # int() refuses more digits than sys.get_int_max_str_digits()
        raise _ParseError(f"number {_snippet(raw)} is too long", pos) from None
    if isinstance(value, float) and not math.isfinite(value):
        raise _ParseError(f"number {_snippet(raw)} is out of range", pos)
    return _Token("number", pos, raw, value)


def _lex_string(text: str, start: int) -> _Token:
    """Lex a JSON string (RFC 8259 §7) starting at its opening quote."""
    chars: list[str] = []
    pos = start + 1
    while True:
        if pos >= len(text):
            raise _ParseError("unterminated string starting", start)
        char = text[pos]
        if char == '"':
            return _Token("string", start, text[start : pos + 1], "".join(chars))
        if char == "\\":
            decoded, pos = _lex_escape(text, pos, start)
            if decoded == "\x00":
                # No stored value can hold NUL (Postgres refuses it, SQLite's LIKE stops at it).
                raise _ParseError("NUL (\\u0000) is not allowed in a filter value", pos - 6)
            chars.append(decoded)
            continue
        if ord(char) < 0x20:
            raise _ParseError(f"control character {char!r} in string (escape it)", pos)
        if 0xD800 <= ord(char) <= 0xDFFF:
            raise _ParseError(f"lone surrogate {char!r} in string", pos)
        chars.append(char)
        pos += 1


def _lex_escape(text: str, pos: int, start: int) -> tuple[str, int]:
    """Decode the backslash escape at pos; return the character and the position after it."""
    escape = text[pos + 1 : pos + 2]
    if not escape:
        raise _ParseError("unterminated string starting", start)
    if escape in _ESCAPES:
        return _ESCAPES[escape], pos + 2
    if escape != "u":
        raise _ParseError(f"invalid escape {_snippet(chr(92) + escape)} in string", pos)
    high = _hex4(text, pos)
    if 0xDC00 <= high <= 0xDFFF:
        raise _ParseError("lone low surrogate in \\u escape", pos)
    if not 0xD800 <= high <= 0xDBFF:
        return chr(high), pos + 6
    # RFC 8259 §7: characters outside the BMP are a UTF-16 surrogate pair of \u escapes.
    if text[pos + 6 : pos + 8] != "\\u":
        raise _ParseError("lone high surrogate in \\u escape", pos)
    low = _hex4(text, pos + 6)
    if not 0xDC00 <= low <= 0xDFFF:
        raise _ParseError("lone high surrogate in \\u escape", pos)
    return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)), pos + 12


def _hex4(text: str, pos: int) -> int:
    """The code unit of the ``\\uXXXX`` escape at pos."""
    digits = text[pos + 2 : pos + 6]
    # int(x, 16) would also take "+1_f" or " 1f", so check the characters first.
    if len(digits) != 4 or not all(d in _HEX for d in digits):
        raise _ParseError("invalid \\u escape (need four hex digits)", pos)
    return int(digits, 16)


# --- attribute paths --------------------------------------------------------------------


def _attr_path(token: _Token) -> AttrPath:
    """Validate a word as RFC 7644 ``attrPath = [URI ":"] ATTRNAME *1subAttr``."""
    uri, colon, dotted = token.text.rpartition(":")
    if colon:
        _check_uri(uri, token)
    names = dotted.split(".")
    if len(names) > 2:
        raise _ParseError(
            f"attribute path {_snippet(token.text)} has more than one sub-attribute", token.pos
        )
    for name in names:
        _check_attr_name(name, token)
    return AttrPath(uri or None, names[0], names[1] if len(names) == 2 else None)


def _check_uri(uri: str, token: _Token) -> None:
    """Require a schema URN (``urn:<nid>:<nss>``) before the attribute name."""
    segments = uri.split(":")
    if segments[0].lower() != "urn" or len(segments) < 3 or not all(segments):
        raise _ParseError(
            f"invalid schema URN {_snippet(uri)} in {_snippet(token.text)}"
            " (expected urn:...:attribute)",
            token.pos,
        )


def _check_attr_name(name: str, token: _Token) -> None:
    """Require ``ALPHA *(nameChar)`` or ``$ref``."""
    if not name:
        raise _ParseError(f"missing attribute name in {_snippet(token.text)}", token.pos)
    if not _ATTR_NAME.fullmatch(name):
        raise _ParseError(
            f"invalid attribute name {_snippet(name)} (names are a letter followed by"
            " letters, digits, '-' or '_')",
            token.pos,
        )


# --- parser -----------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the token list; recursion is bounded by MAX_FILTER_DEPTH."""

    def __init__(self, text: str) -> None:
        self._tokens = _tokenize(text)
        self._index = 0
        self._depth = 0
        self._operators = 0

    def parse_filter(self) -> Filter:
        """FILTER followed by the end of input."""
        result = self._or(in_value_path=False)
        self._expect_end(closer=None, opener=None)
        return result

    def parse_path(self) -> PatchPath:
        """RFC 7644 §3.5.2 ``PATH = attrPath / valuePath [subAttr]``."""
        attr = self._attr_path_token()
        if self._peek().kind != "[":
            self._expect_path_end()
            return PatchPath(attr)
        value_filter = self._value_filter()
        sub_attr = None
        if self._peek().kind == ".":
            self._advance()
            sub_attr = self._sub_attr_token()
        self._expect_path_end()
        return PatchPath(attr, value_filter, sub_attr)

    # token helpers

    def _peek(self, ahead: int = 0) -> _Token:
        return self._tokens[min(self._index + ahead, len(self._tokens) - 1)]

    def _advance(self) -> _Token:
        token = self._peek()
        self._index = min(self._index + 1, len(self._tokens) - 1)
        return token

    def _keyword(self, ahead: int = 0) -> str | None:
        token = self._peek(ahead)
        return token.text.lower() if token.kind == "word" else None

    def _enter(self, token: _Token) -> None:
        self._depth += 1
        if self._depth > MAX_FILTER_DEPTH:
            raise _LimitError(
                f"nesting deeper than {MAX_FILTER_DEPTH} levels of '(', 'not' and '['", token.pos
            )

    def _count_operator(self, token: _Token) -> None:
        self._operators += 1
        if self._operators > MAX_LOGICAL_OPERATORS:
            raise _LimitError(f"more than {MAX_LOGICAL_OPERATORS} 'and'/'or' operators", token.pos)

    # grammar: or binds loosest, then and, then not / parentheses (RFC 7644 §3.4.2.2)

    def _or(self, *, in_value_path: bool) -> Filter:
        result = self._and(in_value_path=in_value_path)
        while self._keyword() == "or":
            self._count_operator(self._advance())
            result = Or(result, self._and(in_value_path=in_value_path))
        return result

    def _and(self, *, in_value_path: bool) -> Filter:
        result = self._unary(in_value_path=in_value_path)
        while self._keyword() == "and":
            self._count_operator(self._advance())
            result = And(result, self._unary(in_value_path=in_value_path))
        return result

    def _unary(self, *, in_value_path: bool) -> Filter:
        token = self._peek()
        if token.kind == "(":
            return self._group(in_value_path=in_value_path)
        # `not` is a keyword only before "("; elsewhere it is an ordinary ATTRNAME.
        if self._keyword() == "not" and self._peek(1).kind == "(":
            self._enter(self._advance())
            result = Not(self._group(in_value_path=in_value_path))
            self._depth -= 1
            return result
        if token.kind == "word":
            return self._attr_expression(in_value_path=in_value_path)
        raise _ParseError(
            f"expected an attribute name, 'not' or '(', got {_describe(token)}", token.pos
        )

    def _group(self, *, in_value_path: bool) -> Filter:
        opener = self._advance()
        self._enter(opener)
        if self._peek().kind == ")":
            raise _ParseError("empty parentheses", opener.pos)
        result = self._or(in_value_path=in_value_path)
        self._expect_end(closer=")", opener=opener)
        self._advance()
        self._depth -= 1
        return result

    def _value_filter(self) -> Filter:
        opener = self._advance()
        self._enter(opener)
        if self._peek().kind == "]":
            raise _ParseError("empty value filter '[]'", opener.pos)
        result = self._or(in_value_path=True)
        self._expect_end(closer="]", opener=opener)
        self._advance()
        self._depth -= 1
        return result

    def _attr_expression(self, *, in_value_path: bool) -> Filter:
        """``attrPath pr`` / ``attrPath compareOp compValue`` / ``attrPath [valFilter]``."""
        name_token = self._peek()
        path = self._attr_path_token()
        op_token = self._peek()
        if op_token.kind == "[":
            if in_value_path:
                # RFC 7644 §3.4.2.2: valFilter has no valuePath alternative.
                raise _ParseError("value paths cannot be nested", op_token.pos)
            return ValuePath(path, self._value_filter())
        operator = self._keyword()
        if operator == "pr":
            self._advance()
            self._reject_value_after_pr()
            return Present(path)
        if operator in COMPARISON_OPERATORS:
            self._advance()
            return Compare(path, operator, self._compare_value(op_token))
        raise self._missing_operator(name_token, op_token)

    def _missing_operator(self, name_token: _Token, op_token: _Token) -> _ParseError:
        if name_token.text.lower() == "not":
            return _ParseError("'not' must be followed by a parenthesised filter", name_token.pos)
        if op_token.kind == "word":
            return _ParseError(
                f"unknown operator {_snippet(op_token.text)} (expected one of {_OPERATOR_LIST})",
                op_token.pos,
            )
        return _ParseError(
            f"expected an operator after {_snippet(name_token.text)}, got {_describe(op_token)}",
            op_token.pos,
        )

    def _compare_value(self, op_token: _Token) -> Literal:
        token = self._advance()
        if token.kind in ("string", "number"):
            return token.value
        keyword = token.text.lower()
        if token.kind == "word" and keyword in _LITERAL_WORDS:
            return _LITERAL_WORDS[keyword]
        hint = " (string values take double quotes)" if token.kind == "word" else ""
        raise _ParseError(
            f"expected a value after {_snippet(op_token.text)}, got {_describe(token)}{hint}",
            token.pos,
        )

    def _reject_value_after_pr(self) -> None:
        token = self._peek()
        if token.kind in ("string", "number") or self._keyword() in _LITERAL_WORDS:
            raise _ParseError(f"'pr' takes no value, got {_describe(token)}", token.pos)

    def _expect_end(self, *, closer: str | None, opener: _Token | None) -> None:
        """Require ``closer`` (or the end of input when None) after a complete expression."""
        token = self._peek()
        if token.kind == (closer or "end"):
            return
        if token.kind == "end" and opener is not None:
            raise _ParseError(f"missing {closer!r} for the {opener.text!r}", opener.pos)
        if token.kind in (")", "]"):
            raise _ParseError(f"unmatched {token.kind!r}", token.pos)
        if token.kind == ".":
            raise _ParseError(
                "'.' after a value path is only allowed in PATCH paths, not filters", token.pos
            )
        expected = "end of input" if closer is None else repr(closer)
        raise _ParseError(f"expected 'and', 'or' or {expected}, got {_describe(token)}", token.pos)

    def _attr_path_token(self) -> AttrPath:
        token = self._advance()
        if token.kind != "word":
            raise _ParseError(f"expected an attribute name, got {_describe(token)}", token.pos)
        return _attr_path(token)

    def _sub_attr_token(self) -> str:
        token = self._advance()
        if token.kind != "word" or ":" in token.text or "." in token.text:
            raise _ParseError(
                f"expected a sub-attribute name after '.', got {_describe(token)}", token.pos
            )
        _check_attr_name(token.text, token)
        return token.text

    def _expect_path_end(self) -> None:
        token = self._peek()
        if token.kind != "end":
            raise _ParseError(f"unexpected {_describe(token)} after the path", token.pos)


def _check_text(text: object, what: str) -> str:
    """Apply the checks that come before lexing: type, length, emptiness."""
    if not isinstance(text, str):
        raise _ParseError(f"{what} must be a string, not {type(text).__name__}")
    if len(text) > MAX_FILTER_LENGTH:
        raise _LimitError(
            f"{what} is {len(text)} characters long; the maximum is {MAX_FILTER_LENGTH}"
        )
    if not text.strip():
        raise _ParseError(f"{what} is empty")
    return text


def parse_filter(text: str) -> Filter:
    """Parse a SCIM filter (RFC 7644 §3.4.2.2).

    :raises TooManyError: when the filter is over the length, nesting or operator limits.
    :raises InvalidFilterError: when it is not a filter.
    """
    try:
        return _Parser(_check_text(text, "filter")).parse_filter()
    except _LimitError as exc:
        raise TooManyError(f"Filter too large to process: {exc}") from None
    except _ParseError as exc:
        raise InvalidFilterError(f"Invalid filter: {exc}") from None


def parse_path(text: str) -> PatchPath:
    """Parse a SCIM PATCH path (RFC 7644 §3.5.2); raise InvalidPathError if it is not one."""
    try:
        return _Parser(_check_text(text, "path")).parse_path()
    except _ParseError as exc:
        raise InvalidPathError(f"Invalid path: {exc}") from None
