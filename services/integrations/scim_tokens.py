"""SCIM bearer tokens: issue, authenticate, list and revoke."""

from __future__ import annotations

import datetime as dt
import threading
import time

from database import CompiledQuery
from extensions import db
from models import Integration, ScimToken, utcnow
from services.errors import NotFoundError
from services.platform import audit
from services.platform.audit import Actor
from services.platform.secrets import generate_token, hash_secret, secret_matches
from services.platform.settings import setting

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


# Okta sends a request per user operation: remembering a token that just authenticated saves
# a database round trip on each. Revocation clears this process's entry at once; other
# processes forget a revoked token within SCIM_TOKEN_CACHE_SECONDS.
_recent: dict[str, tuple[float, ScimToken]] = {}
_recent_lock = threading.Lock()
_RECENT_LIMIT = 10_000


def _remembered(digest: str) -> ScimToken | None:
    with _recent_lock:
        entry = _recent.get(digest)
    if entry is None or entry[0] < time.monotonic():
        return None
    return entry[1]


def _remember(digest: str, token: ScimToken) -> None:
    ttl = setting("SCIM_TOKEN_CACHE_SECONDS")
    if ttl <= 0:
        return
    with _recent_lock:
        if len(_recent) >= _RECENT_LIMIT:
            _recent.clear()
        _recent[digest] = (time.monotonic() + ttl, token)


def _forget(token_id: int) -> None:
    with _recent_lock:
        for digest in [d for d, (_, t) in _recent.items() if t.id == token_id]:
            del _recent[digest]


def authenticate_token(raw: str) -> ScimToken | None:
    """The live token whose plaintext is ``raw``, or None."""
    if not raw or len(raw) > 512:
        return None
    digest = hash_secret(raw)
    remembered = _remembered(digest)
    if remembered is not None and secret_matches(raw, remembered.token_hash):
        return remembered
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
    _remember(digest, token)
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
    _forget(token.id)
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
