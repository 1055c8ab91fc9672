"""System Log backfill: store the events the event hook never delivered.

Okta delivers each event hook with one retry and then drops it, so a restart, a deploy or an
outage loses suspend, deactivate and delete events silently. Every OKTA_BACKFILL_MINUTES the
worker asks Okta's System Log (``GET /api/v1/logs``) for the event types we act on, from the
newest event already stored (at most OKTA_BACKFILL_LOOKBACK_HOURS back) until now, following
``rel="next"`` links. Each event goes through the hook's own path (validation, storage deduped
on ``uuid``), so the worker applies it in ``published`` order like any delivered event; the
delivery row says ``backfill``. Events the hook never delivered are counted
(``scim_onboard_backfill_missed_events_total``) and shown on the dashboard.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from peewee import fn

from hooks.envelope import Delivery, MalformedDeliveryError, parse_event
from hooks.handlers import HANDLERS
from hooks.receiving import store_delivery
from models import Integration, OktaEvent, utcnow
from services import metrics
from services.okta import LOGS_SCOPE, client_for, okta_ready
from services.okta_client import OktaError
from services.periodic import take_turn
from services.settings import hours, setting
from services.worker import JobContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackfillResult:
    stored: int
    known: int

    def summary(self) -> str:
        """The CLI's last line."""
        return f"stored {self.stored} new events ({self.known} already known)"


def default_since(integration: Integration) -> dt.datetime:
    """The newest stored event's time, bounded by the look-back."""
    floor = utcnow() - hours("OKTA_BACKFILL_LOOKBACK_HOURS")
    newest = (
        OktaEvent.select(fn.MAX(OktaEvent.published))
        .where(OktaEvent.integration == integration.id)
        .scalar()
    )
    return max(newest, floor) if newest else floor


def backfill(integration: Integration, since: dt.datetime | None = None) -> BackfillResult:
    """One pass; returns how many events were new and how many were already stored.

    :raises OktaError: Okta's System Log could not be read (what was stored so far stays).
    """
    client = client_for(integration, LOGS_SCOPE)
    start = since or default_since(integration)
    events, refused = [], []
    for raw in client.system_log(start, utcnow(), HANDLERS.keys()):
        try:
            events.append(parse_event(raw))
        except MalformedDeliveryError as exc:
            refused.append(f"{raw.get('uuid')}: {exc}")
    if not events and not refused:
        return BackfillResult(0, 0)
    record = store_delivery(integration, Delivery(None, events, refused), source="backfill")
    if record.new_events:
        metrics.backfill_missed(record.new_events)
        log.warning(
            "backfill stored %d event(s) the hook never delivered for %s",
            record.new_events,
            integration.name,
        )
    return BackfillResult(record.new_events, len(events) - record.new_events)


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
