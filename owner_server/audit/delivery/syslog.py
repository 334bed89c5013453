"""RFC 5424 syslog messages for a SIEM, over UDP (RFC 5426) or TCP with octet counting (RFC 6587).

A message looks like (one line)::

    <34>1 2026-12-01T18:55:04+00:00 owner-host custos 4242 alert
    [custos@32473 ref="..." rule="velocity" action="suspend" agent="anna.k" outsourcer="BPO One" campaign="Autumn"]
    [figures@32473 count="31" minutes="10" threshold="30"] BOM velocity (suspend): agent anna.k, ...

The SD-IDs use 32473, the private enterprise number reserved for examples
(RFC 5612). Severity is 2 (critical) for a suspension, 4 (warning) otherwise.
"""

from __future__ import annotations

import json
import os
import re
import socket

from owner_server.audit.delivery.message import AlertMessage
from owner_server.core.alert_settings import SyslogChannel

__all__ = ["SyslogSender", "format_rfc5424", "frame_octet_counting"]

SD_ALERT = "custos@32473"
SD_FIGURES = "figures@32473"
BOM = "\ufeff"
MAX_UDP_BYTES = 8192
_SD_NAME_BAD = re.compile(r'[^!-~]|[=\]"]')


def _param(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _sd_name(key: str) -> str:
    return _SD_NAME_BAD.sub("_", key)[:32] or "_"


def format_rfc5424(message: AlertMessage, config: SyslogChannel, *, hostname: str, procid: int) -> bytes:
    """One RFC 5424 message (no trailing newline), UTF-8.

    Args:
        message: The alert.
        config: Facility and APP-NAME.
        hostname: The HOSTNAME field.
        procid: The PROCID field (the server's pid).
    """
    severity = 2 if message.action == "suspend" else 4
    pri = config.facility * 8 + severity
    fields = {
        "ref": message.ref,
        "rule": message.rule,
        "action": message.action,
        "agent": message.agent or "",
        "outsourcer": message.outsourcer or "",
        "campaign": message.campaign or "",
    }
    sd = "[" + SD_ALERT + "".join(f' {k}="{_param(v)}"' for k, v in fields.items()) + "]"
    if message.figures:
        sd += "[" + SD_FIGURES + "".join(f' {_sd_name(k)}="{_param(v)}"' for k, v in message.figures.items()) + "]"
    host = (hostname or "-")[:255]
    stamp = message.raised_at.isoformat(timespec="microseconds").replace("+00:00", "Z")
    header = f"<{pri}>1 {stamp} {host} {config.app_name} {procid} alert"
    return f"{header} {sd} {BOM}{message.summary()}".encode()


def frame_octet_counting(payload: bytes) -> bytes:
    """RFC 6587 section 3.4.1 framing: the length in decimal, a space, the message."""
    return str(len(payload)).encode("ascii") + b" " + payload


class SyslogSender:
    """Sends alerts to a syslog collector.

    Args:
        config: The ``[alerts.syslog]`` settings.
    """

    name = "syslog"

    def __init__(self, config: SyslogChannel) -> None:
        self.config = config
        self.hostname = config.hostname or socket.gethostname().split(".")[0] or "-"

    def send(self, message: AlertMessage) -> None:
        """Deliver one alert (over UDP a datagram sent counts as delivered).

        Raises:
            OSError: The collector cannot be reached (TCP) or the datagram cannot be sent.
        """
        cfg = self.config
        payload = format_rfc5424(message, cfg, hostname=self.hostname, procid=os.getpid())
        if cfg.transport == "tcp":
            with socket.create_connection((cfg.host, cfg.port), timeout=cfg.timeout_seconds) as sock:
                sock.sendall(frame_octet_counting(payload))
            return
        infos = socket.getaddrinfo(cfg.host, cfg.port, type=socket.SOCK_DGRAM)
        family, kind, proto, _name, address = infos[0]
        with socket.socket(family, kind, proto) as sock:
            sock.settimeout(cfg.timeout_seconds)
            sock.sendto(payload[:MAX_UDP_BYTES], address)
