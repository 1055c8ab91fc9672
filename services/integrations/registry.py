"""Integrations (one per Okta org): create, rename, branding, and listing."""

from __future__ import annotations

from collections import Counter
from typing import Any

from peewee import IntegrityError

from extensions import db
from models import Integration, ScimToken, utcnow
from services.email.branding import load_branding
from services.email.email_headers import has_controls
from services.errors import ConflictError, NotFoundError, ValidationError
from services.platform import audit
from services.platform.audit import Actor


def _valid_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationError("an integration name must be 1 to 200 characters")
    # The name goes into welcome emails' subject line: no line breaks or other controls.
    if has_controls(name):
        raise ValidationError("an integration name cannot hold line breaks or control characters")
    return name


def create_integration(name: str, actor: Actor = audit.SYSTEM) -> Integration:
    """Create an integration with a unique name.

    :raises ValidationError: when the name is empty or too long.
    :raises ConflictError: when the name is taken.
    """
    name = _valid_name(name)
    try:
        with db.atomic():
            integration = Integration.create(name=name)
            audit.record(integration.id, actor, "integration.create", detail={"name": name})
    except IntegrityError:
        raise ConflictError(f"an integration named {name!r} already exists") from None
    return integration


def rename_integration(integration: Integration, name: str, actor: Actor) -> Integration:
    """Give an integration a new unique name.

    :raises ValidationError: when the name is empty or too long.
    :raises ConflictError: when another integration has the name.
    """
    name = _valid_name(name)
    try:
        with db.atomic():
            Integration.update(name=name, updated=utcnow()).where(
                Integration.id == integration.id
            ).execute()
            audit.record(integration.id, actor, "integration.rename", changed=["name"])
    except IntegrityError:
        raise ConflictError(f"an integration named {name!r} already exists") from None
    return Integration.get_by_id(integration.id)


def set_branding(integration: Integration, data: dict[str, Any], actor: Actor) -> Integration:
    """Validate and store the branding of the welcome email and landing page.

    :raises ValidationError: naming the first invalid field.
    """
    branding = load_branding(data)
    with db.atomic():
        Integration.update(branding=branding, updated=utcnow()).where(
            Integration.id == integration.id
        ).execute()
        audit.record(integration.id, actor, "integration.branding", changed=sorted(branding))
    return Integration.get_by_id(integration.id)


def get_integration(name_or_id: str) -> Integration:
    """The integration with this id or name.

    :raises NotFoundError: when there is none.
    """
    integration = Integration.by_name_or_id(name_or_id)
    if integration is None:
        raise NotFoundError(f"no integration with id or name {name_or_id!r}")
    return integration


def integrations_with_token_counts() -> list[tuple[Integration, int]]:
    """Every integration by name, with its number of live SCIM tokens."""
    live = Counter(
        integration_id
        for (integration_id,) in ScimToken.select(ScimToken.integration)
        .where(ScimToken.revoked_at.is_null())
        .tuples()
    )
    return [(i, live[i.id]) for i in Integration.select().order_by(Integration.name)]
