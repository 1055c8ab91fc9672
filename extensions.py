"""Unbound extension instances, bound to an app in ``app.create_app``."""

from __future__ import annotations

from flask_smorest import Api
from peewee import DatabaseProxy


class DocumentedApi(Api):
    """flask-smorest's Api without its generic error response: each blueprint documents
    the error format it really uses (SCIM errors, hook JSON)."""

    DEFAULT_ERROR_RESPONSE_NAME = None


db = DatabaseProxy()
api = DocumentedApi()
