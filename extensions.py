"""Unbound extension instances, bound to an app in ``app.create_app``."""

from __future__ import annotations

from flask_smorest import Api
from peewee import DatabaseProxy

db = DatabaseProxy()
api = Api()
