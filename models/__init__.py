"""Peewee models, one module per aggregate. Models hold data; services hold policy."""

from models.admin import AdminSession, AdminSetup, AdminUser
from models.audit import AuditEntry
from models.base import BaseModel, new_id, utcnow
from models.email import EmailEvent, EmailMessage
from models.event import HookDelivery, OktaEvent
from models.group import Group, GroupMember
from models.group_sync import GroupSync
from models.integration import Integration
from models.invitation import Invitation
from models.token import ScimToken
from models.user import STATES, User

__all__ = [
    "STATES",
    "AdminSession",
    "AdminSetup",
    "AdminUser",
    "AuditEntry",
    "BaseModel",
    "EmailEvent",
    "EmailMessage",
    "Group",
    "GroupMember",
    "GroupSync",
    "HookDelivery",
    "Integration",
    "Invitation",
    "OktaEvent",
    "ScimToken",
    "User",
    "new_id",
    "utcnow",
]
