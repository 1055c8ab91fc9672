"""Filters (RFC 7644 §3.4.2.2) select exactly the right users and groups, by GET and .search.

One integration is seeded once for the module with ten varied users and three groups; every
test here only reads. Users are named by letter (A = alice ... J = judy) in the tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from extensions import db
from tests.blueprints.scim.conftest import (
    ENTERPRISE_URN,
    GROUP_URN,
    SEARCH_REQUEST,
    USER_URN,
    Scim,
    assert_scim_error,
    patch_op,
)
from tests.conftest import OKTA_HEADERS, fresh_app
from tests.factories import make_integration, make_token

_TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%fZ"


def _email(value: str, kind: str, primary: bool | None = None) -> dict[str, Any]:
    email: dict[str, Any] = {"value": value, "type": kind}
    if primary is not None:
        email["primary"] = primary
    return email


# letter: (userName, givenName, familyName, emails, title, enterprise, active, externalId)
SEED: dict[str, tuple[Any, ...]] = {
    "A": (
        "alice@example.com", "Alice", "Anderson",
        [_email("alice@example.com", "work", True), _email("alice@home.example.net", "home")],
        "Engineer", {"employeeNumber": "1001", "department": "Engineering"}, True, "00uAlice",
    ),
    "B": (
        "bob@example.com", "Bob", "Brown", [_email("bob@example.com", "work", True)],
        "Senior Engineer", {"employeeNumber": "1002", "department": "Engineering"}, True, "00uBob",
    ),
    "C": (
        "carol@example.org", "Carol", "Clark",
        [_email("carol@example.org", "work", True), _email("carol@example.com", "home")],
        "Engineering Manager", {"employeeNumber": "1003", "department": "Sales"}, True, "00uCarol",
    ),
    "D": (
        "dave@example.net", "Dave", "Davis", [_email("dave@example.net", "home")],
        None, {"employeeNumber": "2001", "department": "Sales"}, False, "00udave",
    ),
    "E": (
        "Erin.Evans@Example.com", "Erin", "Evans", [_email("Erin.Evans@Example.com", "work", True)],
        "Director", {"employeeNumber": "2002", "department": "Marketing"}, True, None,
    ),
    "F": (
        "frank@example.com", "Frank", "Anderson", [_email("frank@example.com", "work", True)],
        "Engineer", None, False, "00uFrank",
    ),
    "G": (
        "grace@sub.example.com", "Grace", "Green", None,
        "Intern", {"employeeNumber": "3001", "department": "Engineering"}, True, "00uGrace",
    ),
    "H": (
        "heidi_x@example.com", "Heidi", "Hopper",
        [_email("heidi_x@example.com", "work"), _email("heidi@personal.example", "other")],
        "Designer", {"employeeNumber": "3002"}, True, "00uHeidi",
    ),
    "I": (
        "ivan@example.com", "Ivan", "Ivanov", [_email("ivan@corp.example", "work")],
        "Engineer", {"department": "Support"}, True, "00uIvan",
    ),
    "J": (
        "judy%@example.com", "Judy", None, [_email("judy@example.com", "work")],
        None, None, True, "00uJudy",
    ),
}  # fmt: skip
GROUPS = {"Engineers": "ABG", "Sales": "CD", "Empty": ""}


def _user_body(user_name, given, family, emails, title, enterprise, active, external_id) -> dict:
    body: dict[str, Any] = {
        "schemas": [USER_URN],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": emails,
        "title": title,
        "active": active,
        "externalId": external_id,
    }
    if enterprise is not None:
        body["schemas"].append(ENTERPRISE_URN)
        body[ENTERPRISE_URN] = enterprise
    return body


@dataclass
class Seeded:
    """The seeded integration: a client, and values to put into filters."""

    scim: Scim
    values: dict[str, str]
    names: dict[str, str]

    def letters(self, resources: list[dict[str, Any]]) -> str:
        """The letters (users) or names (groups) of listed resources, sorted."""
        if resources and "userName" in resources[0]:
            by_name = {v: k for k, v in self.names.items()}
            return "".join(sorted(by_name[r["userName"]] for r in resources))
        return ",".join(sorted(r["displayName"] for r in resources))


def _between(earlier: str, later: str) -> dt.datetime:
    a, b = (dt.datetime.strptime(t, _TIMESTAMP) for t in (earlier, later))
    assert a < b
    return a + (b - a) / 2


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, migrated_database: str) -> Iterator[Seeded]:
    tmp: Path = tmp_path_factory.mktemp("filters")
    application = fresh_app(tmp, migrated_database)
    with application.app_context():
        token = make_token(make_integration(name="Filter Okta"))
        scim = Scim(application.test_client(), {**OKTA_HEADERS, "Authorization": f"Bearer {token}"})
        users = {
            letter: scim.post("/Users", _user_body(*row)).get_json() for letter, row in SEED.items()
        }
        values = {letter: user["id"] for letter, user in users.items()}
        for name, letters in GROUPS.items():
            values[name] = scim.create_group(name, [values[x] for x in letters])["id"]
        # Joining a group moved its members' lastModified; Bob changes after all that, so
        # only his lastModified is later than every other user's.
        listed = scim.get("/Users", query_string={"count": len(SEED)}).get_json()["Resources"]
        values["seeded"] = max(user["meta"]["lastModified"] for user in listed)
        patched = scim.patch(
            f"/Users/{values['B']}", patch_op({"op": "add", "path": "nickName", "value": "Bobby"})
        )
        assert patched.status_code == 200
        mid = _between(users["E"]["meta"]["created"], users["F"]["meta"]["created"])
        values["EF_mid"] = mid.strftime(_TIMESTAMP)
        values["EF_mid_plus2"] = (mid + dt.timedelta(hours=2)).strftime(
            "%Y-%m-%dT%H:%M:%S.%f+02:00"
        )
        values["F_created"] = users["F"]["meta"]["created"]
        values["C_created"] = users["C"]["meta"]["created"]
        yield Seeded(scim, values, {letter: row[0] for letter, row in SEED.items()})
    if not db.is_closed():
        db.close()
    db.obj.close_all()


USER_FILTERS = [
    # eq, and case rules: userName is case-insensitive, externalId case-exact.
    ('userName eq "alice@example.com"', "A"),
    ('userName eq "ALICE@EXAMPLE.COM"', "A"),
    ('userName eq "erin.evans@example.com"', "E"),
    ('USERNAME eq "bob@example.com"', "B"),
    ('UserName EQ "bob@example.com"', "B"),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob@example.com"', "B"),
    ('userName eq "nobody@example.com"', ""),
    ('externalId eq "00uAlice"', "A"),
    ('externalId eq "00ualice"', ""),
    ('externalId eq "00udave"', "D"),
    ('externalId eq "00uDave"', ""),
    ('ExternalId eq "00uBob"', "B"),
    ('name.familyName eq "anderson"', "AF"),
    ('NAME.FAMILYNAME eq "Brown"', "B"),
    ('title eq "engineer"', "AFI"),
    ("active eq false", "DF"),
    ("active eq true", "ABCEGHIJ"),
    ('id eq "{C}"', "C"),
    # ne is "not eq": users without a title are not Engineers either.
    ('title ne "Engineer"', "BCDEGHJ"),
    ("active ne true", "DF"),
    # co / sw / ew, with LIKE wildcards taken literally.
    ('userName co "example.com"', "ABEFGHIJ"),
    ('userName co "_"', "H"),
    ('userName co "%"', "J"),
    ('title co "engineer"', "ABCFI"),
    ('emails co "example.org"', "C"),
    ('emails.value co "@home"', "A"),
    ('userName sw "A"', "A"),
    ('name.givenName sw "Gr"', "G"),
    ('title sw "Senior"', "B"),
    ('userName ew ".org"', "C"),
    ('userName ew ".NET"', "D"),
    # gt / ge / lt / le on strings.
    ('userName lt "c"', "AB"),
    ('userName le "bob@example.com"', "AB"),
    ('userName gt "heidi"', "HIJ"),
    ('userName ge "ivan@example.com"', "IJ"),
    # pr
    ("title pr", "ABCEFGHI"),
    ("emails pr", "ABCDEFHIJ"),
    ("externalId pr", "ABCDFGHIJ"),
    ("name.familyName pr", "ABCDEFGHI"),
    (f"{ENTERPRISE_URN}:department pr", "ABCDEGI"),
    # and / or / not / parentheses, with "and" binding tighter than "or".
    ('title eq "Engineer" and active eq true', "AI"),
    ('title eq "Engineer" or title eq "Director"', "AEFI"),
    ("not (active eq true)", "DF"),
    ("not (title pr)", "DJ"),
    ('(title eq "Engineer" or title eq "Intern") and not (name.familyName eq "Anderson")', "GI"),
    ('userName sw "a" or userName sw "b" and active eq false', "A"),
    ('(userName sw "a" or userName sw "b") and active eq true', "AB"),
    # value paths and multi-valued sub-attributes
    ('emails[type eq "work" and value co "@example.com"]', "ABEFHJ"),
    ('emails[type eq "home"]', "ACD"),
    ('Emails[TYPE eq "home"]', "ACD"),
    ('emails[type eq "home" and value ew ".com"]', "C"),
    ("emails[primary eq true]", "ABCEF"),
    ('emails.type eq "other"', "H"),
    ('emails.type ne "work"', "DG"),
    ('not (emails[type eq "work"])', "DG"),
    # the enterprise extension, by its URN-qualified names
    (f'{ENTERPRISE_URN}:employeeNumber eq "1002"', "B"),
    (f'{ENTERPRISE_URN}:employeeNumber gt "2000"', "DEGH"),
    (f'{ENTERPRISE_URN}:department eq "engineering"', "ABG"),
    # meta timestamps: between two creations, in UTC or with an offset
    ('meta.created gt "{EF_mid}"', "FGHIJ"),
    ('meta.created lt "{EF_mid}"', "ABCDE"),
    ('meta.created gt "{EF_mid_plus2}"', "FGHIJ"),
    ('meta.created ge "{F_created}"', "FGHIJ"),
    ('meta.created gt "{F_created}"', "GHIJ"),
    ('meta.lastModified gt "{seeded}"', "B"),
    ('meta.lastModified gt "{seeded}" and meta.created lt "{C_created}"', "B"),
    # the groups a user is in
    ('groups.value eq "{Engineers}"', "ABG"),
    ('groups.value eq "{Empty}"', ""),
    ('groups.display eq "sales"', "CD"),
    ('groups[value eq "{Sales}"]', "CD"),
    ("groups pr", "ABCDG"),
    ("not (groups pr)", "EFHIJ"),
]


def _search(seeded: Seeded, resource: str, flt: str, via: str) -> Any:
    text = flt.format_map(seeded.values)
    if via == "GET":
        return seeded.scim.get(f"/{resource}", query_string={"filter": text})
    return seeded.scim.post(f"/{resource}/.search", {"schemas": [SEARCH_REQUEST], "filter": text})


@pytest.mark.parametrize("via", ["GET", ".search"])
@pytest.mark.parametrize(("flt", "expected"), USER_FILTERS)
def test_user_filter_selects_exactly(seeded: Seeded, flt: str, expected: str, via: str) -> None:
    response = _search(seeded, "Users", flt, via)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert seeded.letters(body["Resources"]) == expected
    assert body["totalResults"] == len(expected)


GROUP_FILTERS = [
    ('displayName eq "Engineers"', "Engineers"),
    ('displayName eq "engineers"', "Engineers"),
    ('DISPLAYNAME eq "SALES"', "Sales"),
    ('displayName sw "E"', "Empty,Engineers"),
    ('members.value eq "{A}"', "Engineers"),
    ('members.value eq "{C}" or displayName eq "Empty"', "Empty,Sales"),
    ('members[value eq "{D}"]', "Sales"),
    ('members.value eq "{E}"', ""),
    ("members pr", "Engineers,Sales"),
    ("not (members pr)", "Empty"),
    ('id eq "{Sales}"', "Sales"),
    ('urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "Empty"', "Empty"),
]


@pytest.mark.parametrize("via", ["GET", ".search"])
@pytest.mark.parametrize(("flt", "expected"), GROUP_FILTERS)
def test_group_filter_selects_exactly(seeded: Seeded, flt: str, expected: str, via: str) -> None:
    response = _search(seeded, "Groups", flt, via)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert seeded.letters(body["Resources"]) == expected
    assert body["totalResults"] == (len(expected.split(",")) if expected else 0)


def test_filtered_users_are_returned_whole(seeded: Seeded) -> None:
    response = seeded.scim.get("/Users", query_string={"filter": 'externalId eq "00uAlice"'})
    (alice,) = response.get_json()["Resources"]
    assert alice == seeded.scim.get(f"/Users/{seeded.values['A']}").get_json()


def test_search_honours_attributes(seeded: Seeded) -> None:
    body = {
        "schemas": [SEARCH_REQUEST],
        "filter": 'userName eq "bob@example.com"',
        "attributes": ["userName", "name.givenName"],
    }
    (bob,) = seeded.scim.post("/Users/.search", body).get_json()["Resources"]
    assert bob == {
        "schemas": [USER_URN, ENTERPRISE_URN],
        "id": seeded.values["B"],
        "userName": "bob@example.com",
        "name": {"givenName": "Bob"},
    }


def test_search_without_a_filter_lists_everyone(seeded: Seeded) -> None:
    response = seeded.scim.post("/Users/.search", {"schemas": [SEARCH_REQUEST]})
    assert response.get_json()["totalResults"] == len(SEED)
    groups = seeded.scim.post("/Groups/.search", {"schemas": [SEARCH_REQUEST]})
    assert seeded.letters(groups.get_json()["Resources"]) == "Empty,Engineers,Sales"
    assert "members" in groups.get_json()["Resources"][0]


INVALID_SEARCHES = {
    "schemas without SearchRequest": (
        {"schemas": [USER_URN], "filter": "title pr"},
        "invalidSyntax",
    ),
    "schemas not a list": ({"schemas": SEARCH_REQUEST, "filter": "title pr"}, "invalidSyntax"),
    "filter a number": ({"schemas": [SEARCH_REQUEST], "filter": 7}, "invalidValue"),
    "filter invalid": ({"schemas": [SEARCH_REQUEST], "filter": "title eq"}, "invalidFilter"),
    "filter on an unknown attribute": (
        {"schemas": [SEARCH_REQUEST], "filter": 'nosuch eq "x"'},
        "invalidFilter",
    ),
    "startIndex a string": ({"schemas": [SEARCH_REQUEST], "startIndex": "1"}, "invalidValue"),
    "count a boolean": ({"schemas": [SEARCH_REQUEST], "count": True}, "invalidValue"),
    "count a float": ({"schemas": [SEARCH_REQUEST], "count": 2.5}, "invalidValue"),
    "sortBy a number": ({"schemas": [SEARCH_REQUEST], "sortBy": 7}, "invalidValue"),
    "sortBy unknown": ({"schemas": [SEARCH_REQUEST], "sortBy": "nosuch"}, "invalidValue"),
    "sortOrder sideways": ({"schemas": [SEARCH_REQUEST], "sortOrder": "sideways"}, "invalidValue"),
    "attributes a number": ({"schemas": [SEARCH_REQUEST], "attributes": 5}, "invalidValue"),
    "attributes unknown": ({"schemas": [SEARCH_REQUEST], "attributes": ["nosuch"]}, "invalidValue"),
    "body an array": ([{"schemas": [SEARCH_REQUEST]}], "invalidSyntax"),
}


@pytest.mark.parametrize("resource", ["Users", "Groups"])
@pytest.mark.parametrize(("body", "scim_type"), INVALID_SEARCHES.values(), ids=INVALID_SEARCHES)
def test_an_invalid_search_is_400(seeded: Seeded, resource: str, body: Any, scim_type: str) -> None:
    assert_scim_error(seeded.scim.post(f"/{resource}/.search", body), 400, scim_type)


def test_a_malformed_search_body_is_400_invalid_syntax(seeded: Seeded) -> None:
    response = seeded.scim.post(
        "/Users/.search", data=b'{"filter": ', headers={"Content-Type": "application/scim+json"}
    )
    assert_scim_error(response, 400, "invalidSyntax")


def test_group_listing_is_not_confused_by_the_group_schema_urn(seeded: Seeded) -> None:
    response = seeded.scim.get(
        "/Groups", query_string={"filter": f'{GROUP_URN}:members.value eq "{seeded.values["B"]}"'}
    )
    assert seeded.letters(response.get_json()["Resources"]) == "Engineers"
