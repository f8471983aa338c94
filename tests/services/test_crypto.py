"""Encryption at rest: round trip, a key from settings, and refusal under another key."""
import pytest

from app.services import crypto


def test_round_trip_and_no_plaintext(app):
    token = crypto.encrypt("whsec_top-secret")
    assert "top-secret" not in token
    assert crypto.decrypt(token) == "whsec_top-secret"
    assert crypto.encrypt("same") != crypto.encrypt("same")  # fresh IV each time


def test_own_key_setting_wins_over_secret_key(make_app):
    one = make_app(WEBHOOK_ENCRYPTION_KEY="key-one")
    two = make_app(WEBHOOK_ENCRYPTION_KEY="key-two")
    plain = make_app(WEBHOOK_ENCRYPTION_KEY="")
    with one.app_context():
        token = crypto.encrypt("value")
    with two.app_context(), pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token)
    with plain.app_context(), pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token)
    with one.app_context():
        assert crypto.decrypt(token) == "value"


def test_garbage_is_a_clear_error(app):
    with pytest.raises(crypto.DecryptionError, match="cannot be decrypted"):
        crypto.decrypt("not-a-token")
