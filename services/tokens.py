"""SCIM bearer tokens: issue, authenticate, list and revoke."""

from __future__ import annotations

import datetime as dt

from database import CompiledQuery
from extensions import db
from models import Integration, ScimToken, utcnow
from services import audit
from services.audit import Actor
from services.errors import NotFoundError
from services.secrets import generate_token, hash_secret, secret_matches

TOKEN_PREFIX = "scim_"  # noqa: S105 (a label, not a secret)
VISIBLE_PREFIX_LENGTH = 12
# last_used is a convenience for admins: refresh it at most this often, not on every request.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)

_token_and_integration = CompiledQuery(
    ScimToken,
    lambda digest: (
        ScimToken.select(ScimToken, Integration)
        .join(Integration)
        .where(ScimToken.token_hash == digest)
    ),
)


def create_token(
    integration: Integration, label: str = "", actor: Actor = audit.SYSTEM
) -> tuple[ScimToken, str]:
    """Issue a token for an integration. The plaintext is returned once and never stored."""
    raw = generate_token(TOKEN_PREFIX)
    with db.atomic():
        token = ScimToken.create(
            integration=integration,
            label=label.strip()[:200],
            prefix=raw[:VISIBLE_PREFIX_LENGTH],
            token_hash=hash_secret(raw),
        )
        audit.record(
            integration.id,
            actor,
            "token.create",
            target_type="ScimToken",
            target_id=str(token.id),
            detail={"prefix": token.prefix, "label": token.label},
        )
    return token, raw


def authenticate_token(raw: str) -> ScimToken | None:
    """The live token whose plaintext is ``raw``, or None."""
    if not raw or len(raw) > 512:
        return None
    digest = hash_secret(raw)
    found = _token_and_integration.joined((ScimToken, Integration), digest)
    if not found:
        return None
    token, integration = found[0]
    # The lookup is by hash; compare again in constant time so that no code path
    # depends on a non-constant-time equality of secret material.
    if token.revoked_at is not None or not secret_matches(raw, token.token_hash):
        return None
    token.integration = integration
    now = utcnow()
    if token.last_used is None or now - token.last_used > LAST_USED_RESOLUTION:
        ScimToken.update(last_used=now).where(ScimToken.id == token.id).execute()
        token.last_used = now
    return token


def list_tokens(integration: Integration | None = None) -> list[ScimToken]:
    """Tokens, newest first, optionally for one integration."""
    query = ScimToken.select(ScimToken, Integration).join(Integration)
    if integration is not None:
        query = query.where(ScimToken.integration == integration)
    return list(query.order_by(ScimToken.created.desc(), ScimToken.id.desc()))


def revoke_token(
    token_id: int, integration: Integration | None = None, actor: Actor = audit.SYSTEM
) -> ScimToken:
    """Revoke a token (idempotent).

    :raises NotFoundError: when no such token exists (for this integration, if given).
    """
    query = ScimToken.select().where(ScimToken.id == token_id)
    if integration is not None:
        query = query.where(ScimToken.integration == integration)
    token = query.first()
    if token is None:
        raise NotFoundError(f"no token with id {token_id}")
    if token.revoked_at is None:
        with db.atomic():
            token.revoked_at = utcnow()
            token.save(only=[ScimToken.revoked_at])
            audit.record(
                token.integration_id,
                actor,
                "token.revoke",
                target_type="ScimToken",
                target_id=str(token.id),
                detail={"prefix": token.prefix},
            )
    return token
