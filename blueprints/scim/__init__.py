"""The SCIM 2.0 service provider at /scim/v2 (RFC 7643, RFC 7644), as Okta uses it."""

from __future__ import annotations

# Views register themselves on ``blp`` when imported.
from blueprints.scim import discovery, groups, search, users  # noqa: F401
from blueprints.scim.blueprint import blp

__all__ = ["blp"]
