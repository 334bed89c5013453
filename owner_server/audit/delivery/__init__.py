"""Delivery of alerts to the owner: email (SMTP + STARTTLS), signed webhook, RFC 5424 syslog.

:class:`~owner_server.audit.delivery.worker.DeliveryWorker` runs inside
``custos-server serve``; :mod:`.queue` explains how several server processes
share the work so each alert goes out once per channel.
"""

from owner_server.audit.delivery.message import AlertMessage, load_message
from owner_server.audit.delivery.worker import Channel, DeliveryWorker, build_channels

__all__ = ["AlertMessage", "Channel", "DeliveryWorker", "build_channels", "load_message"]
