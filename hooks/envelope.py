"""Parse and validate Okta Event Hook deliveries (docs/okta.md §3.5) with marshmallow."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

# Okta amalgamates events that happen close together; far more than this in one POST is
# not a delivery Okta would make.
MAX_EVENTS = 1000


class _Open(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE


class EntitySchema(_Open):
    """An actor or target (docs/okta.md §3.5)."""

    id = fields.String(allow_none=True, validate=validate.Length(max=255))
    type = fields.String(allow_none=True, validate=validate.Length(max=255))
    alternateId = fields.String(allow_none=True, validate=validate.Length(max=1024))
    displayName = fields.String(allow_none=True, validate=validate.Length(max=1024))


class OutcomeSchema(_Open):
    """An event's outcome: ``result`` is compared case-insensitively (Okta varies)."""

    result = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


class EventSchema(_Open):
    """One System Log event inside ``data.events``."""

    uuid = fields.String(required=True, validate=validate.Length(min=1, max=100))
    published = fields.AwareDateTime(required=True, default_timezone=dt.UTC)
    eventType = fields.String(required=True, validate=validate.Length(min=1, max=200))
    actor = fields.Nested(EntitySchema, allow_none=True)
    target = fields.List(fields.Nested(EntitySchema), allow_none=True)
    outcome = fields.Nested(OutcomeSchema, allow_none=True)


class DataSchema(_Open):
    """The ``data`` object of a delivery: each event is validated on its own (EventSchema)."""

    events = fields.List(fields.Raw(), required=True, validate=validate.Length(max=MAX_EVENTS))


class EnvelopeSchema(_Open):
    """The delivery envelope Okta POSTs."""

    eventType = fields.String(required=True)
    eventTypeVersion = fields.String(allow_none=True)
    eventId = fields.String(allow_none=True, validate=validate.Length(max=100))
    eventTime = fields.String(allow_none=True)
    data = fields.Nested(DataSchema, required=True)


_ENVELOPE = EnvelopeSchema()
_EVENT = EventSchema()


class MalformedDeliveryError(Exception):
    """The delivery is not a valid Okta Event Hook payload; the message says where."""


@dataclass(frozen=True)
class ParsedEvent:
    """What we need from one event, plus the raw event as delivered."""

    uuid: str
    event_type: str
    published: dt.datetime
    target_id: str | None
    target_login: str | None
    has_actor: bool
    outcome: str | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class Delivery:
    """A validated delivery: its well-formed events, and why each other one was refused."""

    event_id: str | None
    events: list[ParsedEvent]
    refused: list[str]


def _user_target(targets: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    # Targets are chosen by type, never by position: group membership events list a
    # UserGroup beside the User (docs/okta.md §3.5).
    for target in targets or []:
        if (target.get("type") or "").lower() == "user":
            return target
    return None


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    if isinstance(messages, dict):
        return [
            line
            for key, value in messages.items()
            for line in _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        ]
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix}: {' '.join(messages)}"]
    return [f"{prefix}: {messages}"]


def _load(schema: ma.Schema, raw: Any, what: str) -> dict[str, Any]:
    """``raw`` validated by ``schema``.

    :raises MalformedDeliveryError: ``raw`` is not an object, or naming its first problems.
    """
    if not isinstance(raw, dict):
        raise MalformedDeliveryError(f"{what} must be a JSON object")
    try:
        return dict(schema.load(raw))
    except ma.ValidationError as exc:
        raise MalformedDeliveryError("; ".join(_flatten(exc.messages)[:10])) from None


def parse_delivery(body: Any) -> Delivery:
    """Validate a delivery body and extract its events.

    :raises MalformedDeliveryError: naming the first problems found.
    """
    envelope = _load(_ENVELOPE, body, "the body")
    events: list[ParsedEvent] = []
    refused: list[str] = []
    for index, raw in enumerate(envelope["data"]["events"]):
        try:
            events.append(parse_event(raw))
        except MalformedDeliveryError as exc:
            uuid = raw.get("uuid") if isinstance(raw, dict) else None
            shown = f" ({str(uuid)[:100]})" if isinstance(uuid, str) and uuid else ""
            refused.append(f"data.events.{index}{shown}: {exc}")
    return Delivery(event_id=envelope.get("eventId"), events=events, refused=refused)


def parse_event(raw: Any) -> ParsedEvent:
    """One event of ``data.events``.

    :raises MalformedDeliveryError: naming what is wrong with it.
    """
    loaded = _load(_EVENT, raw, "an event")
    try:
        published = loaded["published"].astimezone(dt.UTC).replace(tzinfo=None)
    except OverflowError:
        raise MalformedDeliveryError("published: not a time in UTC years 1 to 9999") from None
    target = _user_target(loaded.get("target"))
    outcome = loaded.get("outcome") or {}
    return ParsedEvent(
        uuid=loaded["uuid"],
        event_type=loaded["eventType"],
        published=published,
        target_id=target.get("id") if target else None,
        target_login=target.get("alternateId") if target else None,
        has_actor=bool(loaded.get("actor")),
        outcome=(outcome.get("result") or None),
        payload=raw,
    )
