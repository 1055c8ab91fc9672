"""Write model rows with SQL built once per column set, and several rows in one go.

Peewee's SQL generation for an INSERT costs about a millisecond, more than SQLite takes to
run it, and a SCIM create writes several rows: these build each statement once and reuse it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from peewee import Function, Node

from database import CompiledQuery, is_postgres
from extensions import db

# SQL of the hot INSERTs and UPDATEs, per database class, model and set of columns.
_write_sql: dict[tuple[Any, ...], str] = {}


def _quoted(name: str) -> str:
    return f'"{name}"'  # SQLite and Postgres both quote identifiers with double quotes


def _is_json_of_text(value: Any) -> bool:
    return (
        isinstance(value, Function)
        and value.name == "json"
        and len(value.arguments) == 1
        and isinstance(value.arguments[0], str)
    )


def _bound(fields: list[Any], data: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """Each field's placeholder and parameters: ``?``, or what the field wraps its value in
    (a JSONField's value is ``json(?)`` on SQLite)."""
    marks: list[str] = []
    params: list[Any] = []
    for field in fields:
        value = field.db_value(data[field.name])
        if _is_json_of_text(value):
            # SQLite's JSONField: ``json(?)`` written out, not compiled per row (the compile
            # costs more than running the INSERT, and it ran under the write lock).
            marks.append(f"json({db.obj.param})")
            params.append(value.arguments[0])
        elif isinstance(value, Node):
            sql, node_params = db.obj.get_sql_context().sql(value).query()
            marks.append(sql)
            params.extend(node_params)
        else:
            marks.append(db.obj.param)
            params.append(value)
    return marks, params


def _write_statement(kind: str, model: Any, fields: list[Any], marks: list[str]) -> str:
    key = (type(db.obj), kind, model, tuple(f.name for f in fields), tuple(marks))
    sql = _write_sql.get(key)
    if sql is None:
        meta = model._meta
        table = _quoted(meta.table_name)
        pk = _quoted(meta.primary_key.column_name)
        if kind == "insert":
            columns = ", ".join(_quoted(f.column_name) for f in fields)
            sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(marks)})"  # noqa: S608
            if is_postgres():
                sql += f" RETURNING {pk}"
        else:
            names = [_quoted(f.column_name) for f in fields]
            pairs = ", ".join(f"{c} = {m}" for c, m in zip(names, marks, strict=True))
            sql = f"UPDATE {table} SET {pairs} WHERE {pk} = {db.obj.param}"  # noqa: S608
        _write_sql[key] = sql
    return sql


def _insert_fields(instance: Any) -> list[Any]:
    """The fields an INSERT of ``instance`` writes: those set, and defaults (not a null id)."""
    meta = type(instance)._meta
    data = instance.__data__
    return [
        f
        for f in meta.sorted_fields
        if f.name in data and not (f is meta.primary_key and data[f.name] is None)
    ]


def _saved(instance: Any, new_id: Any) -> None:
    data = instance.__data__
    pk = type(instance)._meta.primary_key.name
    if data.get(pk) is None:
        data[pk] = new_id
    instance._dirty.clear()


def insert_row(instance: Any) -> Any:
    """INSERT a new model instance (its set fields and defaults) and give it its id.

    What ``Model.create`` does, with the statement built once per column set.
    """
    fields = _insert_fields(instance)
    marks, params = _bound(fields, instance.__data__)
    cursor = db.execute_sql(_write_statement("insert", type(instance), fields, marks), params)
    _saved(instance, cursor.fetchone()[0] if is_postgres() else cursor.lastrowid)
    return instance


class RowWrites:
    """Rows to INSERT and UPDATEs to run together: one statement on Postgres, one
    transaction on SQLite.

    On Postgres every step becomes a data-modifying ``WITH`` clause of a single statement,
    so a SCIM create's user, invitation, audit entry and re-opened events cost one round trip
    instead of six (BEGIN and COMMIT included), and the statement is atomic by itself. SQLite
    has no data-modifying ``WITH``: there the steps run in order in one transaction. A row
    added ``child_of`` a field gets the first row's id in that field.
    """

    def __init__(self) -> None:
        self._inserts: list[tuple[Any, str | None]] = []
        self._updates: list[tuple[CompiledQuery, tuple[Any, ...], Callable[[int], None]]] = []
        self._then: list[Callable[[], None]] = []

    def insert(self, instance: Any, *, child_of: str | None = None) -> None:
        """INSERT ``instance``; ``child_of`` names its field that refers to the first row."""
        if child_of is not None and not self._inserts:
            raise ValueError("a child row needs a first row to refer to")
        self._inserts.append((instance, child_of))

    def update(
        self, query: CompiledQuery, *values: Any, counted: Callable[[int], None] = lambda n: None
    ) -> None:
        """Run a compiled UPDATE with these values; ``counted`` gets the rows it changed."""
        self._updates.append((query, values, counted))

    def then(self, action: Callable[[], None]) -> None:
        """Call ``action`` once everything is written."""
        self._then.append(action)

    def run(self) -> None:
        """Write everything, or nothing (a failure raises and leaves no row behind)."""
        if is_postgres():
            counts = self._run_as_one_statement()
        else:
            with db.atomic():
                counts = self._run_in_order()
        for (_, _, counted), count in zip(self._updates, counts, strict=True):
            counted(count)
        for action in self._then:
            action()

    def _run_in_order(self) -> list[int]:
        first: Any = self._inserts[0][0] if self._inserts else None
        for instance, child_of in self._inserts:
            if child_of is not None:
                instance.__data__[child_of] = first.id
            insert_row(instance)
        return [query.execute(*values) for query, values, _ in self._updates]

    def _run_as_one_statement(self) -> list[int]:
        clauses: list[str] = []
        params: list[Any] = []
        results: list[str] = []
        for i, (instance, child_of) in enumerate(self._inserts):
            model = type(instance)
            fields = [f for f in _insert_fields(instance) if f.name != child_of]
            marks, row_params = _bound(fields, instance.__data__)
            if child_of is not None:
                fields.append(model._meta.fields[child_of])
                first_pk = _quoted(type(self._inserts[0][0])._meta.primary_key.column_name)
                marks.append(f"(SELECT {first_pk} FROM w0)")  # noqa: S608 (identifiers, not values)
            clauses.append(f"w{i} AS ({_write_statement('insert', model, fields, marks)})")
            params.extend(row_params)
            pk = _quoted(model._meta.primary_key.column_name)
            results.append(f"(SELECT {pk} FROM w{i})")  # noqa: S608
        for j, (query, values, _) in enumerate(self._updates, start=len(self._inserts)):
            sql, update_params = query.statement(*values)
            clauses.append(f"w{j} AS ({sql} RETURNING 1)")
            params.extend(update_params)
            results.append(f"(SELECT count(*) FROM w{j})")  # noqa: S608
        sql = f"WITH {', '.join(clauses)} SELECT {', '.join(results)}"
        row = db.execute_sql(sql, params)
        found = row.fetchone()
        for (instance, child_of), new_id in zip(self._inserts, found, strict=False):
            if child_of is not None:
                instance.__data__[child_of] = found[0]
            _saved(instance, new_id)
        return [int(n) for n in found[len(self._inserts) :]]


def update_row(instance: Any) -> None:
    """UPDATE the changed columns of a saved model instance (``save()`` with
    ``only_save_dirty``), with the statement built once per column set."""
    model = type(instance)
    pk = model._meta.primary_key
    fields = [f for f in instance.dirty_fields if f is not pk]
    if fields:
        data = instance.__data__
        marks, params = _bound(fields, data)
        sql = _write_statement("update", model, fields, marks)
        db.execute_sql(sql, [*params, data[pk.name]])
    instance._dirty.clear()
