"""A QR symbol as a QImage (segno), one pixel per module, for the watermark to draw scaled up."""

from __future__ import annotations

from PySide6.QtGui import QImage

__all__ = ["QUIET_ZONE", "qr_image"]

QUIET_ZONE = 4
"""Light modules around the symbol, as ISO/IEC 18004 asks (4 modules)."""
DARK = 24
"""Gray level of dark modules: near black and opaque, on a light background (the contrast survives a photo, a JPEG)."""
LIGHT = 250
"""Gray level of light modules and of the quiet zone."""


def qr_image(payload: bytes) -> QImage:
    """``payload`` as a QR symbol in byte mode, error correction M, with its quiet zone.

    Args:
        payload: The bytes to encode (a watermark token: 89 bytes give a 41 x 41 symbol).

    Returns:
        An 8-bit grayscale image of (modules + 2 x :data:`QUIET_ZONE`) pixels a side;
        draw it scaled by a whole factor without smoothing.

    Raises:
        segno.DataOverflowError: The payload does not fit any QR version (a ValueError).
    """
    import segno  # noqa: PLC0415 - 30 ms of imports (xml, urllib): only once a record is shown

    symbol = segno.make_qr(payload, error="m", boost_error=False, mode="byte")
    rows = [
        bytes(DARK if module else LIGHT for module in row) for row in symbol.matrix_iter(scale=1, border=QUIET_ZONE)
    ]
    side = len(rows)
    # one constructor call over the whole buffer (copied, so the image owns its pixels)
    return QImage(b"".join(rows), side, side, side, QImage.Format.Format_Grayscale8).copy()
