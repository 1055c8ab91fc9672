"""An integration's Okta settings: validate and store them (credential encrypted), build
clients from them, and test the connection."""

from __future__ import annotations

import threading
from typing import Any

from extensions import db
from models import Integration, utcnow
from services import audit, dpop
from services.audit import Actor
from services.errors import ValidationError
from services.okta_client import (
    APP_SCOPE,
    SCOPES,
    ConnectionCheck,
    Credential,
    OAuthCredential,
    OktaClient,
    SswsCredential,
    normalize_org_url,
    parse_app_ref,
    parse_group_ref,
)
from services.settings import encryptor, setting

_clients = threading.local()


def _missing_settings(integration: Integration) -> list[str]:
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
    missing = _missing_settings(integration)
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


def configure_okta(
    integration: Integration,
    *,
    org_url: str | None = None,
    group: str | None = None,
    app_id: str | None = None,
    api_token: str | None = None,
    client_id: str | None = None,
    private_key: str | None = None,
    key_id: str | None = None,
    actor: Actor = audit.SYSTEM,
) -> Integration:
    """Validate and save an integration's Okta settings; the credential is encrypted.

    Only the settings passed are changed. Saving clears an "unhealthy" mark, so parked
    group changes are retried with the new settings.

    :raises ValidationError: with a message naming the bad setting.
    """
    from services import group_sync

    changes: dict[str, Any] = {}
    if org_url is not None:
        try:
            changes["okta_org_url"] = normalize_org_url(org_url, setting("OKTA_ALLOWED_HOSTS"))
        except ValueError as exc:
            raise ValidationError(f"Okta org URL: {exc}") from None
    if group is not None:
        try:
            changes["group_id"] = parse_group_ref(group)
        except ValueError as exc:
            raise ValidationError(f"passwordless group: {exc}") from None
    if app_id is not None:
        # Optional: an empty value clears it (offboarding then relies on Deactivate Users).
        try:
            changes["okta_app_id"] = parse_app_ref(app_id) if app_id.strip() else None
        except ValueError as exc:
            raise ValidationError(f"Okta app: {exc}") from None
    if api_token is not None and (client_id or private_key):
        raise ValidationError("give either an API token or an OAuth service app, not both")
    if api_token is not None:
        if not api_token.strip():
            raise ValidationError("the Okta API token is empty")
        changes.update(
            okta_auth="ssws",
            okta_secret=encryptor().encrypt(api_token.strip()),
            okta_client_id=None,
            okta_key_id=None,
            okta_dpop_key=None,
        )
    elif client_id or private_key:
        if not (client_id and private_key):
            raise ValidationError("an OAuth service app needs both a client id and a private key")
        changes.update(
            okta_auth="oauth",
            okta_client_id=client_id.strip(),
            okta_secret=encryptor().encrypt(private_key.strip()),
            okta_key_id=key_id.strip() if key_id else None,
            # A new app credential gets a new DPoP key: nothing bound to the old one lingers.
            okta_dpop_key=encryptor().encrypt(dpop.generate_key()),
        )
    changes.update(unhealthy_reason=None, unhealthy_since=None, okta_paused_until=None)
    changes["updated"] = utcnow()
    with db.atomic():
        Integration.update(**changes).where(Integration.id == integration.id).execute()
        group_sync.resume(integration)
        audit.record(
            integration.id,
            actor,
            "integration.okta",
            # Names only: the credential itself never reaches the audit log.
            changed=sorted(k for k in changes if k.startswith(("okta_", "group_id"))),
        )
    return Integration.get_by_id(integration.id)


def check_okta_connection(integration: Integration) -> ConnectionCheck:
    """Check the credential works and the group exists and is an OKTA_GROUP."""
    missing = _missing_settings(integration)
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
