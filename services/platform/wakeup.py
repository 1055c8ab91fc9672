"""Wake an in-process worker as soon as there is new work, instead of at its next poll."""

from __future__ import annotations

import threading

_work_arrived = threading.Event()


def wake() -> None:
    """Signal that new work was queued (after the current transaction commits)."""
    _work_arrived.set()


def wait(timeout: float) -> bool:
    """Sleep until woken or ``timeout`` seconds pass; True when woken."""
    woken = _work_arrived.wait(timeout)
    _work_arrived.clear()
    return woken
