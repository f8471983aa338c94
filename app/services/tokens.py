"""API tokens: shown once at creation, stored only as a SHA-256 hash, revocable."""
import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, select, update

from ..extensions import db
from ..models import ApiToken, Organization, utcnow

TOKEN_PREFIX = "hkl_"
LAST_USED_PRECISION = timedelta(minutes=1)


class TokenError(ValueError):
    """A token could not be created or changed as asked."""


def hash_token(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(org_id, name, created_by_id=None):
    """Create a token; returns (ApiToken, plaintext). The plaintext is never stored."""
    name = (name or "").strip()
    if not name:
        raise TokenError("Token name is required")
    if len(name) > 200:
        raise TokenError("Token name must be at most 200 characters")
    if db.session.get(Organization, org_id) is None:
        raise TokenError(f"No organization with id {org_id}")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        org_id=org_id,
        name=name,
        token_hash=hash_token(plaintext),
        prefix=plaintext[:10],
        created_by_id=created_by_id,
    )
    db.session.add(token)
    db.session.commit()
    return token, plaintext


# Built once: every API call looks its token up. A Core query: the ORM's identity map and
# instance loading would cost more than the statement.
_TOKENS = ApiToken.__table__
_BY_HASH = select(_TOKENS).where(_TOKENS.c.token_hash == bindparam("token_hash"))


def verify_token(plaintext):
    """The live ApiToken for a presented token, or None; records its last use.

    The token returned is a copy of its row, in no session: nothing later in the request
    flushes or reloads it. The last-use time is written at most once a minute, so a busy
    integration does not turn every API call into a database write.
    """
    if not plaintext or len(plaintext) > 200:
        return None
    row = db.session.execute(_BY_HASH, {"token_hash": hash_token(plaintext)}).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    token = ApiToken(**row._mapping)
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        db.session.execute(
            update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        token.last_used_at = now
    return token


def list_tokens(org_id):
    """Every token of an organization, newest first."""
    return db.session.execute(
        ApiToken.for_org(org_id).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).scalars().all()


def revoke_token(org_id, token_id):
    """Revoke one of the organization's tokens; returns it, or None if not found."""
    token = ApiToken.get_in_org(org_id, token_id)
    if token is None:
        return None
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    return token
