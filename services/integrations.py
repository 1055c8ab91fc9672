"""Create and look up integrations (one per Okta org)."""

from __future__ import annotations

from peewee import IntegrityError

from extensions import db
from models import Integration
from services.errors import ConflictError, NotFoundError, ValidationError


def create_integration(name: str) -> Integration:
    """Create an integration with a unique name.

    :raises ValidationError: when the name is empty or too long.
    :raises ConflictError: when the name is taken.
    """
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationError("an integration name must be 1 to 200 characters")
    try:
        with db.atomic():
            return Integration.create(name=name)
    except IntegrityError:
        raise ConflictError(f"an integration named {name!r} already exists") from None


def get_integration(name_or_id: str) -> Integration:
    """The integration with this id or name.

    :raises NotFoundError: when there is none.
    """
    integration = Integration.by_name_or_id(name_or_id)
    if integration is None:
        raise NotFoundError(f"no integration with id or name {name_or_id!r}")
    return integration
