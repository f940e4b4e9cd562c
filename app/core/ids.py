import re
import secrets
import time

_WELL_FORMED = re.compile(r"[a-z]{1,8}_[0-9a-z]{1,40}")

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A prefixed id whose text order is its creation order (time first, then randomness)."""
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{_base32(millis, 10)}{_base32(secrets.randbits(80), 16)}"


def is_well_formed(value: str) -> bool:
    """Whether `value` could be an id at all; anything else is unknown without a query."""
    return _WELL_FORMED.fullmatch(value) is not None
