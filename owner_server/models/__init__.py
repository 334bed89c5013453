"""Database tables, one module per domain. Importing this package registers all."""

from owner_server.models.audit import AuditEntry, AuditHead, Checkpoint
from owner_server.models.campaigns import Campaign, DataKey
from owner_server.models.contacts import Contact, ContactState, ImportBatch
from owner_server.models.identity import AccessToken, Device, EnrolmentCode, LoginNonce, Outsourcer, Role, User
from owner_server.models.suppression import Suppression
from owner_server.models.work import DisplayEventRow, Disposition, Lease

__all__ = [
    "AccessToken",
    "AuditEntry",
    "AuditHead",
    "Campaign",
    "Checkpoint",
    "Contact",
    "ContactState",
    "DataKey",
    "Device",
    "DisplayEventRow",
    "Disposition",
    "EnrolmentCode",
    "ImportBatch",
    "Lease",
    "LoginNonce",
    "Outsourcer",
    "Role",
    "Suppression",
    "User",
]
