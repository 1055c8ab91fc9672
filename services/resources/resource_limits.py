"""Resource bodies as the services store them: validated, and bounded in extra data."""

from __future__ import annotations

from typing import Any

from scim.resource_size import check_extra_data
from scim.resources import load_resource
from scim.schemas import ResourceType
from services.platform.settings import setting


def load_bounded_resource(body: Any, resource: ResourceType) -> dict[str, Any]:
    """``load_resource``, then refuse more than SCIM_MAX_RESOURCE_BYTES of extra data.

    :raises ScimError: an invalid body, or too much unknown and extension data (400).
    """
    document = load_resource(body, resource)
    check_extra_data(document, resource, setting("SCIM_MAX_RESOURCE_BYTES"))
    return document
