"""System Log backfill: store the events the event hook never delivered.

Okta delivers each event hook with one retry and then drops it, so a restart, a deploy or an
outage loses suspend, deactivate and delete events silently. Every OKTA_BACKFILL_MINUTES the
worker asks Okta's System Log (``GET /api/v1/logs``) for the event types we act on, from where
the last pass stopped (at most OKTA_BACKFILL_LOOKBACK_HOURS back) until now, following
``rel="next"`` links. Each event goes through the hook's own path (validation, storage deduped
on ``uuid``), so the worker applies it in ``published`` order like any delivered event; the
delivery row says ``backfill``. Events the hook never delivered are counted
(``scim_onboard_backfill_missed_events_total``) and shown on the dashboard.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from hooks.envelope import Delivery, MalformedDeliveryError, ParsedEvent, parse_event
from hooks.handlers import HANDLERS
from hooks.receiving import store_delivery
from models import Integration, OktaEvent, utcnow
from services.okta.connection import LOGS_SCOPE, client_for, okta_ready
from services.okta.errors import OktaError
from services.okta.periodic import take_turn
from services.platform import metrics
from services.platform.job_runner import JobContext
from services.platform.settings import hours, setting

log = logging.getLogger(__name__)

_LOOKUP_CHUNK = 500  # uuids per "already stored?" query (SQLite's variable limit is higher)


@dataclass(frozen=True)
class BackfillResult:
    stored: int
    known: int

    def summary(self) -> str:
        """The CLI's last line."""
        return f"stored {self.stored} new events ({self.known} already known)"


#: Each pass re-reads this much before where the last one stopped: the System Log can list
#: an event a little after its ``published`` time, and re-read events are deduplicated.
OVERLAP = dt.timedelta(minutes=10)


def default_since(integration: Integration) -> dt.datetime:
    """Where the next pass starts: a little before the last pass's end, within the look-back.

    Not the newest stored event: after an outage the hook delivers new events while the ones
    it dropped are older, and only the log read position says what has been checked.
    """
    floor = utcnow() - hours("OKTA_BACKFILL_LOOKBACK_HOURS")
    through = (
        Integration.select(Integration.backfilled_through)
        .where(Integration.id == integration.id)
        .scalar()
    )
    return max(through - OVERLAP, floor) if through else floor


def backfill(integration: Integration, since: dt.datetime | None = None) -> BackfillResult:
    """One pass; returns how many events were new and how many were already stored.

    The read position advances only after the events are stored, so a pass that dies (or
    that Okta cuts short) is read again by the next one.

    :raises OktaError: Okta's System Log could not be read (what was stored so far stays).
    """
    client = client_for(integration, LOGS_SCOPE)
    planned = default_since(integration)
    start = since or planned
    until = utcnow()
    events: list[ParsedEvent] = []
    refused: list[str] = []
    for raw in client.system_log(start, until, HANDLERS.keys()):
        try:
            events.append(parse_event(raw))
        except MalformedDeliveryError as exc:
            refused.append(f"{raw.get('uuid')}: {exc}")
    unseen = _not_stored(integration, events)
    new = 0
    if unseen or refused:  # a pass that only re-read known events leaves no delivery row
        record = store_delivery(integration, Delivery(None, unseen, refused), source="backfill")
        new = record.new_events
    if start <= planned:  # read from where we had got to (or earlier): no gap behind ``until``
        Integration.update(backfilled_through=until).where(
            Integration.id == integration.id
        ).execute()
    if new:
        metrics.backfill_missed(new)
        log.warning(
            "backfill stored %d event(s) the hook never delivered for %s", new, integration.name
        )
    return BackfillResult(new, len(events) - new)


def _not_stored(integration: Integration, events: list[ParsedEvent]) -> list[ParsedEvent]:
    """The events whose ``uuid`` this integration has not stored yet (order kept)."""
    uuids = [event.uuid for event in events]
    known: set[str] = set()
    for start in range(0, len(uuids), _LOOKUP_CHUNK):
        chunk = uuids[start : start + _LOOKUP_CHUNK]
        query = OktaEvent.select(OktaEvent.uuid).where(
            OktaEvent.integration == integration.id, OktaEvent.uuid.in_(chunk)
        )
        known.update(uuid for (uuid,) in query.tuples())
    return [event for event in events if event.uuid not in known]


def backfill_due(context: JobContext) -> int:
    """Worker job: one backfill pass per ready integration every OKTA_BACKFILL_MINUTES."""
    minutes = setting("OKTA_BACKFILL_MINUTES")
    if not minutes:
        return 0
    interval = dt.timedelta(minutes=minutes)
    passes = 0
    for integration in Integration.select().where(Integration.group_id.is_null(False)):
        if okta_ready(integration) or not take_turn(
            integration, Integration.backfilled_at, interval
        ):
            continue
        passes += 1
        try:
            backfill(integration)
        except OktaError as exc:
            log.warning("System Log backfill for %s failed: %s", integration.name, exc)
    return passes
