"""Tests for scim.matching: in-memory evaluation of SCIM filters (RFC 7644 §3.4.2.2)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scim.filter import MAX_LOGICAL_OPERATORS, parse_filter
from scim.filter_ast import (
    COMPARISON_OPERATORS,
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    ValuePath,
)
from scim.matching import matches

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
FAST = settings(max_examples=200, deadline=None, database=None)

# Shaped like RFC 7643 §8.2's full user, trimmed to what the filters below touch.
BJENSEN: dict[str, Any] = {
    "schemas": [CORE_USER, ENTERPRISE],
    "id": "2819c223-7f76-453a-919d-413861904646",
    "externalId": "701984",
    "userName": "bjensen@example.com",
    "name": {"familyName": "Jensen", "givenName": "Barbara"},
    "displayName": "Babs Jensen",
    "title": "Tour Guide",
    "userType": "Employee",
    "active": True,
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ],
    "ims": [{"value": "someaimhandle", "type": "aim"}],
    "meta": {"lastModified": "2011-05-13T04:42:34Z", "created": "2010-01-23T04:56:22Z"},
    ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "26118915", "$ref": "x"}},
}


def check(text: str, element: dict[str, Any] | None = None, **kwargs: Any) -> bool:
    return matches(parse_filter(text), BJENSEN if element is None else element, **kwargs)


# --- whole filters against a realistic user ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "bjensen@example.com"', True),
        ('userName eq "BJENSEN@example.com"', True),
        ('userName eq "bjensen"', False),
        ('name.familyName co "ens"', True),
        ('userName sw "B"', True),
        (f'{CORE_USER}:userName sw "b"', True),
        ("title pr", True),
        ("nickName pr", False),
        ('meta.lastModified gt "2011-05-13T04:42:33Z"', True),
        ('meta.lastModified gt "2011-05-13T04:42:34Z"', False),
        ('meta.lastModified ge "2011-05-13T04:42:34Z"', True),
        ('meta.lastModified lt "2011-05-13T04:42:35Z"', True),
        ('meta.lastModified le "2011-05-13T04:42:34Z"', True),
        ('title pr and userType eq "Employee"', True),
        ('title pr and userType eq "Intern"', False),
        ('nickName pr or userType eq "employee"', True),
        (f'schemas eq "{ENTERPRISE}"', True),
        (
            'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
            True,
        ),
        (
            'userType ne "Employee" and not (emails co "example.com" or '
            'emails.value co "example.org")',
            False,
        ),
        ('userType eq "Employee" and (emails.type eq "work")', True),
        ('userType eq "Employee" and emails[type eq "work" and value co "@example.com"]', True),
        ('emails[type eq "home" and value co "@example.com"]', False),
        (
            'emails[type eq "work" and value co "@example.com"] or '
            'ims[type eq "xmpp" and value co "@foo.com"]',
            True,
        ),
        ('not (userType eq "Employee")', False),
        (f'{ENTERPRISE}:employeeNumber eq "701984"', True),
        (f'{ENTERPRISE}:manager.value eq "26118915"', True),
        (f'{ENTERPRISE}:manager eq "26118915"', True),
        ('id eq "2819C223-7F76-453A-919D-413861904646"', True),
        ('externalId eq "701984"', True),
        ("active eq true", True),
        ("emails[primary eq true]", True),
    ],
)
def test_rfc_7644_examples_evaluate_against_the_rfc_7643_user(text: str, expected: bool) -> None:
    assert check(text) is expected


# --- string comparison and case sensitivity ---------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "insensitive", "sensitive"),
    [
        ("eq", "Alice", True, True),
        ("eq", "alice", True, False),
        ("eq", "Alic", False, False),
        ("ne", "alice", False, True),
        ("ne", "Bob", True, True),
        ("co", "LIC", True, False),
        ("co", "lic", True, True),
        ("co", "xyz", False, False),
        ("sw", "AL", True, False),
        ("sw", "Al", True, True),
        ("sw", "ce", False, False),
        ("ew", "CE", True, False),
        ("ew", "ce", True, True),
        ("ew", "Al", False, False),
        ("gt", "ALICE", False, True),
        ("gt", "aaa", True, False),
        ("ge", "ALICE", True, True),
        ("lt", "b", True, True),
        ("lt", "ALICE", False, False),
        ("le", "alice", True, True),
        ("le", "ALICE", True, False),
    ],
)
def test_string_operators_fold_case_unless_the_attribute_is_case_exact(
    op: str, value: str, insensitive: bool, sensitive: bool
) -> None:
    flt = Compare(AttrPath(None, "userName"), op, value)
    element = {"userName": "Alice"}
    assert matches(flt, element) is insensitive
    assert matches(flt, element, case_exact=lambda key: True) is sensitive


def test_case_exact_receives_the_lowercased_dotted_key() -> None:
    seen: list[str] = []

    def case_exact(key: str) -> bool:
        seen.append(key)
        return False

    element = {"name": {"familyName": "x"}, "emails": [{"value": "a"}], ENTERPRISE: {}}
    flt = parse_filter(
        f'name.familyName eq "x" and {ENTERPRISE}:employeeNumber eq "1" '
        'or emails[value eq "b"] or userName eq "u"'
    )
    matches(flt, element, case_exact=case_exact)
    assert seen == [
        "name.familyname",
        f"{ENTERPRISE.lower()}:employeenumber",
        "emails.value",
        "username",
    ]


def test_case_exact_can_differ_per_attribute() -> None:
    element = {"id": "ABC", "userName": "ABC"}
    case_exact = {"id"}.__contains__
    assert not check('id eq "abc"', element, case_exact=case_exact)
    assert check('userName eq "abc"', element, case_exact=case_exact)


def test_case_folding_handles_non_ascii_text() -> None:
    assert check('name.familyName eq "STRASSE"', {"name": {"familyName": "Straße"}})
    assert check('userName co "ÉLODIE"', {"userName": "élodie@example.com"})


# --- other types ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("age eq 30", True),
        ("age eq 30.0", True),
        ("age ne 31", True),
        ("age gt 29", True),
        ("age gt 30", False),
        ("age ge 30", True),
        ("age lt 30.5", True),
        ("age le 29.9", False),
        ('age eq "30"', False),
        ('age co "3"', False),
        ("height gt 1", True),
        ("height lt 2", True),
        ("big gt 1e300", True),
    ],
)
def test_numbers_compare_numerically(text: str, expected: bool) -> None:
    assert check(text, {"age": 30, "height": 1.75, "big": 10**400}) is expected


@pytest.mark.parametrize(
    ("stored", "text", "expected"),
    [
        (True, "active eq true", True),
        (True, "active eq false", False),
        (False, "active eq false", True),
        (True, "active ne false", True),
        ("True", "active eq true", True),
        ("TRUE", "active eq true", True),
        ("False", "active eq false", True),
        ("False", "active eq true", False),
        (True, 'active eq "True"', True),
        (False, 'active eq "false"', True),
        ("yes", "active eq true", False),
        (1, "active eq true", False),
        (True, "active eq 1", False),
        (0, "active eq false", False),
        (True, "active gt false", False),
        (True, "active ge true", False),
        (True, "active le true", False),
        (True, "active lt true", False),
        (True, 'active co "t"', False),
        (True, 'active sw "t"', False),
    ],
)
def test_booleans_compare_only_with_booleans_and_true_false_strings(
    stored: Any, text: str, expected: bool
) -> None:
    assert check(text, {"active": stored}) is expected


@pytest.mark.parametrize(
    ("stored", "text", "expected"),
    [
        ("2011-05-13T04:42:34Z", 'when gt "2011-05-13T04:42:34+01:00"', True),
        ("2011-05-13T04:42:34Z", 'when lt "2011-05-13T05:42:34+02:00"', False),
        ("2011-05-13T04:42:34Z", 'when ge "2011-05-13T04:42:34+00:00"', True),
        ("2011-05-13T04:42:34Z", 'when le "2011-05-13T04:42:34"', True),
        ("2011-05-13T04:42:34.5Z", 'when gt "2011-05-13T04:42:34Z"', True),
        ("2011-05-13T04:42:34.1234567Z", 'when gt "2011-05-13T04:42:34.123Z"', True),
        ("2011-05-13T04:42:34z", 'when lt "2011-05-13T04:42:35z"', True),
        ("2011-05-13T04:42:34-05:00", 'when gt "2011-05-13T09:00:00Z"', True),
        ("9999-12-31T23:59:59-23:59", 'when gt "2011-05-13T04:42:34Z"', True),
        ("0001-01-01T00:00:00+23:59", 'when lt "2011-05-13T04:42:34Z"', True),
        ("2011-13-45T04:42:34Z", 'when gt "2011-05-13T04:42:34Z"', True),
        ("not a date", 'when lt "2011"', False),
    ],
)
def test_date_times_compare_as_instants_when_both_sides_parse(
    stored: str, text: str, expected: bool
) -> None:
    assert check(text, {"when": stored}) is expected


@pytest.mark.parametrize("op", ["gt", "ge", "lt", "le", "co", "sw", "ew"])
@pytest.mark.parametrize("stored", [None, [], {}, {"a": 1}, [[1]], True])
def test_ordering_and_substring_operators_never_match_incomparable_values(
    op: str, stored: Any
) -> None:
    assert not matches(Compare(AttrPath(None, "x"), op, "a"), {"x": stored})


@pytest.mark.parametrize("op", ["gt", "ge", "lt", "le", "co", "sw", "ew"])
def test_ordering_and_substring_operators_never_match_null(op: str) -> None:
    assert not matches(Compare(AttrPath(None, "x"), op, None), {"x": "a"})


def test_nan_is_never_ordered() -> None:
    assert not check("x ge 1", {"x": float("nan")})
    assert not check("x le 1", {"x": float("nan")})


# --- presence and null ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("element", "present"),
    [
        ({}, False),
        ({"title": None}, False),
        ({"title": ""}, False),
        ({"title": []}, False),
        ({"title": {}}, False),
        ({"title": "x"}, True),
        ({"title": " "}, True),
        ({"title": 0}, True),
        ({"title": False}, True),
        ({"title": ["x"]}, True),
        ({"title": {"a": 1}}, True),
        ({"TITLE": "x"}, True),
    ],
)
def test_pr_means_a_non_empty_non_null_value(element: dict[str, Any], present: bool) -> None:
    assert check("title pr", element) is present
    assert check("title eq null", element) is not present
    assert check("title ne null", element) is present


def test_pr_on_a_sub_attribute_of_a_multi_valued_attribute_checks_every_element() -> None:
    assert check("emails.value pr", {"emails": [{"type": "work"}, {"value": "a@b.c"}]})
    assert not check("emails.value pr", {"emails": [{"type": "work"}, {"value": ""}]})


@pytest.mark.parametrize("element", [{}, {"title": None}, {"title": []}])
def test_ne_is_true_when_the_attribute_is_absent(element: dict[str, Any]) -> None:
    assert check('title ne "x"', element)
    assert not check('title eq "x"', element)


# --- multi-valued and complex attributes ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('emails eq "babs@jensen.org"', True),
        ('emails co "jensen.org"', True),
        ('emails eq "work"', False),
        ('emails.value eq "babs@jensen.org"', True),
        ('emails.type eq "home"', True),
        ('emails.type eq "other"', False),
        ('emails ne "babs@jensen.org"', True),
        ('emails.display eq "x"', False),
        ('emails.display ne "x"', True),
        ('roles eq "admin"', True),
        ('roles eq "ADMIN"', True),
        ('roles eq "root"', False),
        ('name eq "x"', False),
        ('name.givenName eq "barbara"', True),
    ],
)
def test_a_multi_valued_attribute_matches_when_any_value_matches(text: str, expected: bool) -> None:
    element = dict(BJENSEN, roles=["user", "admin"])
    assert check(text, element) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('emails[type eq "work"]', True),
        ('emails[type eq "work" and primary eq true]', True),
        ('emails[type eq "home" and primary eq true]', False),
        ('emails[not (type eq "work")]', True),
        ('emails[type eq "other" or value ew ".org"]', True),
        ("emails[display pr]", False),
        ('ims[type eq "aim"]', True),
        ('phoneNumbers[type eq "work"]', False),
        ('name[givenName eq "Barbara"]', True),
        ('userName[value eq "x"]', False),
        ('not (emails[type eq "work"])', False),
    ],
)
def test_a_value_path_matches_when_some_element_satisfies_the_inner_filter(
    text: str, expected: bool
) -> None:
    assert check(text) is expected


def test_value_filter_from_a_patch_path_evaluates_against_one_element() -> None:
    work = {"type": "work", "value": "a@b.com", "primary": True}
    assert check('type eq "work"', work)
    assert check('type eq "WORK" and value co "@B.COM" and primary eq true', work)
    assert not check('type eq "home"', work)


# --- schema URNs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f'{ENTERPRISE}:employeeNumber eq "701984"', True),
        (f'{ENTERPRISE.upper()}:employeeNumber eq "701984"', True),
        (f"{ENTERPRISE}:userName pr", False),
        (f"{ENTERPRISE}:costCenter pr", False),
        (f'{CORE_USER}:userName eq "bjensen@example.com"', True),
        (f'{CORE_USER}:name.familyName eq "jensen"', True),
        ('urn:ietf:params:scim:schemas:core:2.0:Group:userName eq "bjensen@example.com"', True),
        ('urn:example:custom:1.0:User:userName eq "bjensen@example.com"', False),
        (f"{ENTERPRISE}:manager[value pr]", True),
        ("employeeNumber pr", False),
    ],
)
def test_a_urn_looks_inside_its_extension_or_falls_back_to_core_attributes(
    text: str, expected: bool
) -> None:
    assert check(text) is expected


def test_a_core_urn_key_present_in_the_element_is_looked_inside() -> None:
    element = {"userName": "outer", CORE_USER: {"userName": "inner"}}
    assert check(f'{CORE_USER}:userName eq "inner"', element)


def test_an_extension_that_is_not_an_object_matches_nothing() -> None:
    assert not check(f"{ENTERPRISE}:employeeNumber pr", {ENTERPRISE: "701984"})


def test_attribute_names_are_looked_up_case_insensitively() -> None:
    element = {"UserName": "a", "NAME": {"FamilyName": "b"}, "Emails": [{"VALUE": "c"}]}
    assert check('username eq "a" and name.familyname eq "b" and emails eq "c"', element)


# --- logic ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a pr and b pr", False),
        ("a pr or b pr", True),
        ("not (a pr)", False),
        ("not (b pr)", True),
        ("not (not (a pr))", True),
        ("a pr or b pr and c pr", True),
        ("(a pr or b pr) and c pr", False),
        ("a pr and not (b pr) and not (c pr)", True),
    ],
)
def test_logical_operators_combine_as_in_boolean_algebra(text: str, expected: bool) -> None:
    assert check(text, {"a": 1}) is expected


def test_the_longest_accepted_and_chain_evaluates_without_recursion_errors() -> None:
    many = " and ".join(f"a{i} pr" for i in range(MAX_LOGICAL_OPERATORS + 1))
    element = {f"a{i}": 1 for i in range(MAX_LOGICAL_OPERATORS + 1)}
    assert check(many, element)
    assert not check(many, {})
    assert check(many.replace(" and ", " or "), {"a50": 1})


def test_a_hand_built_chain_deeper_than_the_recursion_limit_still_evaluates() -> None:
    flt: Filter = Present(AttrPath(None, "a"))
    for _ in range(5000):
        flt = Or(flt, Present(AttrPath(None, "b")))
    assert matches(flt, {"b": 1})


# --- robustness -------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["value", "type", "Value", "a", "b", ENTERPRISE]), children
        )
    ),
    max_leaves=10,
)
ELEMENTS = st.dictionaries(
    st.sampled_from(["a", "A", "b", "value", "emails", ENTERPRISE, CORE_USER]), JSON, max_size=5
)
PATHS = st.builds(
    AttrPath,
    st.none() | st.sampled_from([ENTERPRISE, CORE_USER, "urn:x:y"]),
    st.sampled_from(["a", "b", "value", "emails"]),
    st.none() | st.sampled_from(["value", "type", "a"]),
)
LITERALS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
LEAVES = st.builds(Present, PATHS) | st.builds(
    Compare, PATHS, st.sampled_from(COMPARISON_OPERATORS), LITERALS
)
FILTERS = st.recursive(
    LEAVES,
    lambda children: (
        st.builds(And, children, children)
        | st.builds(Or, children, children)
        | st.builds(Not, children)
        | st.builds(ValuePath, PATHS, children)
    ),
    max_leaves=6,
)


@FAST
@given(FILTERS, ELEMENTS)
def test_matching_never_raises_whatever_the_element_looks_like(
    flt: Filter, element: dict[str, Any]
) -> None:
    assert matches(flt, element) in (True, False)
    assert matches(flt, element, case_exact=lambda key: True) in (True, False)


@FAST
@given(FILTERS, FILTERS, ELEMENTS)
def test_not_and_or_obey_boolean_algebra(
    left: Filter, right: Filter, element: dict[str, Any]
) -> None:
    a, b = matches(left, element), matches(right, element)
    assert matches(Not(left), element) is (not a)
    assert matches(And(left, right), element) is (a and b)
    assert matches(Or(left, right), element) is (a or b)


@pytest.mark.parametrize("element", [None, "x", 1, ["a"], ("a",)])
def test_a_non_object_element_matches_nothing(element: Any) -> None:
    assert matches(parse_filter("a pr or not (a pr)"), element) is False
