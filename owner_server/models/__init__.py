"""Database tables, one module per domain. Importing this package registers all."""

from owner_server.models.alerts import Alert, AlertDelivery, AlertStatus, DeliveryStatus
from owner_server.models.audit import AuditEntry, AuditHead, Checkpoint
from owner_server.models.campaigns import Campaign, DataKey
from owner_server.models.console import ConsoleSession, ConsoleStage, RecoveryCode
from owner_server.models.contacts import Contact, ContactState, ImportBatch
from owner_server.models.erasure import ErasureNote
from owner_server.models.identity import (
    AccessToken,
    Device,
    EnrolmentCode,
    LoginFailure,
    LoginNonce,
    Outsourcer,
    Role,
    User,
)
from owner_server.models.sessions import AgentSession, RefreshToken
from owner_server.models.suppression import Suppression
from owner_server.models.telephony import Call
from owner_server.models.work import DisplayEventRow, Disposition, Lease, SessionSequence, VerifyTry

__all__ = [
    "AccessToken",
    "AgentSession",
    "Alert",
    "AlertDelivery",
    "AlertStatus",
    "AuditEntry",
    "AuditHead",
    "Call",
    "Campaign",
    "Checkpoint",
    "ConsoleSession",
    "ConsoleStage",
    "Contact",
    "ContactState",
    "DataKey",
    "DeliveryStatus",
    "Device",
    "DisplayEventRow",
    "Disposition",
    "EnrolmentCode",
    "ErasureNote",
    "ImportBatch",
    "Lease",
    "RecoveryCode",
    "RefreshToken",
    "LoginFailure",
    "LoginNonce",
    "Outsourcer",
    "Role",
    "SessionSequence",
    "Suppression",
    "User",
    "VerifyTry",
]
