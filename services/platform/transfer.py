"""Export every table to JSON lines, and import them into an empty database of either kind.

This is how an install moves from SQLite to Postgres (or back). The file is:

- a header line naming the format and the schema migrations applied to the source;
- for each table, in foreign-key order, a line naming the table and its columns, then one
  line per row holding the values as a JSON array in that column order;
- a trailer line with the number of rows, so a truncated file is refused.

Values keep their exact meaning: ids, hashes and ciphertexts are strings or integers as
stored, JSON documents stay JSON, and datetimes are written as ISO 8601 with microseconds
(naive UTC, as every model stores them).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from peewee import CompositeKey, DateTimeField, Field, Model, sort_models

import database
import models
from extensions import db
from services.errors import ServiceError

FORMAT = "scim-onboard-export"
VERSION = 1
BATCH_SIZE = 200
# Written when a process starts with no admin (the one-time setup link): a freshly migrated
# database may hold this row before anything else, and the export carries its own.
SETUP_TABLE = "admin_setup"


class TransferError(ServiceError):
    """The export or import cannot be carried out; the message says why."""


@dataclass
class TransferResult:
    """What was exported or imported: rows per table, and the migrations of the schema."""

    path: Path
    migrations: list[str]
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """All rows, every table."""
        return sum(self.rows.values())


def _all_models() -> list[type[Model]]:
    """Every model, parents before children (foreign-key order)."""
    found: list[type[Model]] = []
    pending = list(models.BaseModel.__subclasses__())
    while pending:
        model = pending.pop()
        found.append(model)
        pending.extend(model.__subclasses__())
    return list(sort_models(found))


def _applied_migrations() -> list[str]:
    return sorted(database.migration_runner().applied())


def _check_schema(ordered: list[type[Model]]) -> None:
    """Refuse when the database has a table or column no model knows: it would be lost.

    :raises TransferError: with the table or column to account for.
    """
    known = {model._meta.table_name: model for model in ordered}
    history = database.migration_runner().table_name
    for table in db.get_tables():
        if table == history:
            continue
        model = known.get(table)
        if model is None:
            raise TransferError(f"table {table!r} has no model: it would not be transferred")
        columns = {column.name for column in db.get_columns(table)}
        fields = {f.column_name for f in model._meta.sorted_fields}
        if columns != fields:
            raise TransferError(
                f"table {table!r} has columns {sorted(columns ^ fields)} that differ from "
                "its model: apply pending migrations (flask --app app db upgrade) first"
            )


def _order_of(model: type[Model]) -> list[Any]:
    primary_key = model._meta.primary_key
    if isinstance(primary_key, CompositeKey):
        return [model._meta.fields[name] for name in primary_key.field_names]
    return [primary_key]


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="microseconds")
    if value is None or isinstance(value, str | int | float | bool | dict | list):
        return value
    raise TransferError(f"cannot export a value of type {type(value).__name__}")


def _decode(column: Field, value: Any) -> Any:
    if value is not None and isinstance(column, DateTimeField):
        return dt.datetime.fromisoformat(value)
    return value


def _line(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n"


def _snapshot() -> Any:
    """A transaction that sees one consistent state of the whole database."""
    if database.is_postgres():
        return db.atomic(isolation_level="REPEATABLE READ")
    # DEFERRED: a read transaction. Under WAL it keeps one snapshot without taking the
    # write lock, so the service keeps running while the export reads.
    return db.atomic("DEFERRED")


def export_database(destination: Path) -> TransferResult:
    """Write every table's rows to ``destination`` (JSON lines), atomically.

    :raises TransferError: the schema has tables or columns no model describes.
    """
    ordered = _all_models()
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent
    )
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out, database.connection(), _snapshot():
            _check_schema(ordered)
            result = TransferResult(destination, _applied_migrations())
            out.write(
                _line(
                    {
                        "format": FORMAT,
                        "version": VERSION,
                        "migrations": result.migrations,
                        "source": "postgresql" if database.is_postgres() else "sqlite",
                        "tables": [model._meta.table_name for model in ordered],
                    }
                )
            )
            for model in ordered:
                result.rows[model._meta.table_name] = _export_table(model, out)
            out.write(_line({"end": True, "rows": result.total}))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, destination)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return result


def _export_table(model: type[Model], out: IO[str]) -> int:
    fields = model._meta.sorted_fields
    out.write(_line({"table": model._meta.table_name, "columns": [f.column_name for f in fields]}))
    count = 0
    query = model.select(*fields).order_by(*_order_of(model)).tuples()
    for row in query.iterator():
        out.write(_line([_encode(value) for value in row]))
        count += 1
    return count


# --- import ----------------------------------------------------------------------------------


def _read_lines(source: Path) -> Iterator[tuple[int, Any]]:
    with open(source, encoding="utf-8") as fh:
        for number, text in enumerate(fh, start=1):
            try:
                yield number, json.loads(text)
            except json.JSONDecodeError:
                raise TransferError(f"line {number} of {source} is not JSON") from None


def _check_header(header: Any, source: Path) -> list[str]:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise TransferError(f"{source} is not a SCIM Onboard export")
    if header.get("version") != VERSION:
        raise TransferError(
            f"{source} is export format version {header.get('version')}; "
            f"this release reads version {VERSION}"
        )
    exported = sorted(header.get("migrations") or [])
    applied = _applied_migrations()
    if exported != applied:
        missing = sorted(set(exported) - set(applied))
        extra = sorted(set(applied) - set(exported))
        raise TransferError(
            "the export and this database have different schema migrations "
            f"(only in the export: {missing or 'none'}; only here: {extra or 'none'}). "
            "Run the same release on both sides, and flask --app app db upgrade on both."
        )
    return exported


def _check_empty(ordered: list[type[Model]]) -> None:
    for model in ordered:
        if model._meta.table_name == SETUP_TABLE:
            continue
        if model.select().exists():
            raise TransferError(
                f"this database is not empty (table {model._meta.table_name!r} has rows); "
                "import only into a new database that has just been migrated"
            )


def import_database(source: Path) -> TransferResult:
    """Load an export into this database, which must be empty and migrated the same way.

    Everything is written in one transaction: on any error nothing is imported.

    :raises TransferError: the file is not a complete export, the migrations differ, or the
        database already holds data.
    """
    ordered = _all_models()
    by_table = {model._meta.table_name: model for model in ordered}
    with database.connection(), db.atomic():
        lines = _read_lines(source)
        first = next(lines, None)
        if first is None:
            raise TransferError(f"{source} is empty")
        migrations = _check_header(first[1], source)
        _check_schema(ordered)
        _check_empty(ordered)
        by_table[SETUP_TABLE].delete().execute()
        result = TransferResult(source, migrations)
        _load_rows(lines, by_table, result, source)
        if database.is_postgres():
            _reset_sequences(ordered)
    return result


def _load_rows(
    lines: Iterator[tuple[int, Any]],
    by_table: dict[str, type[Model]],
    result: TransferResult,
    source: Path,
) -> None:
    model: type[Model] | None = None
    fields: list[Field] = []
    batch: list[tuple[Any, ...]] = []

    def flush() -> None:
        if model is not None and batch:
            model.insert_many(batch, fields=fields).execute()
            batch.clear()

    for number, item in lines:
        if isinstance(item, dict) and "table" in item:
            flush()
            model = by_table.get(item["table"])
            if model is None:
                raise TransferError(f"line {number}: this database has no table {item['table']!r}")
            columns = {f.column_name: f for f in model._meta.sorted_fields}
            if sorted(item.get("columns") or []) != sorted(columns):
                raise TransferError(f"line {number}: the columns of {item['table']!r} differ")
            fields = [columns[name] for name in item["columns"]]
            result.rows[item["table"]] = 0
        elif isinstance(item, dict) and item.get("end"):
            flush()
            if item.get("rows") != result.total:
                raise TransferError(
                    f"{source} announces {item.get('rows')} rows but holds {result.total}"
                )
            return
        elif isinstance(item, list) and model is not None and len(item) == len(fields):
            batch.append(tuple(_decode(f, v) for f, v in zip(fields, item, strict=True)))
            result.rows[model._meta.table_name] += 1
            if len(batch) >= BATCH_SIZE:
                flush()
        else:
            raise TransferError(f"line {number} of {source} is not a row of the current table")
    raise TransferError(f"{source} ends early: it is incomplete (no end line)")


def _reset_sequences(ordered: list[type[Model]]) -> None:
    """Move each serial id's sequence past the imported ids, so new rows get fresh ones."""
    for model in ordered:
        primary_key = model._meta.primary_key
        if isinstance(primary_key, CompositeKey) or primary_key.field_type != "AUTO":
            continue
        table, column = model._meta.table_name, primary_key.column_name
        db.execute_sql(
            f'SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE(MAX("{column}"), 1), '  # noqa: S608 (names come from the models)
            f'MAX("{column}") IS NOT NULL) FROM "{table}"',
            (f'"{table}"', column),
        )
