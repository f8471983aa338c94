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
    # The hex scheme carries the previous secret's signature too: a receiver on the seed's
    # check with the old secret keeps verifying until the grace period ends.
    assert seed_check(BODY.decode(), headers["X-Hookline-Signature-Previous"], old)
    assert not seed_check(BODY.decode(), headers["X-Hookline-Signature-Previous"], new)


def test_without_rotation_there_is_no_previous_signature():
    assert "X-Hookline-Signature-Previous" not in headers_for([endpoints.generate_secret()])


def test_standard_signature_matches_the_library_signer():
    secret = endpoints.generate_secret()
    stamp = 1736951400
    ours = signing.standard_signature(secret, "msg-1", stamp, BODY)
    theirs = Webhook(secret).sign("msg-1", datetime.fromtimestamp(stamp, UTC), BODY.decode())
    assert ours == theirs


def test_a_receiver_on_the_hex_scheme_keeps_verifying_through_a_rotation(app, org, receiver):
    """Before, X-Hookline-Signature switched to the new secret at once and receivers on the
    seed's hex check failed until updated; now the previous secret signs too, until the
    grace period ends."""
    from sqlalchemy import update

    from app.extensions import db
    from app.models import Endpoint, utcnow
    from app.services import events
    from tests.jobs.engine import run_worker

    org_id = org.id
    endpoint, old = endpoints.create_endpoint(org_id, None, {
        "name": "Hex", "url": receiver.url, "events": ["scan.completed"]})
    new = endpoints.rotate_secret(org_id, None, endpoint)

    events.ingest(org_id, "scan.completed", {})
    run_worker(app)
    during = receiver.wait_for(1)[0]
    assert seed_check(during.body.decode(), during.headers["X-Hookline-Signature"], new)
    assert seed_check(during.body.decode(), during.headers["X-Hookline-Signature-Previous"], old)

    db.session.execute(update(Endpoint).values(previous_secret_expires_at=utcnow()))
    db.session.commit()
    events.ingest(org_id, "scan.completed", {})
    run_worker(app)
    after = receiver.wait_for(2)[1]
    assert seed_check(after.body.decode(), after.headers["X-Hookline-Signature"], new)
    assert "X-Hookline-Signature-Previous" not in after.headers
