"""Verify Hookline webhook deliveries (Python 3.9+, standard library only)."""
import base64
import hashlib
import hmac
import time

# Reject deliveries whose webhook-timestamp is further than this from your clock (replays).
TOLERANCE_SECONDS = 5 * 60


def verify_hookline_signature(body: bytes, headers, secret: str) -> bool:
    """X-Hookline-Signature: hex HMAC-SHA256 of the raw body, keyed by the whole secret.

    After a secret rotation, X-Hookline-Signature-Previous carries the previous secret's
    signature for the grace period: a receiver still on the old secret keeps verifying.
    """
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest().encode()
    received = [headers.get(name, "") for name in (
        "X-Hookline-Signature", "X-Hookline-Signature-Previous")]
    return any(hmac.compare_digest(expected, value.strip().lower().encode("utf-8"))
               for value in received if value)


def verify_standard_webhook(body: bytes, headers, secret: str, now=None) -> bool:
    """Standard Webhooks: webhook-id, webhook-timestamp and webhook-signature headers."""
    message_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (message_id and timestamp.isdigit() and signatures):
        return False
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    key = base64.b64decode(secret.split("_", 1)[1] if secret.startswith("whsec_") else secret)
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(digest).decode()
    # During a secret rotation the header carries one signature per secret.
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures.split())

