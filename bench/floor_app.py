"""The real app plus one bare endpoint, for measuring a floor in the same server process.

``GET /bench/floor/<id>`` reads one user row by primary key and returns it as JSON: no
authentication, no SCIM, no ORM query building. Benchmarks compare get-by-id against it.
Served by gunicorn as ``bench.floor_app:create_app()``; never part of the product.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify

from app import create_app as create_real_app
from extensions import db


def create_app() -> Flask:
    """The product app with the floor endpoint added."""
    app = create_real_app()
    sql: dict[str, str] = {}

    @app.get("/bench/floor/<int:row_id>")
    def floor(row_id: int) -> Any:
        if not sql:
            param = db.obj.param
            # The only interpolation is the driver's placeholder.
            columns = "id, scim_id, user_name, display_name, email, active"
            sql["q"] = f'SELECT {columns} FROM "user" WHERE id = {param}'  # noqa: S608
        row = db.execute_sql(sql["q"], (row_id,)).fetchone()
        db.close()
        keys = ("id", "scim_id", "user_name", "display_name", "email", "active")
        return jsonify(dict(zip(keys, row, strict=True)) if row else {})

    return app
