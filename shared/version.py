"""Package and wire-protocol versions."""

__all__ = ["PROTOCOL_VERSION", "__version__"]

__version__ = "0.1.0"
#: Bumped on any incompatible change to :mod:`shared.protocol`.
PROTOCOL_VERSION = 1
