"""Answers that carry a group's members, written while the members are read.

A group pushed from Okta may hold every user of the org. Building its ``members`` as one
list of dicts and one JSON string costs memory in proportion (about 90 MB for 100,000
members); here the groups service reads the members a batch at a time by keyset, and each
batch is encoded and sent before the next is read, so a worker's memory stays flat whatever
the group's size.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app, stream_with_context

from blueprints.scim.http import SCIM_MEDIA_TYPE
from blueprints.scim.representation import group_member, group_resource
from models import Group
from scim.projection import Projection
from services.groups.scim_groups import member_batches, members_of

# Stands where a group's members go while the rest of the body is encoded: no stored value
# can hold a NUL (they are refused on input), so it cannot collide with real data.
_SLOT = "\x00members-{}\x00"
_SAMPLE = ("sample-id", "sample display")


def group_body(
    group: Group, scim_base: str, projection: Projection | None, members: bool
) -> dict[str, Any]:
    """A group as SCIM JSON for ``streamed``: its members, if wanted, are a placeholder."""
    if not members:
        return group_resource(group, None, scim_base, projection)
    body = group_resource(group, [_SAMPLE], scim_base, projection)
    if body.get("members") == [group_member(*_SAMPLE, scim_base)]:
        body["members"] = _SLOT.format(group.id)
    elif "members" in body:
        # ``attributes`` picked sub-attributes of members (no client we know does): build
        # them in memory through the projection.
        body = group_resource(group, members_of([group])[group.id], scim_base, projection)
    return body


def _member_batches(group_id: int, scim_base: str) -> Iterator[bytes]:
    """The group's members as a JSON array, each batch encoded as the service reads it."""
    yield b"["
    separator = ""
    for batch in member_batches(group_id):
        members = [group_member(sid, shown, scim_base) for sid, shown in batch]
        text = json.dumps(members, ensure_ascii=False, separators=(",", ":"))[1:-1]
        yield (separator + text).encode()
        separator = ","
    yield b"]"


def streamed(
    body: dict[str, Any],
    groups: list[Group],
    scim_base: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A SCIM JSON response in which each group's placeholder becomes its members."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    parts: list[str | int] = []
    for group in groups:
        head, found, rest = text.partition(json.dumps(_SLOT.format(group.id)))
        if found:
            parts += [head, group.id]
            text = rest
    parts.append(text)

    def generate() -> Iterator[bytes]:
        for part in parts:
            if isinstance(part, str):
                yield part.encode()
            else:
                yield from _member_batches(part, scim_base)

    response = current_app.response_class(
        stream_with_context(generate()), status=status, mimetype=SCIM_MEDIA_TYPE
    )
    response.headers.update(headers or {})
    return response
