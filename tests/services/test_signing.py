"""Signatures: the seed's hex HMAC check and the Standard Webhooks scheme, with rotation."""
import hashlib
import hmac
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from app.services import endpoints, signing

BODY = '{"event_id":"e-1","data":{"name":"Zoë"}}'.encode()


def seed_check(payload, signature, secret):
    """The verification code of seed 001, unchanged."""
    expected_signature = hmac.new(
        secret.encode("utf-8"), payload.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected_signature, signature)


def headers_for(secrets, body=BODY, timestamp=None):
    return signing.signature_headers(
        body, secrets, message_id="e-1", timestamp=timestamp or int(time.time()),
        prefix="X-Hookline",
    )


def test_hex_signature_passes_the_seed_check_and_fails_for_another_body():
    secret = endpoints.generate_secret()
    headers = headers_for([secret])
    assert seed_check(BODY.decode(), headers["X-Hookline-Signature"], secret)
    assert not seed_check(BODY.decode() + " ", headers["X-Hookline-Signature"], secret)
    assert not seed_check(BODY.decode(), headers["X-Hookline-Signature"], secret + "x")


def test_standard_webhooks_library_verifies_the_headers():
    secret = endpoints.generate_secret()
    headers = headers_for([secret])
    assert headers["webhook-id"] == "e-1"
    assert Webhook(secret).verify(BODY, headers) == {"event_id": "e-1", "data": {"name": "Zoë"}}
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoints.generate_secret()).verify(BODY, headers)


def test_during_rotation_either_secret_verifies():
    new, old = endpoints.generate_secret(), endpoints.generate_secret()
    headers = headers_for([new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(BODY, headers)
    Webhook(old).verify(BODY, headers)
    assert seed_check(BODY.decode(), headers["X-Hookline-Signature"], new)


def test_standard_signature_matches_the_library_signer():
    secret = endpoints.generate_secret()
    stamp = 1736951400
    ours = signing.standard_signature(secret, "msg-1", stamp, BODY)
    theirs = Webhook(secret).sign("msg-1", datetime.fromtimestamp(stamp, UTC), BODY.decode())
    assert ours == theirs
