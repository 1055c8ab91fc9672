"""Versions and ETags of users and groups: how If-Match and If-None-Match values match."""

from __future__ import annotations

import pytest

from scim.errors import PreconditionFailedError
from services.resources.versions import EntityTags, etag, require


def test_an_etag_is_weak_and_names_the_version() -> None:
    assert etag(7) == 'W/"7"'


def test_no_header_is_no_condition() -> None:
    assert EntityTags.parse(None) is None
    assert EntityTags.parse("") is None
    require(None, "User", "u1", 3)


@pytest.mark.parametrize("header", ['W/"3"', '"3"', '"1", W/"3"', "*", ' W/"9" , * '])
def test_a_header_naming_the_version_matches_weakly(header: str) -> None:
    tags = EntityTags.parse(header)
    assert tags is not None and tags.match(3)
    require(tags, "User", "u1", 3)


@pytest.mark.parametrize("header", ['W/"2"', '"4"', ",", 'W/"30"'])
def test_a_header_naming_another_version_fails_the_write(header: str) -> None:
    tags = EntityTags.parse(header)
    assert tags is not None and not tags.match(3)
    with pytest.raises(PreconditionFailedError) as raised:
        require(tags, "Group", "g1", 3)
    assert raised.value.status == 412
    assert 'Group g1 has changed: its version is now W/"3"' in str(raised.value)
