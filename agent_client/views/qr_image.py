"""A QR symbol as a QImage (segno), one pixel per module, for the watermark to draw scaled up."""

from __future__ import annotations

import segno
from PySide6.QtGui import QColor, QImage

__all__ = ["QUIET_ZONE", "qr_image"]

# Light modules around the symbol, as ISO/IEC 18004 asks (4 modules).
QUIET_ZONE = 4
# Dark modules: near black, opaque, on the light background (contrast survives a photo or a JPEG).
DARK = QColor(24, 24, 24)
LIGHT = QColor(250, 250, 250)


def qr_image(payload: bytes) -> QImage:
    """``payload`` as a QR symbol in byte mode, error correction M, with its quiet zone.

    Args:
        payload: The bytes to encode (a watermark token: 89 bytes give a 41 x 41 symbol).

    Returns:
        An RGB32 image of (modules + 2 x :data:`QUIET_ZONE`) pixels a side;
        draw it scaled by a whole factor without smoothing.

    Raises:
        segno.DataOverflowError: The payload does not fit any QR version.
    """
    symbol = segno.make_qr(payload, error="m", boost_error=False, mode="byte")
    rows = list(symbol.matrix_iter(scale=1, border=QUIET_ZONE))
    side = len(rows)
    image = QImage(side, side, QImage.Format.Format_RGB32)
    image.fill(LIGHT)
    dark = DARK.rgb()
    for y, row in enumerate(rows):
        for x, module in enumerate(row):
            if module:
                image.setPixel(x, y, dark)
    return image
