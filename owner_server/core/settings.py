"""Server settings, read from ``<data dir>/settings.toml``.

The data dir holds everything an installation owns: settings, the SQLite
database, keys (mode 0600), the TLS CA and the deployment config for IT.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from owner_server.core.alert_settings import AlertSettings
from owner_server.core.session_settings import SessionSettings
from shared.errors import ValidationError

__all__ = ["DATA_DIR_ENV", "KekSettings", "Settings", "load_settings", "resolve_data_dir"]

DATA_DIR_ENV = "CUSTOS_DATA_DIR"
SETTINGS_FILE = "settings.toml"


class KekSettings(BaseModel):
    """Where the key-encryption key comes from.

    Attributes:
        provider: ``file`` (default: ``keys/kek-<version>.key`` in the data dir),
            ``env`` (base64 in ``CUSTOS_KEK_<version>``) or ``command`` (a
            program that prints the base64 key for a version given as argument).
        command: The program for the ``command`` provider.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: Literal["file", "env", "command"] = "file"
    command: list[str] = Field(default_factory=list)


class Settings(BaseModel):
    """An installation's settings.

    Attributes:
        data_dir: The data directory (not stored in the file; set on load).
        organisation: The owner's name, shown to IT in the deployment config.
        host_names: Names and addresses the TLS certificate is issued for.
        public_url: The URL agents use (goes into the deployment config).
        database_url: SQLAlchemy URL; empty means ``sqlite:///<data dir>/custos.db``.
        kek: Key-encryption key provider.
        alerts: Where the running server delivers alerts (``[alerts]``; none = stored and listed only).
        sessions: Lifetimes of agent tokens and sessions (``[sessions]``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Path(".")
    organisation: str = "Custos owner"
    host_names: list[str] = Field(default_factory=lambda: ["localhost", "127.0.0.1"])
    public_url: str = "https://127.0.0.1:8443"
    database_url: str = ""
    kek: KekSettings = Field(default_factory=KekSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    sessions: SessionSettings = Field(default_factory=SessionSettings)

    @property
    def effective_database_url(self) -> str:
        """The database URL in force (SQLite in the data dir by default)."""
        return self.database_url or f"sqlite:///{self.data_dir / 'custos.db'}"

    @property
    def keys_dir(self) -> Path:
        """Directory of key files (0700)."""
        return self.data_dir / "keys"

    @property
    def tls_dir(self) -> Path:
        """Directory of the CA and server certificate."""
        return self.data_dir / "tls"

    def to_toml_dict(self) -> dict[str, object]:
        """The settings as written to ``settings.toml`` (without ``data_dir``)."""
        return self.model_dump(mode="json", exclude={"data_dir"}, exclude_none=True)


def resolve_data_dir(value: str | os.PathLike[str] | None) -> Path:
    """Pick the data dir from an option, ``CUSTOS_DATA_DIR`` or ``./custos-data``."""
    chosen = value or os.environ.get(DATA_DIR_ENV) or "custos-data"
    return Path(chosen).expanduser().resolve()


def _one_line(exc: pydantic.ValidationError) -> str:
    """Pydantic's errors as ``where: what`` joined on one line (``alerts.email.port: ...``)."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "settings"
        parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def load_settings(data_dir: Path, *, database_url: str | None = None) -> Settings:
    """Read the settings of a data dir.

    Args:
        data_dir: An initialised data directory.
        database_url: Overrides the file's database URL when given.

    Returns:
        The settings, with ``data_dir`` set.

    Raises:
        ValidationError: The directory is not initialised or the file is invalid.
    """
    path = data_dir / SETTINGS_FILE
    if not path.is_file():
        raise ValidationError(f"{data_dir} is not a Custos data dir (no {SETTINGS_FILE}); run 'custos-server init'")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        settings = Settings.model_validate({**raw, "data_dir": data_dir})
    except pydantic.ValidationError as exc:
        raise ValidationError(f"{path} is not valid: {_one_line(exc)}") from None
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise ValidationError(f"{path} is not valid: {exc}") from exc
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return settings
