"""Rows written together: all of them or none, on SQLite and Postgres."""

from __future__ import annotations

from typing import Any

import pytest
from peewee import IntegrityError

from database import CompiledQuery, is_postgres
from models import AuditEntry, Invitation, User, utcnow
from row_writes import RowWrites

_rename = CompiledQuery(
    User,
    lambda old, new: User.update(display_name=new).where(User.display_name == old),
)


def _user(integration: Any, name: str, display: str = "") -> User:
    now = utcnow()
    return User(
        integration=integration,
        user_name=name,
        user_name_key=name.lower(),
        display_name=display or name,
        document={"userName": name},
        active=True,
        state="invited",
        created=now,
        last_modified=now,
        status_changed_at=now,
    )


def _invitation(integration: Any, token_hash: str) -> Invitation:
    return Invitation(
        integration=integration, token_hash=token_hash, reason="created", expires_at=utcnow()
    )


def test_a_child_row_refers_to_the_first_and_updates_report_their_counts(integration) -> None:
    _user(integration, "before@example.com", display="Old Name").save()
    writes = RowWrites()
    user = _user(integration, "new@example.com")
    writes.insert(user)
    writes.insert(_invitation(integration, "hash-1"), child_of="user")
    counts: list[int] = []
    writes.update(_rename, "Old Name", "New Name", counted=counts.append)
    writes.update(_rename, "nobody", "x", counted=counts.append)
    done: list[str] = []
    writes.then(lambda: done.append("woken"))
    writes.run()
    assert user.id is not None
    (invitation,) = Invitation.select().where(Invitation.user == user.id)
    assert invitation.token_hash == "hash-1"
    assert counts == [1, 0]
    assert done == ["woken"]
    assert User.get(User.user_name == "before@example.com").display_name == "New Name"


def test_a_failing_row_leaves_none_written_and_runs_nothing_after(integration) -> None:
    _user(integration, "old@example.com", display="Old Name").save()
    writes = RowWrites()
    writes.insert(_user(integration, "first@example.com"))
    writes.insert(_invitation(integration, "hash-2"), child_of="user")
    writes.update(_rename, "Old Name", "Changed")
    writes.insert(AuditEntry(actor_type="system", action="test", changed=[], detail={}))
    # The same userName twice in one integration: the unique index refuses the second row.
    writes.insert(_user(integration, "FIRST@example.com"))
    done: list[str] = []
    writes.then(lambda: done.append("woken"))
    with pytest.raises(IntegrityError):
        writes.run()
    assert not User.select().where(User.user_name == "first@example.com").exists()
    assert not Invitation.select().where(Invitation.token_hash == "hash-2").exists()
    assert not AuditEntry.select().where(AuditEntry.action == "test").exists()
    assert User.get(User.user_name == "old@example.com").display_name == "Old Name"
    assert done == []


def test_a_batch_is_one_statement_on_postgres_and_one_transaction_on_sqlite(
    integration, statements, monkeypatch
) -> None:
    from extensions import db

    begun: list[str] = []
    begin = type(db.obj).begin

    def spy_begin(self: Any, *args: Any, **kwargs: Any) -> Any:
        begun.append("BEGIN")
        return begin(self, *args, **kwargs)

    monkeypatch.setattr(type(db.obj), "begin", spy_begin)
    writes = RowWrites()
    writes.insert(_user(integration, "one@example.com"))
    writes.insert(_invitation(integration, "hash-3"), child_of="user")
    writes.update(_rename, "nobody", "x")
    statements.clear()
    writes.run()
    if is_postgres():
        assert begun == []
        (sent,) = statements
        assert sent.startswith("WITH ")
    else:
        assert begun == ["BEGIN"]
        sent = [s.split()[0] for s in statements if not s.startswith("PRAGMA")]
        assert sent == ["INSERT", "INSERT", "UPDATE"]


def test_a_child_needs_a_first_row(integration) -> None:
    with pytest.raises(ValueError, match="first row"):
        RowWrites().insert(_invitation(integration, "hash-4"), child_of="user")
