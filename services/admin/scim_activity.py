"""Remember each integration's last SCIM request for the dashboard, cheaply.

Writing on every request would make every Okta GET a database write; instead each process
records a successful request at most once a second per integration (losing that detail
on restart is harmless), and always records failures. A success right after a failure
this process recorded is recorded at once too, so the dashboard does not go on showing a
failure that Okta's next requests got past. (A success served by another process waits
for that process's own once-a-second turn.)
"""

from __future__ import annotations

import threading
import time

from peewee import fn

from models import Integration, utcnow

MIN_INTERVAL_SECONDS = 1.0
_last_write: dict[str, float] = {}
# Integrations whose last request recorded by this process was a failure.
_failure_shown: set[str] = set()
_lock = threading.Lock()


def note_request(integration_id: str, request_line: str, status: int) -> None:
    """Record ``METHOD /path`` and the status answered, if it is time to."""
    if not _due(integration_id, failed=status >= 400):
        return
    now = utcnow()
    (
        Integration.update(
            last_scim_at=now,
            last_scim_request=request_line[:300],
            last_scim_status=status,
            first_scim_at=fn.COALESCE(Integration.first_scim_at, now),
        )
        .where(Integration.id == integration_id)
        .execute()
    )


def _due(integration_id: str, *, failed: bool) -> bool:
    """Whether to record a request now, noting it as recorded if so.

    Always for a failure, and for a success that follows a recorded failure; otherwise
    once per ``MIN_INTERVAL_SECONDS``.
    """
    now = time.monotonic()
    with _lock:
        throttled = now - _last_write.get(integration_id, 0.0) < MIN_INTERVAL_SECONDS
        if throttled and not failed and integration_id not in _failure_shown:
            return False
        _last_write[integration_id] = now
        if failed:
            _failure_shown.add(integration_id)
        else:
            _failure_shown.discard(integration_id)
    return True
