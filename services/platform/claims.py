"""Leases on work rows, so several workers share a queue without doing the same work twice.

A worker claims rows by writing its name and a lease expiry on them; a worker that dies
simply lets its leases run out, and the rows become claimable again (the periodic sweep
is built into every claim). On Postgres the candidate rows are locked with
FOR UPDATE SKIP LOCKED while the lease is written, so concurrent workers never collide.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import database
from extensions import db
from models import utcnow


def lease_is_free(model: Any, now: dt.datetime) -> Any:
    """Rows nobody holds, or whose holder's lease ran out."""
    return model.lease_until.is_null() | (model.lease_until < now)


def claim(
    model: Any,
    ready: Any,
    order: list[Any],
    owner: str,
    lease: dt.timedelta,
    limit: int,
) -> list[Any]:
    """Lease up to ``limit`` rows of ``model`` matching ``ready`` to ``owner``."""
    now = utcnow()
    free = lease_is_free(model, now)
    with db.atomic():
        candidates = model.select(model.id).where(ready, free).order_by(*order).limit(limit)
        if database.is_postgres():
            candidates = candidates.for_update(skip_locked=True)
        ids = [row_id for (row_id,) in candidates.tuples()]
        if not ids:
            return []
        (
            model.update(lease_owner=owner, lease_until=now + lease)
            .where(model.id.in_(ids), free)
            .execute()
        )
        rows = list(
            model.select().where(model.id.in_(ids), model.lease_owner == owner).order_by(*order)
        )
    return rows


def release(row: Any, **changes: Any) -> None:
    """Write ``changes`` and give the row's lease back, if this worker still holds it."""
    model = type(row)
    changes.update(lease_owner=None, lease_until=None)
    (
        model.update(**changes)
        .where(model.id == row.id, model.lease_owner == row.lease_owner)
        .execute()
    )
