"""The base model, bound to the database proxy, and the clock every model uses."""

from __future__ import annotations

import datetime as dt
import uuid

from peewee import Model

from extensions import db


def utcnow() -> dt.datetime:
    """Now, as a naive UTC datetime (how every timestamp is stored)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def new_id() -> str:
    """A new random resource id (a UUID, as RFC 7643 §3.1 suggests)."""
    return str(uuid.uuid4())


class BaseModel(Model):
    """Base for every table: snake_case table names, bound to ``extensions.db``."""

    class Meta:
        database = db
        legacy_table_names = False
        # UPDATE only the columns that were set, not every column of the row.
        only_save_dirty = True
