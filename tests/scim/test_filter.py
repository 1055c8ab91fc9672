"""Tests for scim.filter: the RFC 7644 §3.4.2.2 filter grammar and §3.5.2 PATCH paths."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scim.errors import InvalidFilterError, InvalidPathError, TooManyError
from scim.filter import (
    MAX_FILTER_DEPTH,
    MAX_FILTER_LENGTH,
    MAX_LOGICAL_OPERATORS,
    parse_filter,
    parse_path,
)
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

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
FILTER_NODES = (Compare, Present, And, Or, Not, ValuePath)
# database=None: the example database would write .hypothesis/ into the project.
FAST = settings(max_examples=300, deadline=None, database=None)
TREES = settings(max_examples=150, deadline=None, database=None)


def attr(name: str, sub: str | None = None, uri: str | None = None) -> AttrPath:
    return AttrPath(uri, name, sub)


def eq(name: str, value: Literal) -> Compare:
    return Compare(attr(name), "eq", value)


def pr(name: str) -> Present:
    return Present(attr(name))


# --- what real clients send ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "test.user@okta.local"', eq("userName", "test.user@okta.local")),
        ('displayName eq "Test SCIMv2"', eq("displayName", "Test SCIMv2")),
        ('externalId eq "00ujl29u0le5T6Aj10h7"', eq("externalId", "00ujl29u0le5T6Aj10h7")),
    ],
)
def test_okta_filters_parse(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "bjensen"', eq("userName", "bjensen")),
        ('name.familyName co "O\'Malley"', Compare(attr("name", "familyName"), "co", "O'Malley")),
        ('userName sw "J"', Compare(attr("userName"), "sw", "J")),
        (
            f'{CORE_USER}:userName sw "J"',
            Compare(attr("userName", uri=CORE_USER), "sw", "J"),
        ),
        ("title pr", pr("title")),
        *[
            (
                f'meta.lastModified {op} "2011-05-13T04:42:34Z"',
                Compare(attr("meta", "lastModified"), op, "2011-05-13T04:42:34Z"),
            )
            for op in ("gt", "ge", "lt", "le")
        ],
        ('title pr and userType eq "Employee"', And(pr("title"), eq("userType", "Employee"))),
        ('title pr or userType eq "Intern"', Or(pr("title"), eq("userType", "Intern"))),
        (f'schemas eq "{ENTERPRISE}"', eq("schemas", ENTERPRISE)),
        (
            'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
            And(
                eq("userType", "Employee"),
                Or(
                    Compare(attr("emails"), "co", "example.com"),
                    Compare(attr("emails", "value"), "co", "example.org"),
                ),
            ),
        ),
        (
            'userType ne "Employee" and not (emails co "example.com" or '
            'emails.value co "example.org")',
            And(
                Compare(attr("userType"), "ne", "Employee"),
                Not(
                    Or(
                        Compare(attr("emails"), "co", "example.com"),
                        Compare(attr("emails", "value"), "co", "example.org"),
                    )
                ),
            ),
        ),
        (
            'userType eq "Employee" and (emails.type eq "work")',
            And(eq("userType", "Employee"), Compare(attr("emails", "type"), "eq", "work")),
        ),
        (
            'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
            And(
                eq("userType", "Employee"),
                ValuePath(
                    attr("emails"),
                    And(eq("type", "work"), Compare(attr("value"), "co", "@example.com")),
                ),
            ),
        ),
        (
            'emails[type eq "work" and value co "@example.com"] or '
            'ims[type eq "xmpp" and value co "@foo.com"]',
            Or(
                ValuePath(
                    attr("emails"),
                    And(eq("type", "work"), Compare(attr("value"), "co", "@example.com")),
                ),
                ValuePath(
                    attr("ims"), And(eq("type", "xmpp"), Compare(attr("value"), "co", "@foo.com"))
                ),
            ),
        ),
        ('userName Eq "john"', eq("userName", "john")),
        ('not (userType eq "Employee")', Not(eq("userType", "Employee"))),
    ],
)
def test_every_rfc_7644_example_parses(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


# --- operators and literals -------------------------------------------------------------


@pytest.mark.parametrize("op", COMPARISON_OPERATORS)
@pytest.mark.parametrize("spelling", [str.lower, str.upper, str.title])
def test_every_comparison_operator_parses_in_any_case(
    op: str, spelling: Callable[[str], str]
) -> None:
    assert parse_filter(f'userName {spelling(op)} "x"') == Compare(attr("userName"), op, "x")


@pytest.mark.parametrize("written", ["pr", "PR", "Pr"])
def test_present_operator_is_case_insensitive(written: str) -> None:
    assert parse_filter(f"title {written}") == pr("title")


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("true", True),
        ("TRUE", True),
        ("False", False),
        ("null", None),
        ("NULL", None),
        ("0", 0),
        ("42", 42),
        ("-7", -7),
        ("-0", 0),
        ("1.5", 1.5),
        ("-0.25", -0.25),
        ("1e3", 1000.0),
        ("1E+3", 1000.0),
        ("2.5e-3", 0.0025),
        ("123456789012345678901234567890", 123456789012345678901234567890),
        ('""', ""),
        ('"plain"', "plain"),
    ],
)
def test_json_literals_parse_to_python_values(literal: str, value: Literal) -> None:
    result = parse_filter(f"x eq {literal}")
    assert isinstance(result, Compare)
    assert result.value == value
    assert type(result.value) is type(value)


@pytest.mark.parametrize(
    ("escaped", "value"),
    [
        (r"\"", '"'),
        (r"\\", "\\"),
        (r"\/", "/"),
        (r"\b", "\b"),
        (r"\f", "\f"),
        (r"\n", "\n"),
        (r"\r", "\r"),
        (r"\t", "\t"),
        (r"\u00e9", "é"),
        (r"\u00E9", "é"),
        (r"\u0001", "\x01"),
        (r"\ud83d\ude00", "😀"),
        (r"a\"b\\c", 'a"b\\c'),
        ("é😀", "é😀"),
    ],
)
def test_every_json_string_escape_is_decoded(escaped: str, value: str) -> None:
    assert parse_filter(f'x eq "{escaped}"') == eq("x", value)


def test_a_nul_escape_is_refused_because_no_stored_value_can_hold_it() -> None:
    with pytest.raises(InvalidFilterError, match="NUL"):
        parse_filter(r'userName eq "a\u0000b"')


# --- precedence and grouping -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a pr or b pr and c pr", Or(pr("a"), And(pr("b"), pr("c")))),
        ("a pr and b pr or c pr", Or(And(pr("a"), pr("b")), pr("c"))),
        ("a pr and b pr or c pr and d pr", Or(And(pr("a"), pr("b")), And(pr("c"), pr("d")))),
    ],
)
def test_and_binds_tighter_than_or(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a pr and b pr and c pr", And(And(pr("a"), pr("b")), pr("c"))),
        ("a pr or b pr or c pr", Or(Or(pr("a"), pr("b")), pr("c"))),
    ],
)
def test_and_and_or_are_left_associative(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not (a pr) and b pr", And(Not(pr("a")), pr("b"))),
        ("not (a pr) or b pr", Or(Not(pr("a")), pr("b"))),
        ("b pr and not (a pr)", And(pr("b"), Not(pr("a")))),
        ("not (a pr or b pr)", Not(Or(pr("a"), pr("b")))),
        ("not(a pr)", Not(pr("a"))),
        ("NOT (a pr)", Not(pr("a"))),
        ("not (not (a pr))", Not(Not(pr("a")))),
    ],
)
def test_not_binds_tighter_than_and_and_or(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(a pr or b pr) and c pr", And(Or(pr("a"), pr("b")), pr("c"))),
        ("a pr and (b pr or c pr)", And(pr("a"), Or(pr("b"), pr("c")))),
        ("a pr or (b pr or c pr)", Or(pr("a"), Or(pr("b"), pr("c")))),
        ("((a pr))", pr("a")),
    ],
)
def test_parentheses_override_precedence(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        'userName eq "x" AND title pr',
        'userName eq "x" And title pr',
        'userName  eq\t"x"   and  title   pr',
        '  ( userName eq "x" )  and ( title pr ) ',
        'userName eq "x"and(title pr)',
    ],
)
def test_keyword_case_and_extra_whitespace_are_tolerated(text: str) -> None:
    assert parse_filter(text) == And(eq("userName", "x"), pr("title"))


# --- attribute paths --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("userName", attr("userName")),
        ("name.familyName", attr("name", "familyName")),
        ("members.$ref", attr("members", "$ref")),
        ("$ref", attr("$ref")),
        ("x-custom_attr2", attr("x-custom_attr2")),
        (f"{CORE_USER}:userName", attr("userName", uri=CORE_USER)),
        (f"{CORE_USER}:name.familyName", attr("name", "familyName", CORE_USER)),
        (f"{ENTERPRISE}:employeeNumber", attr("employeeNumber", uri=ENTERPRISE)),
        (f"{ENTERPRISE}:manager.value", attr("manager", "value", ENTERPRISE)),
        ("urn:okta:custom:1.0:user:costCenter", attr("costCenter", uri="urn:okta:custom:1.0:user")),
    ],
)
def test_attribute_paths_split_into_urn_attribute_and_sub_attribute(
    text: str, expected: AttrPath
) -> None:
    assert parse_filter(f"{text} pr") == Present(expected)
    assert parse_path(text) == PatchPath(expected)


def test_keywords_are_ordinary_attribute_names_where_an_attribute_is_expected() -> None:
    assert parse_filter("not pr and and eq 1 or or pr") == Or(
        And(pr("not"), eq("and", 1)), pr("or")
    )


def test_value_path_paths_are_relative_to_the_element() -> None:
    assert parse_filter('emails[type eq "work"]') == ValuePath(attr("emails"), eq("type", "work"))


def test_value_path_may_hold_not_and_parentheses() -> None:
    assert parse_filter('emails[not (type eq "work") and (primary eq true)]') == ValuePath(
        attr("emails"), And(Not(eq("type", "work")), eq("primary", True))
    )


def test_value_path_on_an_extension_attribute_keeps_the_urn() -> None:
    assert parse_filter(f'{ENTERPRISE}:manager[value eq "42"]') == ValuePath(
        attr("manager", uri=ENTERPRISE), eq("value", "42")
    )


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("", "filter is empty"),
        ("   \t ", "filter is empty"),
        ('userName eq "abc', "unterminated string starting at position 12"),
        ('userName eq "abc\\', "unterminated string starting at position 12"),
        ('userName eq "x" garbage', "expected 'and', 'or' or end of input, got 'garbage'"),
        ('userName eq "x")', "unmatched ')' at position 15"),
        ('userName eqq "x"', "unknown operator 'eqq'"),
        ('userName === "x"', "unexpected character '='"),
        ("userName", "expected an operator after 'userName', got end of input"),
        ("userName eq", "expected a value after 'eq', got end of input at position 11"),
        ("userName eq )", "expected a value after 'eq', got ')'"),
        ("userName eq bjensen", "string values take double quotes"),
        ("userName eq 'bjensen'", "string values take double quotes"),
        ('title pr "x"', "'pr' takes no value"),
        ("title pr true", "'pr' takes no value"),
        ("title pr 1", "'pr' takes no value"),
        ("emails[]", "empty value filter '[]' at position 6"),
        ("emails[ ]", "empty value filter"),
        ("()", "empty parentheses at position 0"),
        ("(a pr", "missing ')' for the '(' at position 0"),
        ("emails[type pr", "missing ']' for the '[' at position 6"),
        ("a pr]", "unmatched ']'"),
        ("not a pr", "'not' must be followed by a parenthesised filter"),
        ("not", "'not' must be followed by a parenthesised filter"),
        ("a pr and", "expected an attribute name, 'not' or '(', got end of input"),
        ("and", "expected an operator after 'and'"),
        ("or a pr", "unknown operator 'a'"),
        ('a[b[c eq "x"]]', "value paths cannot be nested at position 3"),
        ('emails[type eq "work"].value eq "x"', "only allowed in PATCH paths"),
        ('x eq "\\x"', "invalid escape '\\\\x'"),
        ('x eq "\\u12"', "invalid \\u escape"),
        ('x eq "\\u12G4"', "invalid \\u escape"),
        ('x eq "\\u+1_2"', "invalid \\u escape"),
        ('x eq "\\ud800"', "lone high surrogate"),
        ('x eq "\\ud800x"', "lone high surrogate"),
        ('x eq "\\ud800\\u0041"', "lone high surrogate"),
        ('x eq "\\udc00"', "lone low surrogate"),
        ('x eq "\ud800"', "lone surrogate"),
        ('x eq "a\tb"', "control character"),
        ('x eq "a\nb"', "control character"),
        ("x eq 01", "invalid number '01'"),
        ("x eq 1.", "invalid number '1.'"),
        ("x eq .5", "invalid number '.5'"),
        ("x eq -", "invalid number '-'"),
        ("x eq +1", "unexpected character '+'"),
        ("x eq 1e", "invalid number '1e'"),
        ("x eq 0x1F", "invalid number '0x1F'"),
        ("x eq 1_000", "invalid number '1_000'"),
        ("x eq 1e999", "out of range"),
        ("x eq NaN", "expected a value after 'eq', got 'NaN'"),
        ("name.given.family pr", "more than one sub-attribute"),
        ("name. pr", "missing attribute name"),
        ("1abc pr", "invalid number"),
        ("_x pr", "unexpected character '_'"),
        ("a$b pr", "invalid attribute name 'a$b'"),
        ("name:familyName pr", "invalid schema URN 'name'"),
        ("urn:x:userName pr", "invalid schema URN 'urn:x'"),
        ("urn::x:userName pr", "invalid schema URN"),
        (f"{CORE_USER}: pr", "missing attribute name"),
        ("userName eq \u00a0", "unexpected character '\\xa0'"),
        ("ùser pr", "unexpected character 'ù'"),
    ],
)
def test_invalid_filters_raise_invalid_filter_error_naming_the_problem(
    text: str, detail: str
) -> None:
    with pytest.raises(InvalidFilterError) as caught:
        parse_filter(text)
    assert detail in caught.value.detail
    assert caught.value.scim_type == "invalidFilter"
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ('userName eqq "x"', 9),
        ('userName eq "x" and title', 25),
        ('a eq "\\q"', 6),
        ("a eq 01", 5),
        ('(a pr and (b pr) or c eq "x"', 0),
    ],
)
def test_error_details_give_the_zero_based_character_position(text: str, position: int) -> None:
    with pytest.raises(InvalidFilterError, match=rf"at position {position}$"):
        parse_filter(text)


def test_error_details_shorten_long_tokens() -> None:
    with pytest.raises(InvalidFilterError) as caught:
        parse_filter("a eq " + "x" * 500)
    assert len(caught.value.detail) < 200


def test_non_string_input_is_an_invalid_filter() -> None:
    with pytest.raises(InvalidFilterError, match="must be a string"):
        parse_filter(None)  # type: ignore[arg-type]


# --- limits -----------------------------------------------------------------------------


def test_filter_of_maximum_length_is_accepted() -> None:
    text = 'userName eq "' + "x" * (MAX_FILTER_LENGTH - 14) + '"'
    assert len(text) == MAX_FILTER_LENGTH
    assert isinstance(parse_filter(text), Compare)


def test_filter_longer_than_the_maximum_is_too_many() -> None:
    text = 'userName eq "' + "x" * (MAX_FILTER_LENGTH - 13) + '"'
    with pytest.raises(TooManyError, match="4097 characters long; the maximum is 4096"):
        parse_filter(text)


@pytest.mark.parametrize(
    ("opener", "closer", "levels_per_opener"),
    [("(", ")", 1), ("not (", ")", 2)],
)
def test_nesting_up_to_the_maximum_depth_is_accepted(
    opener: str, closer: str, levels_per_opener: int
) -> None:
    count = MAX_FILTER_DEPTH // levels_per_opener
    assert parse_filter(opener * count + "a pr" + closer * count) is not None


@pytest.mark.parametrize(
    "text",
    [
        "(" * (MAX_FILTER_DEPTH + 1) + "a pr" + ")" * (MAX_FILTER_DEPTH + 1),
        "not (" * (MAX_FILTER_DEPTH // 2 + 1) + "a pr" + ")" * (MAX_FILTER_DEPTH // 2 + 1),
        "(" * MAX_FILTER_DEPTH + "a[b pr]" + ")" * MAX_FILTER_DEPTH,
        "(" * 2000 + "a pr" + ")" * 2000,
        "(" * MAX_FILTER_LENGTH,
        "not (" * 800,
    ],
)
def test_nesting_beyond_the_maximum_depth_is_rejected_before_python_recursion_runs_out(
    text: str,
) -> None:
    limits = rf"nesting deeper than {MAX_FILTER_DEPTH}|characters long"
    with pytest.raises(TooManyError, match=limits):
        parse_filter(text)


def test_logical_operator_count_up_to_the_maximum_is_accepted() -> None:
    text = " and ".join(["a pr"] * (MAX_LOGICAL_OPERATORS + 1))
    tree = parse_filter(text)
    assert tree == parse_filter(text)
    assert repr(tree)


@pytest.mark.parametrize("connective", ["and", "or"])
def test_more_logical_operators_than_the_maximum_are_too_many(connective: str) -> None:
    text = f" {connective} ".join(["a pr"] * (MAX_LOGICAL_OPERATORS + 2))
    with pytest.raises(TooManyError, match="more than 100 'and'/'or' operators"):
        parse_filter(text)


# --- PATCH paths ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("userName", PatchPath(attr("userName"))),
        ("name.givenName", PatchPath(attr("name", "givenName"))),
        ('emails[type eq "work"]', PatchPath(attr("emails"), eq("type", "work"))),
        ('emails[type eq "work"].value', PatchPath(attr("emails"), eq("type", "work"), "value")),
        (
            'members[value eq "2819c223-7f76-453a-919d-413861904646"]',
            PatchPath(attr("members"), eq("value", "2819c223-7f76-453a-919d-413861904646")),
        ),
        (
            'addresses[type eq "work" and primary eq true].streetAddress',
            PatchPath(
                attr("addresses"), And(eq("type", "work"), eq("primary", True)), "streetAddress"
            ),
        ),
        (f"{ENTERPRISE}:employeeNumber", PatchPath(attr("employeeNumber", uri=ENTERPRISE))),
        (f"{ENTERPRISE}:manager.value", PatchPath(attr("manager", "value", ENTERPRISE))),
        (f"{CORE_USER}:name.familyName", PatchPath(attr("name", "familyName", CORE_USER))),
        ("members[value eq 1].$ref", PatchPath(attr("members"), eq("value", 1), "$ref")),
        (' emails [ type eq "work" ] ', PatchPath(attr("emails"), eq("type", "work"))),
    ],
)
def test_patch_paths_parse(text: str, expected: PatchPath) -> None:
    assert parse_path(text) == expected


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("", "path is empty"),
        ("  ", "path is empty"),
        ('userName eq "x"', "unexpected 'eq' after the path"),
        ("emails[]", "empty value filter"),
        ('emails[type eq "work"', "missing ']'"),
        ('emails[type eq "work"].', "expected a sub-attribute name after '.', got end of input"),
        ('emails[type eq "work"].a.b', "expected a sub-attribute name"),
        (f'emails[type eq "work"].{ENTERPRISE}:x', "expected a sub-attribute name"),
        ('emails[type eq "work"].9', "invalid number"),
        ('emails[type eq "work"] x', "unexpected 'x' after the path at position 23"),
        ('emails[type eq "work"][value pr]', "unexpected '['"),
        ("emails[type[value pr]]", "value paths cannot be nested"),
        ('emails[type eqq "work"]', "unknown operator 'eqq'"),
        ("name.given.family", "more than one sub-attribute"),
        ('"userName"', "expected an attribute name, got string"),
        ("(userName)", "expected an attribute name, got '('"),
        ("a" * (MAX_FILTER_LENGTH + 1), "characters long"),
        ("a[" + "(" * MAX_FILTER_DEPTH + "b pr" + ")" * MAX_FILTER_DEPTH + "]", "nesting"),
    ],
)
def test_invalid_patch_paths_raise_invalid_path_error(text: str, detail: str) -> None:
    with pytest.raises(InvalidPathError) as caught:
        parse_path(text)
    assert detail in caught.value.detail
    assert caught.value.detail.startswith("Invalid path: ")
    assert caught.value.scim_type == "invalidPath"


# --- property tests ---------------------------------------------------------------------
# Random trees, and a test-only renderer that writes them as filter text.

NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,6}", fullmatch=True) | st.sampled_from(
    ["$ref", "not", "and", "or", "pr", "eq", "true", "null", "value", "type"]
)
URIS = st.sampled_from([CORE_USER, ENTERPRISE]) | st.from_regex(
    r"urn:[a-z]{1,5}(:[A-Za-z0-9.]{1,5}){1,3}", fullmatch=True
)
LITERALS = st.one_of(
    # No stored value holds NUL or a lone surrogate: the parser refuses both (tested above).
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=10),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
ATTR_PATHS = st.builds(AttrPath, st.none() | URIS, NAMES, st.none() | NAMES)


def _leaves(paths: st.SearchStrategy[AttrPath]) -> st.SearchStrategy[Filter]:
    return st.builds(Present, paths) | st.builds(
        Compare, paths, st.sampled_from(COMPARISON_OPERATORS), LITERALS
    )


def _trees(leaves: st.SearchStrategy[Filter]) -> st.SearchStrategy[Filter]:
    return st.recursive(
        leaves,
        lambda children: (
            st.builds(And, children, children)
            | st.builds(Or, children, children)
            | st.builds(Not, children)
        ),
        max_leaves=8,
    )


VALUE_FILTERS = _trees(_leaves(ATTR_PATHS))
FILTERS = _trees(_leaves(ATTR_PATHS) | st.builds(ValuePath, ATTR_PATHS, VALUE_FILTERS))


class Renderer:
    """Writes a tree as filter text with minimal parentheses and chosen spelling."""

    def __init__(self, space: str, pad: str, upper: bool, ascii_only: bool) -> None:
        self.space = space
        self.pad = pad
        self.upper = upper
        self.ascii_only = ascii_only

    def word(self, keyword: str) -> str:
        return keyword.upper() if self.upper else keyword

    def path(self, path: AttrPath) -> str:
        text = f"{path.attr}.{path.sub_attr}" if path.sub_attr else path.attr
        return f"{path.uri}:{text}" if path.uri else text

    def literal(self, value: Literal) -> str:
        text = json.dumps(value, ensure_ascii=self.ascii_only)
        return self.word(text) if isinstance(value, bool) or value is None else text

    def group(self, node: Filter) -> str:
        return f"({self.pad}{self.render(node)}{self.pad})"

    def render(self, node: Filter) -> str:
        s = self.space
        if isinstance(node, Present):
            return f"{self.path(node.path)}{s}{self.word('pr')}"
        if isinstance(node, Compare):
            return f"{self.path(node.path)}{s}{self.word(node.op)}{s}{self.literal(node.value)}"
        if isinstance(node, Not):
            return f"{self.word('not')}{s}{self.group(node.expr)}"
        if isinstance(node, ValuePath):
            return f"{self.path(node.path)}[{self.pad}{self.render(node.filter)}{self.pad}]"
        # Or is loosest; And needs parentheses around an Or operand; both are left-assoc.
        if isinstance(node, Or):
            right = (
                self.group(node.right) if isinstance(node.right, Or) else self.render(node.right)
            )
            return f"{self.render(node.left)}{s}{self.word('or')}{s}{right}"
        assert isinstance(node, And)
        left = self.group(node.left) if isinstance(node.left, Or) else self.render(node.left)
        right = (
            self.group(node.right) if isinstance(node.right, And | Or) else self.render(node.right)
        )
        return f"{left}{s}{self.word('and')}{s}{right}"


def nesting(node: Filter) -> int:
    """The parser's nesting depth of the rendered tree: one per '(', 'not' and '['."""
    if isinstance(node, Not):
        return 2 + nesting(node.expr)
    if isinstance(node, ValuePath):
        return 1 + nesting(node.filter)
    if isinstance(node, Or):
        return max(nesting(node.left), nesting(node.right) + isinstance(node.right, Or))
    if isinstance(node, And):
        return max(
            nesting(node.left) + isinstance(node.left, Or),
            nesting(node.right) + isinstance(node.right, And | Or),
        )
    return 0


RENDERERS = st.builds(
    Renderer,
    st.sampled_from([" ", "  ", "\t", " \t "]),
    st.sampled_from(["", " ", "\t "]),
    st.booleans(),
    st.booleans(),
)


@st.composite
def rendered_patch_paths(draw: st.DrawFn) -> tuple[str, PatchPath]:
    """A random PATCH path and its text."""
    renderer = draw(RENDERERS)
    path = draw(ATTR_PATHS)
    value_filter = draw(st.none() | VALUE_FILTERS.filter(lambda f: nesting(f) < MAX_FILTER_DEPTH))
    text = renderer.path(path)
    if value_filter is None:
        return text, PatchPath(path)
    text += f"[{renderer.pad}{renderer.render(value_filter)}{renderer.pad}]"
    sub_attr = draw(st.none() | NAMES)
    if sub_attr is not None:
        text += f".{sub_attr}"
    return text, PatchPath(path, value_filter, sub_attr)


RENDERED_FILTERS = st.builds(lambda r, tree: r.render(tree), RENDERERS, FILTERS)
RENDERED_PATHS = rendered_patch_paths().map(lambda pair: pair[0])


# Robustness: any text gives a tree or the right ScimError, nothing else.

GOOD_TOKENS = [
    "userName",
    "emails",
    "name.familyName",
    "members.$ref",
    f"{ENTERPRISE}:manager.value",
    "type",
    "value",
    *COMPARISON_OPERATORS,
    "EQ",
    "pr",
    "and",
    "OR",
    "not",
    "Not",
    "(",
    ")",
    "[",
    "]",
    ".",
    '"x"',
    '"\\ud83d\\ude00"',
    "0",
    "-1.5e3",
    "true",
    "False",
    "null",
    "$ref",
]
BAD_TOKENS = [
    f"{CORE_USER}:",
    "urn:",
    ":",
    '"',
    '"\\',
    '"\\u',
    '"\\ud800"',
    '"\\uZZZZ"',
    "\\",
    "01",
    "1.",
    ".5",
    "-",
    "1e999",
    "9" * 50,
    "'",
    "é",
    "\x00",
    "\n",
]
SPACES = st.sampled_from(["", " ", "  ", "\t"])

token_soup = st.lists(st.tuples(st.sampled_from(GOOD_TOKENS), SPACES), max_size=20).map(
    lambda pairs: "".join(token + space for token, space in pairs)
)
weird_text = st.text() | st.text(alphabet='()[]" \\.:$-0123456789eqandornotprux')


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[str]) -> str:
    """A valid text with a few insertions, deletions or truncations: mostly near-misses."""
    text = draw(valid)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "truncate"]))
        if action == "insert":
            token = draw(st.sampled_from(GOOD_TOKENS + BAD_TOKENS))
            text = text[:at] + draw(SPACES) + token + draw(SPACES) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 5)) :]
        else:
            text = text[:at]
    return text


def _check_filter(text: str) -> None:
    try:
        result = parse_filter(text)
    except InvalidFilterError as exc:
        assert exc.detail.startswith("Invalid filter: ")
        exc.detail.encode("utf-8")
    except TooManyError as exc:
        assert exc.detail.startswith("Filter too large to process: ")
        exc.detail.encode("utf-8")
    else:
        assert isinstance(result, FILTER_NODES)


def _check_path(text: str) -> None:
    try:
        result = parse_path(text)
    except InvalidPathError as exc:
        assert exc.detail.startswith("Invalid path: ")
        exc.detail.encode("utf-8")
    else:
        assert isinstance(result, PatchPath)


@FAST
@given(st.one_of(weird_text, token_soup, mutated(RENDERED_FILTERS)))
def test_parse_filter_returns_a_filter_or_raises_a_filter_error_for_any_text(
    text: str,
) -> None:
    _check_filter(text)


@FAST
@given(st.one_of(weird_text, token_soup, mutated(RENDERED_PATHS)))
def test_parse_path_returns_a_path_or_raises_invalid_path_error_for_any_text(text: str) -> None:
    _check_path(text)


# Round trip: random tree -> text -> parse -> the same tree.


@TREES
@given(FILTERS, RENDERERS)
def test_rendered_filters_parse_back_to_the_same_tree(tree: Filter, renderer: Renderer) -> None:
    assume(nesting(tree) <= MAX_FILTER_DEPTH)
    text = renderer.render(tree)
    assume(len(text) <= MAX_FILTER_LENGTH)
    assert parse_filter(text) == tree


@TREES
@given(rendered_patch_paths())
def test_rendered_patch_paths_parse_back_to_the_same_path(pair: tuple[str, PatchPath]) -> None:
    text, expected = pair
    assert parse_path(text) == expected


def test_renderer_writes_the_rfc_spelling_of_an_example() -> None:
    text = 'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")'
    assert Renderer(" ", "", upper=False, ascii_only=True).render(parse_filter(text)) == text
