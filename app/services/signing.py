"""The one signing function: Hookline's hex HMAC header and the Standard Webhooks headers."""
import base64
import hashlib
import hmac


def hex_signature(secret, body):
    """Hex HMAC-SHA256 of the body bytes keyed by the secret string's UTF-8 bytes."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def standard_signature(secret, message_id, timestamp, body):
    """`v1,<base64>`: HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed by the decoded whsec_ key."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_headers(body, secrets, *, message_id, timestamp, prefix):
    """Every signature header of one attempt.

    `secrets` lists the current secret first, then the previous one during its grace period.
    The hex header is keyed by the current secret and, during the grace period,
    `<prefix>-Signature-Previous` by the previous one; webhook-signature carries one
    signature per secret, space-separated. Receivers on either secret verify, with either
    scheme, until the grace period ends.
    """
    headers = {f"{prefix}-Signature": hex_signature(secrets[0], body)}
    if len(secrets) > 1:
        headers[f"{prefix}-Signature-Previous"] = hex_signature(secrets[1], body)
    headers.update({
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            standard_signature(secret, message_id, timestamp, body) for secret in secrets
        ),
    })
    return headers
