"""Reach Okta as an integration's stored settings say: whether they allow it, the decrypted
credential, and a client per thread that lasts while the settings hold."""

from __future__ import annotations

import threading
from typing import Any

from models import Integration
from services.okta import dpop
from services.okta.client import APP_SCOPE, SCOPES, OktaClient
from services.okta.connection_check import ConnectionCheck
from services.okta.credentials import Credential, OAuthCredential, SswsCredential
from services.platform.settings import encryptor, setting

_clients = threading.local()


def missing_settings(integration: Integration) -> list[str]:
    return [
        label
        for label, value in (
            ("the Okta org URL", integration.okta_org_url),
            ("an Okta API credential", integration.okta_secret),
            ("the passwordless group", integration.group_id),
        )
        if not value
    ]


def okta_ready(integration: Integration) -> str | None:
    """Why this integration cannot call Okta right now, or None when it can."""
    missing = missing_settings(integration)
    if missing:
        return "Okta API not configured: set " + ", ".join(missing)
    if integration.unhealthy_reason:
        return f"integration unhealthy: {integration.unhealthy_reason}"
    return None


def credential_of(integration: Integration) -> Credential:
    """The decrypted Okta credential of an integration (a service app's with its DPoP key)."""
    secret = encryptor().decrypt(integration.okta_secret)
    if integration.okta_auth == "oauth":
        return OAuthCredential(
            integration.okta_client_id,
            secret,
            integration.okta_key_id,
            encryptor().decrypt(_dpop_key_of(integration)),
        )
    return SswsCredential(secret)


def _dpop_key_of(integration: Integration) -> str:
    """The integration's encrypted DPoP key, made and stored now if it has none yet.

    Service apps saved before DPoP support have no key: the first process to need one stores
    it, and a process that loses that race uses the winner's key.
    """
    if integration.okta_dpop_key:
        return str(integration.okta_dpop_key)
    Integration.update(okta_dpop_key=encryptor().encrypt(dpop.generate_key())).where(
        (Integration.id == integration.id) & Integration.okta_dpop_key.is_null()
    ).execute()
    integration.okta_dpop_key = (
        Integration.select(Integration.okta_dpop_key)
        .where(Integration.id == integration.id)
        .scalar()
    )
    return str(integration.okta_dpop_key)


#: System Log reads (backfill, the connection test) ask for this scope in a token of their own.
LOGS_SCOPE = "okta.logs.read"


def scopes_for(integration: Integration) -> str:
    """The OAuth scopes the integration's service app asks for: app assignments need one more."""
    return f"{SCOPES} {APP_SCOPE}" if integration.okta_app_id else SCOPES


def client_for(integration: Integration, extra_scope: str = "") -> OktaClient:
    """An Okta client for the integration, reused per thread while its settings hold.

    ``extra_scope`` asks a service app for one more scope (System Log backfill asks for
    ``okta.logs.read``) in a token of its own, so that a scope the app lacks only stops the
    job that needs it.
    """
    cache: dict[Any, OktaClient] = getattr(_clients, "cache", None) or {}
    _clients.cache = cache
    key = (integration.id, integration.updated, integration.okta_secret, extra_scope)
    client = cache.get(key)
    if client is None:
        for stale in [k for k in cache if k[0] == integration.id and k[3] == extra_scope]:
            cache.pop(stale).close()
        client = OktaClient(
            integration.okta_org_url,
            credential_of(integration),
            timeout=setting("OKTA_TIMEOUT_SECONDS"),
            verify=setting("OKTA_CA_BUNDLE") or True,
            scopes=f"{scopes_for(integration)} {extra_scope}".strip(),
        )
        cache[key] = client
    return client


def check_okta_connection(integration: Integration) -> ConnectionCheck:
    """Check the credential works and the group exists and is an OKTA_GROUP."""
    missing = missing_settings(integration)
    if missing:
        return ConnectionCheck(False, "not configured: set " + ", ".join(missing), None, None)
    client = client_for(integration, LOGS_SCOPE)
    result = client.check_connection(integration.group_id, integration.okta_app_id)
    if not result.ok:
        return result
    problem, members = client.check_operations(integration.group_id)
    if problem:
        return ConnectionCheck(False, problem, result.group_name, result.group_type)
    reason = result.reason + " Its members can be listed and changed, and the System Log read."
    if members:
        reason += (
            f" The group already has members ({members}{'+' if members >= 200 else ''}): "
            "reconciliation removes everyone who has not enrolled through this integration. "
            "Use a new, empty group that only this service manages."
        )
    return ConnectionCheck(True, reason, result.group_name, result.group_type)
