"""``<data dir>/telephony.toml``: which telephony places the agents' calls, and how to reach it.

Example (Asterisk ARI)::

    provider = "ari"                 # "ari", "simulated" (demo) or "none" (default: dialling is refused)
    agent_ring_timeout_s = 20        # how long the agent's own phone rings first

    [ari]
    url = "http://pbx.example.internal:8088"   # Asterisk's http.conf listener (the /ari path is added)
    user = "custos"                            # ari.conf user
    password_file = "/etc/custos/ari-password" # or password_env = "CUSTOS_ARI_PASSWORD", or password = "..."
    app = "custos"                             # the Stasis application name
    trunk_endpoint = "PJSIP/{number}@owner-trunk"
    request_timeout_s = 5
    orphan_check_s = 10                        # how often a process looks for calls nobody follows

The file holds no number; a missing file means ``provider = "none"``. A bad
file is reported in one line (:func:`load_telephony_settings`).
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.errors import ValidationError

__all__ = ["TELEPHONY_FILE", "AriSettings", "SimulatedSettings", "TelephonySettings", "load_telephony_settings"]

TELEPHONY_FILE = "telephony.toml"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_APP = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AriSettings(_Frozen):
    """How to reach Asterisk's REST Interface (ARI).

    Attributes:
        url: ``http(s)://host:port`` of Asterisk's HTTP server (``http.conf``); ``/ari`` is added.
        user: The ``ari.conf`` user.
        password: Its password in the file (the file should be 0600), or use one of the two below.
        password_file: A file whose first line is the password.
        password_env: An environment variable holding the password.
        app: The Stasis application name prefix: each server process registers ``<app>-<8 hex>`` of its own
            (``/ari/events?app=``), since Asterisk gives an application's events to one WebSocket only.
        trunk_endpoint: Dial string of the customer's leg; ``{number}`` becomes the E.164 number.
        request_timeout_s: Timeout of one REST request, in seconds.
        orphan_check_s: Seconds between two looks for calls no process follows (their process died);
            such a call is finished within about twice this after its legs end.
    """

    url: str = Field(max_length=500)
    user: str = Field(min_length=1, max_length=64, pattern=r"^[^:\s]+$")
    password: str | None = Field(default=None, repr=False, min_length=1)
    password_file: Path | None = None
    password_env: str | None = None
    app: str = "custos"
    trunk_endpoint: str = Field(default="PJSIP/{number}@owner-trunk", max_length=200)
    request_timeout_s: float = Field(default=5.0, gt=0, le=60)
    orphan_check_s: float = Field(default=10.0, ge=0.5, le=600)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/?#@]+(/[^\s?#]*)?$", value):
            raise ValueError("must be an http:// or https:// URL without credentials, e.g. http://pbx:8088")
        return value.rstrip("/").removesuffix("/ari")

    @field_validator("app")
    @classmethod
    def _check_app(cls, value: str) -> str:
        if not _APP.match(value):
            raise ValueError("must be letters, digits, '_', '.' or '-'")
        return value

    @field_validator("password_env")
    @classmethod
    def _check_env(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError("must be an environment variable name (letters, digits, _)")
        return value

    @field_validator("trunk_endpoint")
    @classmethod
    def _check_trunk(cls, value: str) -> str:
        if value.count("{number}") != 1 or "/" not in value:
            raise ValueError("must name {number} once, e.g. PJSIP/{number}@owner-trunk")
        return value

    @model_validator(mode="after")
    def _one_password(self) -> AriSettings:
        given = [p for p in (self.password, self.password_file, self.password_env) if p is not None]
        if len(given) != 1:
            raise ValueError("set exactly one of password, password_file and password_env")
        return self

    def secret(self) -> str:
        """The ARI password.

        Raises:
            ValidationError: The file cannot be read or the variable is unset.
        """
        if self.password is not None:
            return self.password
        if self.password_env is not None:
            value = os.environ.get(self.password_env, "")
            if not value:
                raise ValidationError(f"environment variable {self.password_env} (ari.password_env) is not set")
            return value
        assert self.password_file is not None
        try:
            value = self.password_file.read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, IndexError, UnicodeDecodeError):
            raise ValidationError(f"ari.password_file {self.password_file} cannot be read") from None
        if not value:
            raise ValidationError(f"ari.password_file {self.password_file} is empty")
        return value


class SimulatedSettings(_Frozen):
    """The demo's simulated telephony: how its calls go.

    Attributes:
        agent_ring_s: Seconds the agent's phone rings before the agent "answers".
        customer_ring_min_s: Shortest customer ringing, in seconds.
        customer_ring_max_s: Longest customer ringing, in seconds.
        answer_rate: Share of calls the customer answers (the rest are busy or no answer).
        busy_rate: Share of calls that are busy.
        seed: Random seed (None: different every run).
    """

    agent_ring_s: float = Field(default=1.0, ge=0, le=30)
    customer_ring_min_s: float = Field(default=2.0, ge=0, le=60)
    customer_ring_max_s: float = Field(default=4.0, ge=0, le=60)
    answer_rate: float = Field(default=0.75, ge=0, le=1)
    busy_rate: float = Field(default=0.1, ge=0, le=1)
    seed: int | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SimulatedSettings:
        if self.customer_ring_min_s > self.customer_ring_max_s:
            raise ValueError("customer_ring_min_s must not exceed customer_ring_max_s")
        if self.answer_rate + self.busy_rate > 1:
            raise ValueError("answer_rate + busy_rate must not exceed 1")
        return self


class TelephonySettings(_Frozen):
    """Which telephony places calls.

    Attributes:
        provider: ``ari`` (Asterisk), ``simulated`` (the demo) or ``none`` (dialling refused).
        agent_ring_timeout_s: How long the agent's own phone rings before ``agent_no_answer``.
        ari: The ARI connection (with ``provider = "ari"``).
        simulated: The simulated provider's behaviour.
    """

    provider: Literal["ari", "simulated", "none"] = "none"
    agent_ring_timeout_s: int = Field(default=20, ge=5, le=120)
    ari: AriSettings | None = None
    simulated: SimulatedSettings = SimulatedSettings()

    @model_validator(mode="after")
    def _ari_given(self) -> TelephonySettings:
        if self.provider == "ari" and self.ari is None:
            raise ValueError('provider = "ari" needs an [ari] section (url, user, password)')
        return self


def _one_line(exc: pydantic.ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "telephony"
        parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def load_telephony_settings(data_dir: Path) -> TelephonySettings:
    """Read ``telephony.toml`` of a data dir (absent: telephony ``none``).

    Raises:
        ValidationError: The file is not valid TOML or not a valid configuration (one line).
    """
    path = data_dir / TELEPHONY_FILE
    if not path.is_file():
        return TelephonySettings()
    try:
        return TelephonySettings.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except pydantic.ValidationError as exc:
        raise ValidationError(f"{path} is not valid: {_one_line(exc)}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path} is not valid: {exc}") from None
