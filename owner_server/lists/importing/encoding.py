"""Deciding the text encoding of a CSV file by reading all of it, strictly.

Order: UTF-16 (only with its byte-order mark, as Excel's "Unicode text" writes
it), UTF-8 (with or without BOM), then Windows-1250 or ISO-8859-2. The whole
file is decoded in fixed-size chunks, so memory stays flat and a bad byte at
the end of a million rows is found before the first row is imported.

Windows-1250 and ISO-8859-2 both decode almost any byte, so the choice between
them is made on evidence: each byte whose Polish letter exists in one encoding
only (``0xB9`` is ``ą`` in Windows-1250, ``0xB1`` is ``ą`` in ISO-8859-2, ...)
is a vote. Bytes 0x80-0x9F are C1 control codes in ISO-8859-2, never text, so
their presence rules ISO-8859-2 out. Ties go to Windows-1250, what Polish Excel
writes. A file that is none of these is refused, never decoded with
replacement characters.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

from owner_server.lists.importing.errors import ImportFileError

__all__ = ["CP1250", "ISO_8859_2", "UTF8", "UTF16", "check_encoding", "detect_encoding", "python_codec"]

UTF8 = "utf-8"
UTF16 = "utf-16"
CP1250 = "cp1250"
ISO_8859_2 = "iso-8859-2"

_CHUNK = 256 * 1024
_ASCII = bytes(range(0x80))
_POLISH = set("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")


def _evidence(mine: str, other: str) -> bytes:
    """Bytes that decode to a Polish letter in ``mine`` but not in ``other``."""
    found = bytearray()
    for b in range(0x80, 0x100):
        char = bytes([b]).decode(mine, errors="replace")
        if char in _POLISH and bytes([b]).decode(other, errors="replace") not in _POLISH:
            found.append(b)
    return bytes(found)


_CP1250_LETTERS = _evidence(CP1250, ISO_8859_2)  # 8C 8F 9C 9F A5 B9
_ISO_LETTERS = _evidence(ISO_8859_2, CP1250)  # A1 A6 AC B1 B6 BC
_NOT_C1 = bytes(b for b in range(256) if not 0x80 <= b <= 0x9F)


def python_codec(encoding: str) -> str:
    """The codec to open a file with for a decided or forced encoding.

    UTF-8 is read as ``utf-8-sig`` so a byte-order mark never reaches a value.

    Args:
        encoding: An encoding name Python knows.

    Returns:
        The codec name to pass to ``open``.

    Raises:
        ImportFileError: If Python has no codec of that name.
    """
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ImportFileError("The encoding name is not one Python knows (try utf-8 or cp1250).") from None
    return "utf-8-sig" if name in ("utf-8", "utf-8-sig") else name


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            yield chunk


def check_encoding(path: Path, codec: str) -> None:
    """Decode the whole file strictly with ``codec``.

    Args:
        path: The file.
        codec: A codec name from :func:`python_codec`.

    Raises:
        ImportFileError: If some bytes are not valid in that encoding.
    """
    decoder = codecs.getincrementaldecoder(codec)("strict")
    try:
        for chunk in _chunks(path):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise ImportFileError(f"The file is not valid {codec} text; pass the right --encoding.") from None


def detect_encoding(path: Path) -> str:
    """Decide the encoding of a text file from all of its bytes.

    Args:
        path: The file.

    Returns:
        One of ``UTF16``, ``UTF8``, ``CP1250``, ``ISO_8859_2``.

    Raises:
        ImportFileError: If the file looks binary or is in none of these encodings.
    """
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        check_encoding(path, UTF16)
        return UTF16
    if _is_utf8(path):
        return UTF8
    cp1250_valid, c1_bytes, cp_votes, iso_votes = True, False, 0, 0
    for chunk in _chunks(path):
        high = chunk.translate(None, _ASCII)
        if not high:
            continue
        if cp1250_valid:
            try:
                high.decode(CP1250)
            except UnicodeDecodeError:
                cp1250_valid = False
        c1_bytes = c1_bytes or bool(high.translate(None, _NOT_C1))
        cp_votes += sum(high.count(b) for b in _CP1250_LETTERS)
        iso_votes += sum(high.count(b) for b in _ISO_LETTERS)
    if cp1250_valid and (c1_bytes or cp_votes >= iso_votes):
        return CP1250
    if not c1_bytes:
        return ISO_8859_2
    raise ImportFileError(
        "The file is not UTF-8, Windows-1250 or ISO-8859-2 text; save it as CSV UTF-8 or pass --encoding."
    )


def _is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder(UTF8)("strict")
    first = True
    try:
        for chunk in _chunks(path):
            if first and b"\x00" in chunk:
                raise ImportFileError("The file holds NUL bytes; it is not a CSV text file.")
            first = False
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True
