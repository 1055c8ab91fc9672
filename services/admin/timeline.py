"""A user's timeline: SCIM operations, Okta events, emails and group changes, newest first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from models import AuditEntry, EmailEvent, GroupSync, Invitation, OktaEvent, User
from services.admin.audit_names import audit_names
from services.admin.setup_status import email_status_label

LIMIT = 200


@dataclass(frozen=True)
class Entry:
    """One thing that happened to the user."""

    at: dt.datetime
    kind: str  # scim, okta_event, email, group, lifecycle, admin
    title: str
    detail: str = ""
    outcome: str = ""
    # Who did it: a SCIM token by its label, an admin by email, an Okta event, the system.
    actor: str = ""


_AUDIT_KINDS = {"scim_token": "scim", "okta_event": "okta_event", "admin": "admin"}


def _actor(entry: AuditEntry, names: dict[tuple[str, str], str]) -> str:
    """The audit entry's actor as a person reads it: a token's label, not its number."""
    if entry.actor_type == "scim_token":
        label = names.get(("ScimToken", entry.actor_id or ""))
        return f"SCIM token “{label}”" if label else f"SCIM token {entry.actor_id or ''}".strip()
    if entry.actor_type == "okta_event":
        return "Okta event" + (f" {entry.actor_id}" if entry.actor_id else "")
    return entry.actor_type.replace("_", " ") + (f" {entry.actor_id}" if entry.actor_id else "")


def _audit(user: User) -> list[Entry]:
    entries = []
    rows = list(
        AuditEntry.select()
        .where(AuditEntry.target_type == "User", AuditEntry.target_id == user.scim_id)
        .order_by(AuditEntry.id.desc())
        .limit(LIMIT)
    )
    names = audit_names(rows)
    for entry in rows:
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
        entries.append(
            Entry(
                entry.created,
                kind,
                entry.action,
                "; ".join(detail_bits),
                outcome="recorded",
                actor=_actor(entry, names),
            )
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
            actor="Okta event hook",
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
                outcome=email_status_label(invitation),
                actor="system",
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
                    actor="SendGrid",
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
                actor="system",
            )
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:LIMIT]
