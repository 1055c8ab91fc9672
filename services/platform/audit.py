"""Append entries to the audit log (inside the caller's transaction)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ParamSpec

import row_writes
from models import AuditEntry, Integration


@dataclass(frozen=True)
class Actor:
    """Who made a change: a SCIM token, an Okta event, an admin, enrollment or the system."""

    type: str
    id: str | None = None

    @classmethod
    def scim_token(cls, token_id: int) -> Actor:
        """The SCIM token with this id."""
        return cls("scim_token", str(token_id))


SYSTEM = Actor("system")
P = ParamSpec("P")


def entry(
    integration: Integration | str | None,
    actor: Actor,
    action: str,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    changed: Iterable[str] = (),
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """An audit entry, not yet written (for :class:`row_writes.RowWrites`)."""
    return AuditEntry(
        integration=integration,
        actor_type=actor.type,
        actor_id=actor.id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        changed=sorted(set(changed)),
        detail=detail or {},
    )


def _written(build: Callable[P, AuditEntry]) -> Callable[P, AuditEntry]:
    def write(*args: P.args, **kwargs: P.kwargs) -> AuditEntry:
        return row_writes.insert_row(build(*args, **kwargs))

    write.__doc__ = "Append one audit entry (what :func:`entry` builds)."
    return write


#: Append one audit entry now, inside the caller's transaction; it takes what ``entry`` takes.
record = _written(entry)
