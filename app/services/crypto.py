"""Encryption at rest for endpoint secrets and header values (Fernet, key from settings)."""
import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
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


def _current():
    config = current_app.config
    return _fernet(config.get("WEBHOOK_ENCRYPTION_KEY") or config["SECRET_KEY"])


def encrypt(text: str) -> str:
    """Encrypt a string with the key derived from WEBHOOK_ENCRYPTION_KEY (else SECRET_KEY)."""
    return _current().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """Decrypt a value made by encrypt(); DecryptionError if the key does not match."""
    try:
        return _current().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as exc:
        raise DecryptionError("Stored value cannot be decrypted with the configured key") from exc
