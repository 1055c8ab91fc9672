"""Peewee models, one module per aggregate. Models hold data; services hold policy."""

from models.audit import AuditEntry
from models.base import BaseModel, new_id, utcnow
from models.group import Group, GroupMember
from models.integration import Integration
from models.token import ScimToken
from models.user import STATES, User

__all__ = [
    "STATES",
    "AuditEntry",
    "BaseModel",
    "Group",
    "GroupMember",
    "Integration",
    "ScimToken",
    "User",
    "new_id",
    "utcnow",
]
