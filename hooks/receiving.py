"""Store an Okta Event Hook delivery durably, fast: processing happens in the worker."""

from __future__ import annotations

from peewee import chunked

from extensions import db
from hooks.envelope import Delivery
from models import HookDelivery, Integration, OktaEvent, utcnow
from services import wakeup


def store_delivery(integration: Integration, delivery: Delivery) -> HookDelivery:
    """Record the delivery and its events in one transaction; duplicates (same ``uuid``)
    are recorded once. Returns the delivery row (``new_events`` counts the new ones)."""
    now = utcnow()
    with db.atomic():
        record = HookDelivery.create(
            integration=integration.id,
            event_id=delivery.event_id,
            received=now,
            status=200,
            events=len(delivery.events),
        )
        rows = [
            {
                "integration": integration.id,
                "delivery": record.id,
                "uuid": event.uuid,
                "event_type": event.event_type,
                "published": event.published,
                "received": now,
                "target_id": event.target_id,
                "target_login": event.target_login,
                "payload": event.payload,
            }
            for event in delivery.events
        ]
        inserted = 0
        for batch in chunked(rows, 100):
            inserted += int(
                OktaEvent.insert_many(batch).on_conflict_ignore().as_rowcount().execute() or 0
            )
        if inserted != record.new_events:
            record.new_events = inserted
            record.save(only=[HookDelivery.new_events])
    if inserted:
        wakeup.wake()
    return record


def record_rejected(integration: Integration, status: int, error: str) -> None:
    """Keep a trace of a delivery we refused, for the admin pages."""
    with db.atomic():
        HookDelivery.create(integration=integration.id, status=status, error=error[:1000])
