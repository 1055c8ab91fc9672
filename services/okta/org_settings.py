"""An integration's Okta settings as an admin enters them: parse, validate and store them
(the credential encrypted), then retry the group changes that waited for them."""

from __future__ import annotations

from typing import Any

from extensions import db
from models import Integration, utcnow
from services.errors import ValidationError
from services.okta import dpop, group_sync
from services.okta.admin_input import normalize_org_url, parse_app_ref, parse_group_ref
from services.platform import audit
from services.platform.audit import Actor
from services.platform.settings import encryptor, setting


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
