"""Remember each integration's last SCIM request for the dashboard, cheaply.

Writing on every request would make every Okta GET a database write; instead each process
records a successful request at most once a second per integration (losing that detail
on restart is harmless), and always records failures.
"""

from __future__ import annotations

import threading
import time

from models import Integration, utcnow

MIN_INTERVAL_SECONDS = 1.0
_last_write: dict[str, float] = {}
_lock = threading.Lock()


def note_request(integration_id: str, request_line: str, status: int) -> None:
    """Record ``METHOD /path`` and the status answered, if it is time to."""
    now = time.monotonic()
    with _lock:
        due = now - _last_write.get(integration_id, 0.0) >= MIN_INTERVAL_SECONDS
        if not due and status < 400:
            return
        _last_write[integration_id] = now
    (
        Integration.update(
            last_scim_at=utcnow(), last_scim_request=request_line[:300], last_scim_status=status
        )
        .where(Integration.id == integration_id)
        .execute()
    )
