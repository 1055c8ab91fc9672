"""Store an Okta Event Hook delivery durably, fast: processing happens in the worker."""

from __future__ import annotations

import datetime as dt
import json

from peewee import SQL, Node

import database
from extensions import db
from hooks.envelope import Delivery
from models import HookDelivery, Integration, OktaEvent, utcnow
from services.platform import metrics, wakeup

_COLUMNS = (
    "integration",
    "delivery",
    "uuid",
    "event_type",
    "published",
    "received",
    "target_id",
    "target_login",
    "payload",
    "attempts",
)
_insert_sql_by_database: dict[type, str] = {}
REJECTIONS_KEPT_PER_MINUTE = 60


def _insert_sql() -> str:
    """One row's INSERT ... ON CONFLICT DO NOTHING, compiled once per database kind.

    A delivery carries up to dozens of events; building the multi-row INSERT through the
    query builder costs more than the database takes to run it (Okta waits only 3 s).
    """
    kind = type(db.obj)
    if kind not in _insert_sql_by_database:
        placeholders = {getattr(OktaEvent, name): SQL(db.obj.param) for name in _COLUMNS}
        sql, _ = OktaEvent.insert(placeholders).on_conflict_ignore().sql()
        _insert_sql_by_database[kind] = sql
    return _insert_sql_by_database[kind]


def _row(**values: object) -> tuple[object, ...]:
    """Values in column order, converted the way each field stores them."""
    converted = []
    for name in _COLUMNS:
        value = getattr(OktaEvent, name).db_value(values[name])
        if isinstance(value, Node):
            # SQLite's JSONField wraps its value in json(?): bind the text itself.
            value = json.dumps(values[name])
        converted.append(value)
    return tuple(converted)


def _refusals(refused: list[str]) -> str | None:
    """What the deliveries page shows for the malformed events of an accepted delivery."""
    if not refused:
        return None
    return (f"refused {len(refused)} malformed event(s): " + "; ".join(refused))[:1000]


def store_delivery(
    integration: Integration,
    delivery: Delivery,
    source: str = "hook",
    received: dt.datetime | None = None,
) -> HookDelivery:
    """Record the delivery and its events in one transaction; duplicates (same ``uuid``)
    are recorded once. Returns the delivery row (``new_events`` counts the new ones).

    ``received`` is when we answered Okta, if that was earlier (a spooled delivery)."""
    now = received or utcnow()
    with database.durable_commits(), db.atomic():
        record = HookDelivery.create(
            integration=integration.id,
            event_id=delivery.event_id,
            received=now,
            status=200,
            events=len(delivery.events) + len(delivery.refused),
            error=_refusals(delivery.refused),
            source=source,
        )
        rows = [
            _row(
                integration=integration.id,
                delivery=record.id,
                uuid=event.uuid,
                event_type=event.event_type,
                published=event.published,
                received=now,
                target_id=event.target_id,
                target_login=event.target_login,
                payload=event.payload,
                attempts=0,
            )
            for event in delivery.events
        ]
        if rows:
            db.cursor().executemany(_insert_sql(), rows)
        # A duplicate keeps the delivery it first came in: what carries this one's id is new.
        inserted = OktaEvent.select().where(OktaEvent.delivery == record.id).count()
        if inserted != record.new_events:
            record.new_events = inserted
            record.save(only=[HookDelivery.new_events])
    metrics.okta_events_received(len(delivery.events), inserted)
    if inserted:
        wakeup.wake()
    return record


def record_rejected(integration: Integration, status: int, error: str) -> None:
    """Keep a trace of a delivery we refused, for the admin pages.

    Anyone who knows the URL can be refused: past ``REJECTIONS_KEPT_PER_MINUTE`` in a minute
    for one integration, further refusals are counted in the metrics but not stored.
    """
    now = utcnow()
    with db.atomic():
        recent = (
            HookDelivery.select()
            .where(
                HookDelivery.integration == integration.id,
                HookDelivery.received > now - dt.timedelta(minutes=1),
                HookDelivery.status != 200,
            )
            .count()
        )
        if recent < REJECTIONS_KEPT_PER_MINUTE:
            HookDelivery.create(
                integration=integration.id, received=now, status=status, error=error[:1000]
            )
