"""Deployment config: which server to talk to and the only CA to trust.

IT hands each agent machine a TOML file made by the server's ``init``::

    server_url = "https://127.0.0.1:8443"
    organisation = "Example Telco"
    ca_certificate = \"\"\"-----BEGIN CERTIFICATE-----...\"\"\"
    # optional, with their defaults:
    screen_reader_mode = false   # accessible names carry the visible values
    idle_lock_minutes = 10       # 1..120: no input this long hides the record, login again
    update_check = true          # check the owner's TUF repository at start and daily

IT installs it for all users in :func:`system_config_dir` (admin-only write);
that copy wins over ``--config`` and the per-user copy, so an agent cannot
point the client elsewhere or switch a protection off. Without a system copy,
a validated copy of ``--config`` is kept in the per-user config directory so
later starts need no ``--config``. The file holds no secrets.
"""

from __future__ import annotations

import logging
import os
import ssl
import sys
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from agent_client.atomic_file import write_atomically
from agent_client.errors import DeploymentConfigError

__all__ = [
    "CONFIG_FILE_NAME",
    "DeploymentConfig",
    "build_ssl_context",
    "find_deployment_config",
    "load_deployment_config",
    "parse_deployment_config",
    "SYSTEM_CONFIG_FILE_NAME",
    "TUF_ROOT_FILE_NAME",
    "save_user_copy",
    "system_config_dir",
    "user_config_dir",
]

log = logging.getLogger(__name__)

#: Name of the saved copy inside the per-user config directory.
CONFIG_FILE_NAME = "deployment.toml"
_APP_DIR = "custos-agent"
_MAX_CONFIG_BYTES = 256 * 1024
#: Name of the file IT provisions in :func:`system_config_dir`.
SYSTEM_CONFIG_FILE_NAME = "custos-agent.toml"
#: The owner's trusted TUF root metadata, provisioned beside the system config.
TUF_ROOT_FILE_NAME = "tuf-root.json"
_REQUIRED = ("server_url", "organisation", "ca_certificate")
_OPTIONAL_BOOL = {"screen_reader_mode": False, "update_check": True}
_IDLE_LOCK_RANGE = (1, 120)
_IDLE_LOCK_DEFAULT = 10


@dataclass(frozen=True, slots=True)
class DeploymentConfig:
    """A validated deployment config.

    Attributes:
        server_url: Base URL of the owner server (``https://host:port``, no path).
        organisation: Name of the owner organisation, shown to the agent.
        ca_certificate: PEM text of the CA that alone is trusted for TLS.
        screen_reader_mode: Whether record widgets expose their visible values to
            accessibility APIs (UIA, AT-SPI); off, they carry neutral labels only.
        idle_lock_minutes: Minutes without keyboard or mouse input after which the
            record is hidden and the agent must log in again.
        update_check: Whether the client checks the owner's update repository.
        provisioned: Whether the config was read from the machine-wide provisioned
            file (:func:`system_config_dir`); set by :func:`load_deployment_config`.
    """

    server_url: str
    organisation: str
    ca_certificate: str
    screen_reader_mode: bool = False
    idle_lock_minutes: int = _IDLE_LOCK_DEFAULT
    update_check: bool = True
    provisioned: bool = False

    @property
    def api_base_url(self) -> str:
        """The agent API root, ending with a slash."""
        return f"{self.server_url}/api/v1/agent/"


def user_config_dir() -> Path:
    """Return the per-user config directory of the client (not created)."""
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
    else:
        base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / _APP_DIR


def system_config_dir() -> Path:
    """Return the machine-wide directory IT provisions (admin-only write; not created).

    ``%ProgramData%/Custos`` on Windows, ``/etc/custos-agent`` elsewhere. On
    Windows the folder comes from the shell (``SHGetKnownFolderPath``,
    ``FOLDERID_ProgramData``), never from the ``PROGRAMDATA`` environment
    variable, which a standard user can set to make their own config win.
    """
    if sys.platform == "win32":
        from agent_client.known_folder import program_data_dir  # noqa: PLC0415 - ctypes and uuid on Windows only

        return Path(program_data_dir()) / "Custos"
    return Path("/etc") / _APP_DIR


def find_deployment_config(explicit: Path | None) -> Path | None:
    """Return the deployment config file the client uses, or None if there is none.

    The provisioned system copy wins (an agent cannot point the client
    elsewhere); then ``explicit`` (``--config``); then the per-user copy.

    Args:
        explicit: The ``--config`` path, or None.
    """
    provisioned = system_config_dir() / SYSTEM_CONFIG_FILE_NAME
    if provisioned.is_file():
        if explicit is not None and explicit.resolve() != provisioned.resolve():
            log.warning("--config ignored: this computer has a provisioned deployment config")
        return provisioned
    if explicit is not None:
        return explicit
    saved = user_config_dir() / CONFIG_FILE_NAME
    return saved if saved.is_file() else None


def load_deployment_config(path: Path) -> tuple[DeploymentConfig, bytes]:
    """Read and validate a deployment config file.

    Args:
        path: The TOML file.

    Returns:
        The config and the raw bytes that were validated (to save a copy).

    Raises:
        DeploymentConfigError: The file is missing, too large or invalid.
    """
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise DeploymentConfigError(f"cannot read deployment config {path}: {exc.strerror}") from exc
    if len(raw) > _MAX_CONFIG_BYTES:
        raise DeploymentConfigError(f"deployment config {path} is larger than {_MAX_CONFIG_BYTES} bytes")
    config = parse_deployment_config(raw)
    if _same_file(path, system_config_dir() / SYSTEM_CONFIG_FILE_NAME):
        config = replace(config, provisioned=True)
    return config, raw


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def parse_deployment_config(raw: bytes) -> DeploymentConfig:
    """Validate deployment config TOML bytes.

    Args:
        raw: The file content.

    Returns:
        The config.

    Raises:
        DeploymentConfigError: The TOML is malformed, a key is missing or a value is invalid.
    """
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DeploymentConfigError(f"deployment config is not valid UTF-8 TOML: {exc}") from exc
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise DeploymentConfigError(f"deployment config lacks required keys: {', '.join(missing)}")
    for key in _REQUIRED:
        if not isinstance(data[key], str) or not data[key].strip():
            raise DeploymentConfigError(f"deployment config key {key!r} must be a non-empty string")
    unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL_BOOL) - {"idle_lock_minutes"})
    if unknown:
        log.warning("deployment config has unknown keys, ignored: %s", ", ".join(unknown))
    flags = {key: data.get(key, default) for key, default in _OPTIONAL_BOOL.items()}
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise DeploymentConfigError(f"deployment config key {key!r} must be true or false")
    config = DeploymentConfig(
        server_url=_check_url(data["server_url"]),
        organisation=data["organisation"].strip(),
        ca_certificate=data["ca_certificate"].strip() + "\n",
        idle_lock_minutes=_check_idle_lock(data.get("idle_lock_minutes", _IDLE_LOCK_DEFAULT)),
        **flags,
    )
    _check_ca(config.ca_certificate)
    return config


def _check_ca(ca_pem: str) -> None:
    """Check that OpenSSL takes ``ca_pem`` as trust anchors (before the first window, without cryptography).

    :func:`build_ssl_context` parses the certificates again, strictly, when the client connects.
    """
    try:
        ssl.create_default_context(cadata=ca_pem.encode("ascii").decode("ascii"))
    except (ssl.SSLError, UnicodeEncodeError, ValueError) as exc:
        raise DeploymentConfigError("deployment config ca_certificate is not a valid PEM certificate") from exc


def _check_idle_lock(value: object) -> int:
    low, high = _IDLE_LOCK_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DeploymentConfigError(f"deployment config key 'idle_lock_minutes' must be a whole number {low}..{high}")
    return value


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme != "https":
        raise DeploymentConfigError("deployment config server_url must start with https://")
    if not parts.hostname:
        raise DeploymentConfigError("deployment config server_url has no host name")
    if parts.path.strip("/") or parts.query or parts.fragment or parts.username or parts.password:
        raise DeploymentConfigError("deployment config server_url must be scheme, host and port only")
    try:
        parts.port  # noqa: B018 - parsing the port validates it
    except ValueError as exc:
        raise DeploymentConfigError("deployment config server_url has an invalid port") from exc
    return f"https://{parts.netloc}"


def build_ssl_context(ca_pem: str) -> ssl.SSLContext:
    """Build a TLS client context that trusts only the given CA.

    No system store is loaded; hostnames are checked; TLS 1.2 is the minimum.

    Args:
        ca_pem: PEM text of one or more CA certificates.

    Returns:
        The context.

    Raises:
        DeploymentConfigError: The PEM holds no valid certificate.
    """
    from cryptography import x509  # noqa: PLC0415 - lazy: built after the first window is shown

    try:
        certificates = x509.load_pem_x509_certificates(ca_pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise DeploymentConfigError("deployment config ca_certificate is not a valid PEM certificate") from exc
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    try:
        context.load_verify_locations(cadata=ca_pem)
    except ssl.SSLError as exc:
        raise DeploymentConfigError("deployment config ca_certificate cannot be used as a trust anchor") from exc
    if len(certificates) != len(context.get_ca_certs()):
        log.warning("deployment config ca_certificate holds certificates that are not CAs")
    return context


def save_user_copy(raw: bytes, directory: Path | None = None) -> Path:
    """Save validated config bytes into the per-user config directory, atomically.

    Args:
        raw: Bytes already validated by :func:`parse_deployment_config`.
        directory: Target directory; defaults to :func:`user_config_dir`.

    Returns:
        The path written.

    Raises:
        DeploymentConfigError: The directory or file cannot be written.
    """
    target_dir = directory or user_config_dir()
    target = target_dir / CONFIG_FILE_NAME
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        write_atomically(target, raw)
    except OSError as exc:
        raise DeploymentConfigError(f"cannot save deployment config copy in {target_dir}: {exc.strerror}") from exc
    return target
