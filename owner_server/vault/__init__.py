"""The vault: cryptography, key wrapping, field encryption, blind indexes.

Built on ``cryptography`` (AES-256-GCM per NIST SP 800-38D, HMAC-SHA256 per
RFC 2104). No key ever appears in a log, an exception or an audit entry.
"""
