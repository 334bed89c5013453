"""Drive enrolment and login through the real services, in request-shaped transactions, at chosen times."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from owner_server.api.state import ServerState
from owner_server.identity import login as identity
from owner_server.models import Alert, AuditEntry, User
from shared.auth import EnrolRequest, LoginRequest, LoginResponse

from ..helpers import PASSWORD, DeviceKey

INSIDE = "10.20.0.7"


class Agent:
    """One agent's client: its device key, device id and the server's request transactions."""

    def __init__(self, inst, login: str, code: str) -> None:
        self.state = ServerState(settings=inst.settings, engine=inst.engine, keys=inst.keys)
        self.login_name = login
        self.code = code
        self.key = DeviceKey()
        self.device_id = ""

    def enrol(self, *, code: str | None = None, key: DeviceKey | None = None, now: datetime | None = None) -> str:
        key = key or self.key
        request = EnrolRequest(enrolment_code=code or self.code, device_public_key=key.public_b64, device_name="pc")
        with self.state.transaction() as session:
            response = identity.enrol_device(session, request=request, address=INSIDE, now=now)
        self.key, self.device_id = key, response.device_id
        return response.device_id

    def login(
        self,
        *,
        password: str = PASSWORD,
        now: datetime | None = None,
        address: str = INSIDE,
        key: DeviceKey | None = None,
        device_id: str | None = None,
    ) -> LoginResponse:
        device_id = device_id or self.device_id
        with self.state.transaction() as session:
            nonce = identity.issue_nonce(session, device_id=device_id, now=now).nonce
        signature = (key or self.key).sign(self.login_name, device_id, nonce)
        request = LoginRequest(
            login=self.login_name, password=password, device_id=device_id, nonce=nonce, signature=signature
        )
        with self.state.transaction() as session:
            return identity.login(session, request=request, address=address, now=now)

    def authenticate(self, token: str, *, address: str | None = INSIDE, now: datetime | None = None):
        with self.state.transaction() as session:
            return identity.authenticate(session, token=token, address=address, now=now)


def actions(inst) -> list[str]:
    with Session(inst.engine) as s:
        return [e.action for e in s.exec(select(AuditEntry).order_by(AuditEntry.seq)).all()]


def alerts(inst, rule: str | None = None) -> list[Alert]:
    with Session(inst.engine) as s:
        rows = s.exec(select(Alert).order_by(Alert.id)).all()
    return [a for a in rows if rule is None or a.rule == rule]


def user(inst, login: str) -> User:
    with Session(inst.engine) as s:
        return s.exec(select(User).where(User.login == login)).one()
