"""Encryption at rest for endpoint secrets and header values (Fernet, keys from settings)."""
import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_INFO = b"hookline endpoint secrets v1"


class DecryptionError(ValueError):
    """A stored value could not be decrypted with the configured key."""


@lru_cache(maxsize=8)
def _fernet(key_material):
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        key_material.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def _keys():
    """The key material in use: the current key first, then the old one during a change.

    Without WEBHOOK_ENCRYPTION_KEY (development only: production refuses to start) the key
    is derived from SECRET_KEY.
    """
    config = current_app.config
    current = config.get("WEBHOOK_ENCRYPTION_KEY") or config["SECRET_KEY"]
    old = config.get("WEBHOOK_ENCRYPTION_KEY_OLD") or ""
    return (current, old) if old and old != current else (current,)


def _current():
    return MultiFernet([_fernet(key) for key in _keys()])


def encrypt(text: str) -> str:
    """Encrypt a string with the current key (WEBHOOK_ENCRYPTION_KEY, else SECRET_KEY)."""
    return _current().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """Decrypt a value made by encrypt() under the current key or, while keys change, under
    WEBHOOK_ENCRYPTION_KEY_OLD; DecryptionError if neither matches."""
    try:
        return _current().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as exc:
        raise DecryptionError("Stored value cannot be decrypted with the configured key") from exc


def reencrypt(token: str) -> str:
    """The same value encrypted under the current key (its original time kept); raises
    DecryptionError if it cannot be read with the current or the old key."""
    try:
        return _current().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError) as exc:
        raise DecryptionError("Stored value cannot be decrypted with the configured key") from exc


def uses_current_key(token: str) -> bool:
    """True if the value decrypts with the current key alone (nothing left to re-encrypt)."""
    try:
        _fernet(_keys()[0]).decrypt(token.encode("ascii"))
    except (InvalidToken, ValueError):
        return False
    return True
