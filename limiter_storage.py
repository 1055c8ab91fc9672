"""The limiter's ``memory://`` storage, without a timer thread per request.

``limits``' MemoryStorage starts a ``threading.Timer`` on every counted hit whose previous
timer has finished (about 1 ms each, most SCIM requests). Counters already expire when they
are read, so the sweep only has to bound memory: here it runs inline, at most once a second.
"""

from __future__ import annotations

import time

from limits.storage import MemoryStorage

SWEEP_INTERVAL_SECONDS = 1.0


class ThreadlessMemoryStorage(MemoryStorage):
    """MemoryStorage whose expired counters are swept in the caller's thread, once a second.

    Registered for the ``memory`` scheme (``limits`` keeps the last class that names a
    scheme), so RATELIMIT_STORAGE_URI=memory:// selects it.
    """

    STORAGE_SCHEME = ["memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_sweep = time.monotonic() + SWEEP_INTERVAL_SECONDS

    # MemoryStorage calls its private hook by this (mangled) name.
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_INTERVAL_SECONDS
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
