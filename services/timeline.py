"""A user's timeline: SCIM operations, Okta events, emails and group changes, newest first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from models import AuditEntry, EmailEvent, GroupSync, Invitation, OktaEvent, User

LIMIT = 200


@dataclass(frozen=True)
class Entry:
    """One thing that happened to the user."""

    at: dt.datetime
    kind: str  # scim, okta_event, email, group, lifecycle, admin
    title: str
    detail: str = ""
    outcome: str = ""


_AUDIT_KINDS = {"scim_token": "scim", "okta_event": "okta_event", "admin": "admin"}


def _audit(user: User) -> list[Entry]:
    entries = []
    for entry in (
        AuditEntry.select()
        .where(AuditEntry.target_type == "User", AuditEntry.target_id == user.scim_id)
        .order_by(AuditEntry.id.desc())
        .limit(LIMIT)
    ):
        kind = (
            "group"
            if entry.action.startswith("group.")
            else _AUDIT_KINDS.get(entry.actor_type, "lifecycle")
        )
        if entry.action.startswith("email."):
            kind = "email"
        changed = ", ".join(entry.changed or [])
        detail_bits = [f"changed: {changed}"] if changed else []
        detail_bits += [f"{k}: {v}" for k, v in (entry.detail or {}).items()]
        who = f"{entry.actor_type}" + (f" {entry.actor_id}" if entry.actor_id else "")
        entries.append(
            Entry(entry.created, kind, entry.action, "; ".join(detail_bits), outcome=who)
        )
    return entries


def _events(user: User) -> list[Entry]:
    return [
        Entry(
            event.received,
            "okta_event",
            event.event_type,
            event.outcome_detail or "",
            outcome=event.outcome or "pending",
        )
        for event in OktaEvent.select()
        .where(OktaEvent.user == user.id)
        .order_by(OktaEvent.id.desc())
        .limit(LIMIT)
    ]


def _emails(user: User) -> list[Entry]:
    entries: list[Entry] = []
    invitations = list(
        Invitation.select().where(Invitation.user == user.id).order_by(Invitation.id.desc())
    )
    for invitation in invitations:
        entries.append(
            Entry(
                invitation.created,
                "email",
                f"invitation #{invitation.id} ({invitation.reason})",
                invitation.last_error or "",
                outcome=invitation.email_status,
            )
        )
    if invitations:
        for event in EmailEvent.select().where(
            EmailEvent.invitation.in_([i.id for i in invitations])
        ):
            entries.append(
                Entry(
                    event.occurred,
                    "email",
                    f"SendGrid: {event.event} (invitation #{event.invitation_id})",
                    event.reason or "",
                    outcome=event.event,
                )
            )
    return entries


def user_timeline(user: User) -> list[Entry]:
    """Everything recorded about the user, newest first."""
    entries = _audit(user) + _events(user) + _emails(user)
    sync = GroupSync.get_or_none(GroupSync.user == user.id)
    if sync is not None and sync.status != "done":
        entries.append(
            Entry(
                sync.updated,
                "group",
                f"group sync {sync.status}",
                sync.last_error or "",
                outcome=f"want {sync.desired}",
            )
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:LIMIT]
