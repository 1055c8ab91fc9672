"""A durable local spool for Okta deliveries that could not get SQLite's write lock in time.

SQLite has one write lock for the whole database. Another integration's long SCIM write can
hold it for up to ``SCIM_QUERY_TIMEOUT_MS``, longer than the 3 seconds Okta waits for a hook's
answer, and Okta retries a delivery only once. So on SQLite a delivery waits for the lock at
most ``LOCK_WAIT_SECONDS``; if the lock is still taken, the authenticated and validated body is
written to a file next to the database (fsynced, then renamed into place), Okta gets its 200,
and the worker stores the file's events as soon as the lock is free. Postgres locks rows, not
the database, so there a delivery is always stored at once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
import uuid
from pathlib import Path

from peewee import OperationalError

import database
from hooks.envelope import Delivery, MalformedDeliveryError, parse_delivery
from hooks.receiving import store_delivery
from models import Integration, utcnow
from services.platform import metrics, wakeup
from services.platform.inbound_json import InboundJsonError, parse_body
from services.platform.job_runner import JobContext

log = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 1.0


def spool_directory() -> Path | None:
    """Where spooled deliveries wait: beside the SQLite file (None on Postgres)."""
    path = database.sqlite_path()
    return None if path is None else path.with_name(f"{path.name}.hook-spool")


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def spool(directory: Path, integration: Integration, body: bytes, received: dt.datetime) -> Path:
    """Write one delivery durably (owner-only) and return its file."""
    directory.mkdir(mode=0o700, exist_ok=True)
    name = f"{received:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex}.json"
    staged = directory / f".{name}.tmp"
    record = {
        "integration": integration.id,
        "received": received.isoformat(),
        "body": body.decode("utf-8"),
    }
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, json.dumps(record).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    final = directory / name
    os.replace(staged, final)
    _fsync_directory(directory)
    return final


# A claimed file whose worker died before storing it is taken up again after this long.
STALE_CLAIM_SECONDS = 60


def _claim(path: Path) -> Path | None:
    """Take a spooled file for this worker (a rename: only one worker wins it)."""
    claimed = path if path.suffix == ".claimed" else path.with_name(f"{path.name}.claimed")
    try:
        if claimed != path:
            os.rename(path, claimed)
        os.utime(claimed)
    except FileNotFoundError:
        return None  # another worker took it
    return claimed


def _waiting(directory: Path) -> list[Path]:
    """Spooled files, oldest first, with claims abandoned by a worker that died."""
    stale_before = time.time() - STALE_CLAIM_SECONDS
    abandoned = [
        path for path in directory.glob("*.json.claimed") if path.stat().st_mtime < stale_before
    ]
    return sorted([*directory.glob("*.json"), *abandoned], key=lambda path: path.name)


def drain(context: JobContext) -> int:
    """Worker job: store every spooled delivery, oldest first; returns how many."""
    directory = spool_directory()
    if directory is None or not directory.is_dir():
        return 0
    stored = 0
    for waiting in _waiting(directory):
        path = _claim(waiting)
        if path is None:
            continue
        record = json.loads(path.read_text())
        integration = Integration.get_or_none(Integration.id == record["integration"])
        if integration is None:
            log.warning("dropping a spooled hook delivery of a deleted integration: %s", path.name)
        else:
            try:
                delivery = parse_delivery(parse_body(record["body"].encode()))
            except (InboundJsonError, MalformedDeliveryError):  # validated before spooling
                log.exception("spooled hook delivery %s no longer parses", path.name)
                path.rename(path.with_suffix(".unreadable"))
                continue
            received = dt.datetime.fromisoformat(record["received"])
            store_delivery(integration, delivery, received=received)
        path.unlink()
        stored += 1
    return stored


def store_or_spool(integration: Integration, delivery: Delivery, body: bytes) -> None:
    """Store a delivery now, or spool it if SQLite's write lock stays taken too long."""
    directory = spool_directory()
    if directory is None:
        store_delivery(integration, delivery)
        return
    received = utcnow()
    try:
        with database.lock_wait(LOCK_WAIT_SECONDS):
            store_delivery(integration, delivery, received=received)
    except OperationalError as exc:
        if "locked" not in str(exc):
            raise
        path = spool(directory, integration, body, received)
        log.warning("database busy: hook delivery for %s spooled as %s", integration.id, path.name)
        metrics.okta_deliveries_spooled()
        wakeup.wake()
