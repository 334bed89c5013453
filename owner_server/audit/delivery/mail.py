"""Email over SMTP, upgraded with STARTTLS (RFC 3207) before anything is sent."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from owner_server.audit.delivery.errors import DeliveryError
from owner_server.audit.delivery.message import AlertMessage
from owner_server.core.alert_settings import EmailChannel

__all__ = ["EmailSender", "build_email"]

#: Lines up to RFC 5322's 998 octets: a long subject is not folded inside an encoded word.
POLICY = SMTP.clone(max_line_length=998)


def build_email(message: AlertMessage, config: EmailChannel) -> EmailMessage:
    """The email for one alert: plain text, subject with rule, action and agent.

    Args:
        message: The alert.
        config: The channel settings (sender, recipients, subject prefix).
    """
    mail = EmailMessage(policy=POLICY)
    mail["Subject"] = f"{config.subject_prefix} {message.summary()}".strip()
    mail["From"] = config.sender
    mail["To"] = ", ".join(config.recipients)
    mail["Date"] = format_datetime(message.raised_at)
    mail["Message-ID"] = make_msgid(idstring=message.ref[:12], domain=config.sender.rsplit("@", 1)[1])
    mail["X-Custos-Alert"] = message.ref
    mail.set_content(message.text())
    return mail


class EmailSender:
    """Sends alerts to the configured recipients; refuses a server that does not offer STARTTLS.

    Args:
        config: The ``[alerts.email]`` settings.
    """

    name = "email"

    def __init__(self, config: EmailChannel) -> None:
        self.config = config
        self._tls = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)

    def send(self, message: AlertMessage) -> None:
        """Deliver one alert.

        Raises:
            DeliveryError: No STARTTLS, the password variable is unset.
            OSError, smtplib.SMTPException, ssl.SSLError: The server or network failed.
        """
        cfg = self.config
        try:
            password = cfg.password()
        except ValueError as exc:
            raise DeliveryError(str(exc)) from None
        with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds) as smtp:
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise DeliveryError("the SMTP server does not offer STARTTLS; nothing sent in clear")
            smtp.starttls(context=self._tls)
            smtp.ehlo()
            if cfg.username is not None and password is not None:
                smtp.login(cfg.username, password)
            smtp.send_message(build_email(message, cfg))
