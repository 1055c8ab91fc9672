"""gunicorn settings for SCIM Onboard, read by gunicorn from its working directory.

``gunicorn`` started in a checkout (or with ``--config /path/to/gunicorn.conf.py``) serves
``app:create_app()`` with these settings; a command-line flag still wins over each of them.
The environment chooses the values that differ between hosts:

- ``BIND``: where to listen, e.g. ``127.0.0.1:8000`` or ``0.0.0.0:8000`` in a container
  (several addresses: comma-separated). Without it, ``127.0.0.1:$PORT`` (``PORT`` default 8000).
- ``GUNICORN_WORKERS``: worker processes (default 2 x cores + 1, at most 8).
- ``GUNICORN_THREADS``: threads per worker (default 2; keep ``DB_POOL_SIZE`` at least this).
- ``GUNICORN_TIMEOUT``: seconds a request may take before its worker is restarted (default 60,
  the time Okta's SCIM client waits).
- ``ACCESS_LOG``: ``true`` writes one access line per request to stdout (off by default), in
  the service's ``LOG_FORMAT`` (text or JSON), with the request id and without the query
  string (SCIM filters carry people's names and addresses).

See README.md ("Production") and docs/operations.md.
"""

from __future__ import annotations

import os
from typing import Any

MAX_DEFAULT_WORKERS = 8


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}.") from None
    if value < 1:
        raise SystemExit(f"{name} must be at least 1, got {value}.")
    return value


def _default_workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(2 * (cores or 1) + 1, MAX_DEFAULT_WORKERS)


wsgi_app = "app:create_app()"
bind = [
    address.strip()
    for address in (os.environ.get("BIND") or f"127.0.0.1:{_int_env('PORT', 8000)}").split(",")
    if address.strip()
]
workers = _int_env("GUNICORN_WORKERS", _default_workers())
# Two: with more, threads of one process mostly wait on the GIL and on SQLite's write lock
# (bench/peer.py on 2 cores: creates 0.89x the peer with 4 threads, 1.23x with 2).
threads = _int_env("GUNICORN_THREADS", 2)
# Okta's SCIM client gives up after 60 s; event hooks are answered in milliseconds.
timeout = _int_env("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5

# A SCIM GET carries its filter in the query string: allow the longest request line gunicorn
# can (its default, 4094, answers a long filter with an HTML 414 before the app sees it, so
# Okta would get no SCIM error). The app itself refuses filters past 4,096 characters with a
# SCIM 400 "tooMany", and bodies past SCIM_MAX_BODY_BYTES with 413.
limit_request_line = 8190
limit_request_field_size = 8190
limit_request_fields = 100

# X-Forwarded-* are the app's business (TRUSTED_PROXY_HOPS, werkzeug's ProxyFix): gunicorn
# must not believe X-Forwarded-Proto on its own, or the two would disagree.
forwarded_allow_ips = ""

# Access log: off unless ACCESS_LOG is true. The app gives gunicorn's handlers its own
# formatter (LOG_FORMAT) and its redaction, so each line is text or JSON like the rest.
accesslog = (
    "-" if os.environ.get("ACCESS_LOG", "").strip().lower() in {"1", "true", "yes"} else None
)
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s'
errorlog = "-"


def child_exit(server: Any, worker: Any) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, drop a dead worker's live gauges (prometheus_client)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
