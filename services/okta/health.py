"""The daily Okta credential check (a worker job).

Okta revokes an API token that goes 30 days unused, or whose creator is deactivated; a service
app's key can be rotated away. Without a check the first sign is an enrollment whose group
change fails. Every OKTA_HEALTH_CHECK_HOURS the worker runs the same connection test as the
admin's *Test* button: a failure marks the integration unhealthy on the dashboard at once (and
parks its group changes); a later success clears the mark and resumes them. The check's own
calls keep an API token in use.
"""

from __future__ import annotations

import datetime as dt
import logging

from models import Integration
from services.okta import group_sync
from services.okta.connection import check_okta_connection
from services.okta.periodic import take_turn
from services.platform.job_runner import JobContext
from services.platform.settings import setting

log = logging.getLogger(__name__)


def check_due_credentials(context: JobContext) -> int:
    """Worker job: check each configured Okta credential every OKTA_HEALTH_CHECK_HOURS."""
    interval = setting("OKTA_HEALTH_CHECK_HOURS")
    if not interval:
        return 0
    checked = 0
    configured = Integration.select().where(
        Integration.okta_secret.is_null(False), Integration.group_id.is_null(False)
    )
    for integration in configured:
        if not take_turn(integration, Integration.okta_checked_at, dt.timedelta(hours=interval)):
            continue
        checked += 1
        result = check_okta_connection(integration)
        if not result.ok:
            log.warning("Okta credential check failed for %s: %s", integration.name, result.reason)
            group_sync.mark_unhealthy(integration, f"daily credential check: {result.reason}")
        elif integration.unhealthy_reason:
            Integration.update(unhealthy_reason=None, unhealthy_since=None).where(
                Integration.id == integration.id
            ).execute()
            group_sync.resume(integration)
    return checked
