"""Secrets adaptd must read back (the secrets that sign webhooks and verify trigger calls) are
stored sealed with Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`).

The keys come from `ADAPTD_SECRET_KEYS`, newest first: the first seals, every one opens, so a
key is rotated by putting a new one in front, re-sealing (`adaptd migrate` does it) and then
dropping the old one. Without the setting, a key is made once in the data directory (mode 0600)
and shared by the processes that share that directory; processes on different machines must
all be given the same `ADAPTD_SECRET_KEYS`."""

import contextlib
import logging
import os
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from app.core.config import Settings
from app.core.problems import ServiceUnavailable

LEGACY_PLAINTEXT_PREFIX = "whsec_"
logger = logging.getLogger(__name__)


class UnreadableSecret(ServiceUnavailable):
    """A sealed secret that none of the configured keys opens: the service cannot sign or
    verify with it until its operator restores the key."""


class Keyring:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("a keyring needs at least one key")
        self._primary = Fernet(keys[0])
        self._all = MultiFernet([Fernet(key) for key in keys])

    def seal(self, secret: str) -> str:
        return self._primary.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """The secret; a value stored before secrets were sealed is returned as it is."""
        if sealed.startswith(LEGACY_PLAINTEXT_PREFIX):
            return sealed
        try:
            return self._all.decrypt(sealed.encode()).decode()
        except InvalidToken:
            logger.error(
                "a stored secret cannot be opened with any key in ADAPTD_SECRET_KEYS; "
                "was a key removed before the secrets were re-sealed?"
            )
            raise UnreadableSecret(
                "a stored secret cannot be read by the service; its operator must restore "
                "the key it was sealed with"
            ) from None

    def is_current(self, sealed: str) -> bool:
        """Whether the value is sealed with the first key (nothing to re-seal)."""
        try:
            self._primary.decrypt(sealed.encode())
        except InvalidToken:
            return False
        return True

    def reseal(self, sealed: str) -> str:
        return self.seal(self.open(sealed))


def keyring_of(settings: Settings) -> Keyring:
    configured = tuple(key.get_secret_value() for key in settings.secret_keys)
    return _keyring(configured or (_local_key(settings.secret_key_file),))


def new_key() -> str:
    return Fernet.generate_key().decode()


@lru_cache(maxsize=16)
def _keyring(keys: tuple[str, ...]) -> Keyring:
    return Keyring(list(keys))


def _local_key(path: Path) -> str:
    """The data directory's key, made on first use; two processes starting at once agree on
    one, because the key is linked into place only if none is there yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(new_key() + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
        draft.unlink()
    return path.read_text().strip()
