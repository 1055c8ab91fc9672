"""Periodic per-integration work (reconciliation, backfill, credential checks) shared by
several worker processes: whoever moves an integration's timestamp first takes the turn."""

from __future__ import annotations

import datetime as dt

from peewee import Field

from models import Integration, utcnow


def take_turn(integration: Integration, column: Field, interval: dt.timedelta) -> bool:
    """Claim this integration's pass if ``column`` is older than ``interval``.

    Never run: the first pass comes one interval after the last settings change (not while an
    admin is still setting up).
    """
    cutoff = utcnow() - interval
    return bool(
        Integration.update({column: utcnow()})
        .where(
            Integration.id == integration.id,
            (column.is_null() & (Integration.updated < cutoff)) | (column < cutoff),
        )
        .execute()
    )
