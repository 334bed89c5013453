"""From a photo or screenshot of an agent's screen to the issuance it shows: read the QR, verify it, look it up.

Design:
    * The image is read with Pillow and searched with zxing-cpp, which finds
      QR codes at any rotation and scale (``try_rotate``, ``try_downscale``);
      only QR symbols in byte mode of :data:`~owner_server.audit.watermark.TOKEN_LEN`
      bytes are candidates.
    * Each candidate is verified with the installation's watermark key
      (:func:`~owner_server.audit.watermark.verify_token`). A code that is
      found but verifies under no key of ours is a forgery, an alteration, or
      another installation's: :class:`ForgedCodeError`.
    * Each verified code is resolved to the lease and what an owner's lookup
      shows of it (:mod:`owner_server.audit.lookup`): the agent's login and
      outsourcer, the contact's stored ref, the campaign. Never a phone number
      or a field of the contact.
    * Each trace is audited (``watermark_decoded`` on the contact, with the
      lease id, so the contact's lookup shows it), in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from PIL import Image, UnidentifiedImageError
from sqlmodel import Session

from owner_server.audit import log as audit
from owner_server.audit.watermark import TOKEN_LEN, ForgedCodeError, WatermarkClaims, verify_token
from owner_server.models import Campaign, Contact, Lease, Outsourcer, User
from shared.errors import ValidationError

__all__ = ["ForgedCodeError", "Issuance", "NoCodeError", "find_codes", "read_image", "trace", "verified_claims"]

#: Largest image read, in pixels (a 100-megapixel photo; Pillow's own bomb check is looser).
MAX_PIXELS = 100_000_000


class NoCodeError(ValidationError):
    """The image holds no Custos watermark code that could be read."""


@dataclass(frozen=True, slots=True)
class Issuance:
    """One verified watermark code, resolved.

    Attributes:
        lease_id: The lease the code names.
        agent_id: The agent's user id the code names.
        issued_at: The issue time the code names (UTC).
        found: Whether the lease is in this installation's database (False: the rest are None).
        agent: The lease holder's login.
        outsourcer: The holder's organisation.
        contact_ref: The contact's stored ref (what ``lookup --contact`` takes).
        campaign: The campaign's name.
    """

    lease_id: str
    agent_id: int
    issued_at: datetime
    found: bool
    agent: str | None = None
    outsourcer: str | None = None
    contact_ref: str | None = None
    campaign: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The JSON shape (times ISO 8601, UTC)."""
        return {
            "lease_id": self.lease_id,
            "agent_id": self.agent_id,
            "issued_at": self.issued_at.isoformat(),
            "found": self.found,
            "agent": self.agent,
            "outsourcer": self.outsourcer,
            "contact_ref": self.contact_ref,
            "campaign": self.campaign,
        }


#: The formats a photo or screenshot comes in; others (EPS: Ghostscript, PDF …) are never opened.
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF")


def read_image(path: Path) -> Image.Image:
    """Read a photo or screenshot (:data:`IMAGE_FORMATS` only), as 8-bit grayscale.

    Raises:
        ValidationError: The file cannot be read, is not such an image, or is larger than :data:`MAX_PIXELS`.
    """
    try:
        with Image.open(path, formats=IMAGE_FORMATS) as img:
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise ValidationError(f"{path.name} is too large ({width} x {height} pixels)")
            return img.convert("L")
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, SyntaxError, ValueError) as exc:
        raise ValidationError(f"{path.name} cannot be read as an image") from exc


def find_codes(image: Image.Image) -> list[bytes]:
    """The payloads of the QR codes in ``image`` that have a watermark token's size, in the order found."""
    gray = image if image.mode == "L" else image.convert("L")
    pixels = memoryview(gray.tobytes()).cast("B", (gray.height, gray.width))  # plain 8-bit rows, no PIL interop
    found = zxingcpp.read_barcodes(pixels, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    payloads: list[bytes] = []
    for code in found:
        payload = bytes(code.bytes)
        if code.valid and len(payload) == TOKEN_LEN and payload not in payloads:
            payloads.append(payload)
    return payloads


def verified_claims(payloads: list[bytes], public_key: Ed25519PublicKey) -> list[WatermarkClaims]:
    """The claims of each payload signed by ``public_key``.

    Raises:
        NoCodeError: No payload at all.
        ForgedCodeError: Payloads, none of them signed by this key.
    """
    if not payloads:
        raise NoCodeError("no Custos watermark code found in the image")
    claims: list[WatermarkClaims] = []
    for payload in payloads:
        try:
            claims.append(verify_token(public_key, payload))
        except ValidationError:  # a forgery or a malformed token: a verified one may still follow
            continue
    if not claims:
        raise ForgedCodeError(
            f"the watermark code is not signed by this installation ({len(payloads)} code(s) found, none genuine)"
        )
    return claims


def trace(session: Session, *, claims: WatermarkClaims, actor: str) -> Issuance:
    """Resolve a verified code to its lease, agent, contact and campaign, and audit that it was.

    Args:
        session: The caller's transaction (the audit entry is written in it).
        claims: A verified code's claims.
        actor: Who decoded it (``admin:cli``).

    Returns:
        The issuance; ``found`` False when the lease is not in this database.
    """
    lease = session.get(Lease, claims.lease_id)
    if lease is None:
        audit.append(
            session,
            actor=actor,
            action="watermark_decoded",
            object_type="lease",
            object_id=claims.lease_id,
            details={"lease_id": claims.lease_id, "agent_id": claims.agent_id, "found": False},
        )
        return Issuance(claims.lease_id, claims.agent_id, claims.issued_at, found=False)
    holder, contact = session.get(User, lease.user_id), session.get(Contact, lease.contact_id)
    campaign = session.get(Campaign, lease.campaign_id)
    # the signature makes a mismatch impossible unless the database was altered
    if holder is None or contact is None or campaign is None or holder.id != claims.agent_id:
        raise ValidationError("the lease in the database does not match the signed code (agent or contact)")
    outsourcer = session.get(Outsourcer, holder.outsourcer_id) if holder.outsourcer_id is not None else None
    audit.append(
        session,
        actor=actor,
        action="watermark_decoded",
        object_type="contact",
        object_id=contact.ref,
        details={"lease_id": claims.lease_id, "agent_id": claims.agent_id, "found": True},
    )
    return Issuance(
        claims.lease_id,
        claims.agent_id,
        claims.issued_at,
        found=True,
        agent=holder.login,
        outsourcer=outsourcer.name if outsourcer else None,
        contact_ref=contact.ref,
        campaign=campaign.name,
    )
