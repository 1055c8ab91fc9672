"""Prometheus metrics: counters the code increments, and work queues counted at scrape time.

With ``PROMETHEUS_MULTIPROC_DIR`` set (before the process starts), prometheus_client keeps
every counter in a file under that directory, and a scrape adds up the files of every
process: each gunicorn worker and each ``flask worker`` on the host. Otherwise the counters
live in this process's default registry.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

PREFIX = "scim_onboard_"
MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

SCIM_OPERATIONS = ("create", "replace", "patch", "delete", "get", "list", "search")
SCIM_RESOURCES = ("User", "Group")
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")
EMAIL_OUTCOMES = ("sent", "retry", "failed", "in_doubt", "cancelled")
EMAIL_QUEUE_STATES = ("queued", "sending", "failed")
GROUP_SYNC_QUEUE_STATES = ("pending", "waiting", "failed")
# Outcomes of hooks.processing._decide; a type the service does not act on is counted as
# "other", so the label's values stay few whatever Okta is set to send.
UNHANDLED_EVENT_OUTCOME = "unhandled_type"
OTHER = "other"
_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Okta must hear back from an event hook within 3 s; SCIM calls should take milliseconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    PREFIX + "http_requests",
    "HTTP requests answered, by Flask endpoint, method and status code.",
    ["endpoint", "method", "status"],
)
HTTP_LATENCY = Histogram(
    PREFIX + "http_request_duration_seconds",
    "Time to answer an HTTP request, by Flask endpoint.",
    ["endpoint"],
    buckets=LATENCY_BUCKETS,
)
SCIM_REQUESTS = Counter(
    PREFIX + "scim_operations",
    "SCIM operations by type, resource and outcome status class.",
    ["operation", "resource", "status_class"],
)
HOOK_DELIVERIES = Counter(
    PREFIX + "okta_hook_deliveries",
    "Okta Event Hook deliveries (POSTs) by the status they were answered with.",
    ["status"],
)
EVENTS_RECEIVED = Counter(
    PREFIX + "okta_events_received",
    "Okta events received in hook deliveries: new ones, and duplicates of stored ones.",
    ["kind"],
)
DELIVERIES_SPOOLED = Counter(
    PREFIX + "okta_deliveries_spooled",
    "Okta hook deliveries written to the local spool because SQLite's write lock was taken.",
)
EVENTS_PROCESSED = Counter(
    PREFIX + "okta_events_processed",
    "Okta events the worker processed, by event type and outcome.",
    ["event_type", "outcome"],
)
EMAILS = Counter(
    PREFIX + "emails",
    "Welcome-email send attempts by outcome.",
    ["outcome"],
)
OKTA_API_CALLS = Counter(
    PREFIX + "okta_api_calls",
    "Okta API requests by HTTP method and the status Okta answered ('error': no answer).",
    ["method", "status"],
)
BACKFILL_MISSED = Counter(
    PREFIX + "backfill_missed_events",
    "Okta events found in the System Log by backfill that the event hook never delivered.",
)
GRANTS_REFUSED = Counter(
    PREFIX + "okta_grants_refused",
    "Additions to the passwordless group refused because Okta did not confirm the user, "
    "by reason (identity_mismatch, not_assigned, okta_status, no_enrollment_address).",
    ["reason"],
)

# Series that exist from the start read as 0 rather than missing, so rate() and alerts on
# them work before the first failure happens.
for _outcome in EMAIL_OUTCOMES:
    EMAILS.labels(_outcome)
for _kind in ("new", "duplicate"):
    EVENTS_RECEIVED.labels(_kind)
for _reason in ("identity_mismatch", "not_assigned", "okta_status", "no_enrollment_address"):
    GRANTS_REFUSED.labels(_reason)


def status_class(status: int) -> str:
    """``4xx`` for 404, and so on."""
    return f"{status // 100}xx"


def observe_request(endpoint: str, method: str, status: int, seconds: float | None) -> None:
    """Count one answered HTTP request and, when it was timed, its latency."""
    shown_method = method if method in _HTTP_METHODS else OTHER
    HTTP_REQUESTS.labels(endpoint, shown_method, str(status)).inc()
    if seconds is not None:
        HTTP_LATENCY.labels(endpoint).observe(seconds)


def scim_operation(operation: str, resource: str, status: int) -> None:
    """Count one SCIM operation (``create`` … ``search`` on ``User``/``Group``)."""
    SCIM_REQUESTS.labels(operation, resource, status_class(status)).inc()


def hook_delivery(status: int) -> None:
    """Count one Okta Event Hook delivery by the status it was answered with."""
    HOOK_DELIVERIES.labels(str(status)).inc()


def okta_events_received(total: int, new: int) -> None:
    """Count the events of one stored delivery: ``new`` of ``total`` were not seen before."""
    EVENTS_RECEIVED.labels("new").inc(new)
    EVENTS_RECEIVED.labels("duplicate").inc(max(total - new, 0))


def okta_deliveries_spooled() -> None:
    """Count one delivery spooled while the database was busy."""
    DELIVERIES_SPOOLED.inc()


def okta_event_processed(event_type: str, outcome: str) -> None:
    """Count one processed Okta event."""
    shown_type = OTHER if outcome == UNHANDLED_EVENT_OUTCOME else event_type
    EVENTS_PROCESSED.labels(shown_type, outcome).inc()


def email_outcome(outcome: str) -> None:
    """Count one welcome-email send attempt's outcome (one of EMAIL_OUTCOMES)."""
    EMAILS.labels(outcome).inc()


def backfill_missed(count: int) -> None:
    """Count events that only backfill found (the hook was down or is broken)."""
    BACKFILL_MISSED.inc(count)


def grant_refused(reason: str) -> None:
    """Count one group addition refused by the grant checks (see services/okta/grant_checks.py)."""
    GRANTS_REFUSED.labels(reason).inc()


def okta_api_call(method: str, status: int | None) -> None:
    """Count one Okta API request; ``status`` None means it got no HTTP answer."""
    OKTA_API_CALLS.labels(method, "error" if status is None else str(status)).inc()


# --- scrape ----------------------------------------------------------------------------------


def gauge(name: str, documentation: str, label: str | None = None) -> GaugeMetricFamily:
    """A gauge family named with our prefix, with one label or none."""
    return GaugeMetricFamily(PREFIX + name, documentation, labels=[label] if label else None)


class WorkQueueCollector(Collector):
    """Queued and failed background work, counted in the database at each scrape.

    Counted rather than tracked with gauges: the rows are the truth, they change in
    several processes, and a gauge kept in memory would drift from them. ``counted`` adds
    gauges that other wings count the same way (reconciliation's drift), so that this module
    imports none of them.
    """

    def __init__(self, counted: Sequence[Callable[[], Iterable[Metric]]] = ()) -> None:
        self.counted = counted

    def collect(self) -> Iterable[Metric]:
        """Yield the work-queue gauges, and whether the database answered."""
        from peewee import PeeweeException

        up = gauge("database_up", "1 when the database answered the work-queue queries.")
        try:
            families: list[Metric] = list(_work_queue_gauges())
            for count in self.counted:
                families.extend(count())
        except PeeweeException:
            log.warning("metrics: the database did not answer the work-queue queries")
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [*families, up]


def _by_status(
    status: Any, states: Sequence[str], name: str, documentation: str
) -> GaugeMetricFamily:
    """A gauge of how many rows stand in each of ``states`` of a ``status`` column."""
    from peewee import fn

    counts = dict(
        status.model.select(status, fn.COUNT(status.model.id))
        .where(status.in_(states))
        .group_by(status)
        .tuples()
    )
    family = gauge(name, documentation, "status")
    for state in states:
        family.add_metric([state], counts.get(state, 0))
    return family


def _work_queue_gauges() -> Iterator[GaugeMetricFamily]:
    from models import GroupSync, Invitation, OktaEvent

    yield _by_status(
        Invitation.email_status,
        EMAIL_QUEUE_STATES,
        "emails_waiting",
        "Welcome emails not yet out (queued, sending) or failed for good.",
    )
    yield _by_status(
        GroupSync.status,
        GROUP_SYNC_QUEUE_STATES,
        "group_syncs_waiting",
        "Okta group membership changes not done: pending, waiting (Okta not usable), failed.",
    )
    family = gauge("okta_events_unprocessed", "Okta events received but not yet applied.")
    family.add_metric([], OktaEvent.select().where(OktaEvent.processed_at.is_null()).count())
    yield family


class _Forward(Collector):
    """Collect another registry's metrics (the default one) into a scrape's registry."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterable[Metric]:
        """Everything the source registry holds."""
        return self.source.collect()


def multiprocess_dir() -> str | None:
    """The directory of multiprocess mode, or None when it is off."""
    return os.environ.get(MULTIPROC_DIR_VARIABLE) or None


def render(*counted: Callable[[], Iterable[Metric]]) -> tuple[bytes, str]:
    """The metrics page in Prometheus' text format, and its content type.

    ``counted``: more gauges counted in the database at each scrape (see WorkQueueCollector).
    """
    registry = CollectorRegistry()
    if multiprocess_dir():
        # Every process's counters, added up; per-process metrics (memory, CPU) would mean
        # nothing summed, so the default registry's process collectors are left out.
        MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(WorkQueueCollector(counted))
    return generate_latest(registry), CONTENT_TYPE_LATEST
