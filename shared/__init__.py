"""Custos shared package: the wire protocol and rules both sides agree on.

Pure and bounded: no IO, no Qt, no FastAPI, no database. Imported by both the
owner server and the agent client; depends on neither.
"""

from shared.errors import CustosError, ErrorCode
from shared.limits import LIMITS, Limits
from shared.version import PROTOCOL_VERSION, __version__

__all__ = [
    "LIMITS",
    "PROTOCOL_VERSION",
    "CustosError",
    "ErrorCode",
    "Limits",
    "__version__",
]
