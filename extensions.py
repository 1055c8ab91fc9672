"""Unbound extension instances, bound to an app in ``app.create_app``."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_smorest import Api
from flask_wtf import CSRFProtect
from peewee import DatabaseProxy

import limiter_storage  # noqa: F401 (registers memory:// without a thread per request)


class DocumentedApi(Api):
    """flask-smorest's Api without its generic error response: each blueprint documents
    the error format it really uses (SCIM errors, hook JSON)."""

    DEFAULT_ERROR_RESPONSE_NAME = None


db = DatabaseProxy()
api = DocumentedApi()
csrf = CSRFProtect()
# Counters live in RATELIMIT_STORAGE_URI: memory:// (per process, lost on restart: fine for
# throttling) by default, or redis:// to share them between instances.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
