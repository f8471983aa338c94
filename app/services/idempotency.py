"""Idempotency keys of POST /events: one event per key and organization for 24 hours."""
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select

from ..extensions import db
from ..models import IdempotencyKey, insert_or_update, utcnow

HEADER = "Idempotency-Key"
WINDOW = timedelta(hours=24)
MAX_LENGTH = 255
_PRINTABLE_ASCII = re.compile(rf"[\x20-\x7e]{{1,{MAX_LENGTH}}}")


class KeyInvalid(ValueError):
    """The key is not 1 to 255 printable ASCII characters."""


class KeyReused(ValueError):
    """The key was used within the window for a different event body."""


@dataclass(frozen=True)
class Earlier:
    """The event an earlier request with the same key created, and its delivery count."""

    event_id: str
    deliveries: int


def check_key(key):
    """Raise KeyInvalid unless `key` is 1 to 255 printable ASCII characters."""
    if not isinstance(key, str) or not _PRINTABLE_ASCII.fullmatch(key):
        raise KeyInvalid(f"{HEADER} must be 1 to {MAX_LENGTH} printable ASCII characters")


def fingerprint(event_type, data):
    """SHA-256 of the event type and data: equal for equal bodies, whatever the key order."""
    text = json.dumps([event_type, data], sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def claim(org_id, key, fingerprint_, event_id, deliveries, now=None):
    """Record `key` for a new event in the current transaction; returns None when it is ours.

    When the key is already live (possibly committed by a concurrent request a moment
    ago: the insert waits for it), returns the Earlier event, or raises KeyReused when
    that event had another body. The caller then rolls its transaction back. A key older
    than the window is taken over.
    """
    now = now or utcnow()
    table = IdempotencyKey.__table__
    statement = insert_or_update(table).values(
        org_id=org_id, key=key, fingerprint=fingerprint_, event_id=event_id,
        deliveries=deliveries, created_at=now,
    )
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.org_id, table.c.key],
        set_={name: statement.excluded[name]
              for name in ("fingerprint", "event_id", "deliveries", "created_at")},
        where=table.c.created_at < now - WINDOW,
    ).returning(table.c.event_id)
    if db.session.execute(statement).first() is not None:
        return None
    earlier = db.session.execute(
        select(table.c.fingerprint, table.c.event_id, table.c.deliveries)
        .where(table.c.org_id == org_id, table.c.key == key)
    ).one()
    if earlier.fingerprint != fingerprint_:
        raise KeyReused(f"{HEADER} {key!r} was already used for a different event in the "
                        f"last {WINDOW.total_seconds() / 3600:g} hours")
    return Earlier(earlier.event_id, earlier.deliveries)


def purge(now=None):
    """Delete keys older than the window; returns how many went."""
    result = db.session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < (now or utcnow()) - WINDOW)
    )
    db.session.commit()
    return result.rowcount
