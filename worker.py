"""Compose the background worker from the jobs of each layer."""

from __future__ import annotations

import threading

from flask import Flask

from hooks.backfill import backfill_due
from hooks.processing import process_due_events
from hooks.spool import drain
from services.email.invitations import send_due_emails
from services.integrations.deletion import erase_deleting_integrations
from services.okta.group_sync import sync_due_memberships
from services.okta.health import check_due_credentials
from services.okta.reconciliation import reconcile_due
from services.platform.job_runner import Job, Worker


def build_worker(app: Flask) -> Worker:
    """A worker running every job: hook deliveries spooled while SQLite was busy, Okta events,
    then emails, group changes, and the periodic reconciliation of each passwordless group."""
    return Worker(
        app=app,
        jobs=[
            Job("okta-hook-spool", drain),
            Job("okta-events", process_due_events),
            Job("welcome-emails", send_due_emails),
            Job("group-sync", sync_due_memberships),
            Job("okta-reconcile", reconcile_due),
            Job("okta-credential-check", check_due_credentials),
            Job("okta-backfill", backfill_due),
            Job("integration-deletion", erase_deleting_integrations),
        ],
        mailer=app.extensions["mailer"],
        threads=app.config["WORKER_THREADS"],
        poll_seconds=app.config["WORKER_POLL_SECONDS"],
    )


def start_in_process_worker(app: Flask) -> Worker:
    """Run a worker as a daemon thread beside the web server (small installs)."""
    worker = build_worker(app)
    threading.Thread(target=worker.run_forever, name="worker", daemon=True).start()
    return worker
