"""Changing WEBHOOK_ENCRYPTION_KEY: re-encrypt every stored secret and header value."""
from dataclasses import dataclass, field

from sqlalchemy import select, update

from ..extensions import db
from ..models import Endpoint
from . import crypto

ENCRYPTED_COLUMNS = ("secret_encrypted", "previous_secret_encrypted", "headers_encrypted")
BATCH_SIZE = 500


@dataclass
class Reencrypted:
    """What one run did: values moved to the current key, values already on it, and the
    endpoints holding a value that neither key opens."""

    moved: int = 0
    current: int = 0
    unreadable: list = field(default_factory=list)


def _changes(row):
    """({column: value under the current key}, how many values were already on it)."""
    changes, current = {}, 0
    for column in ENCRYPTED_COLUMNS:
        value = getattr(row, column)
        if not value:
            continue
        if crypto.uses_current_key(value):
            current += 1
        else:
            changes[column] = crypto.reencrypt(value)
    return changes, current


def _reencrypt_row(endpoint_id, outcome):
    """Move one endpoint's values to the current key. A concurrent write (a rotation, a
    header edit) makes the guarded UPDATE match nothing; the row is then read again."""
    columns = [getattr(Endpoint, column) for column in ENCRYPTED_COLUMNS]
    while True:
        row = db.session.execute(select(*columns).where(Endpoint.id == endpoint_id)).one()
        try:
            changes, current = _changes(row)
        except crypto.DecryptionError:
            db.session.rollback()
            outcome.unreadable.append(endpoint_id)
            return
        if changes:
            guard = [getattr(Endpoint, column) == getattr(row, column) for column in changes]
            written = db.session.execute(
                update(Endpoint).where(Endpoint.id == endpoint_id, *guard).values(**changes)
                .execution_options(synchronize_session=False)
            ).rowcount
        db.session.commit()
        if not changes or written:
            outcome.moved += len(changes)
            outcome.current += current
            return


def reencrypt_all():
    """Re-encrypt the signing secrets (current and previous) and the custom header values
    of every endpoint, deleted ones too, under WEBHOOK_ENCRYPTION_KEY.

    Values are read with WEBHOOK_ENCRYPTION_KEY or WEBHOOK_ENCRYPTION_KEY_OLD. Safe to run
    while Hookline runs and to run again: values already under the current key are left
    as they are. Returns a Reencrypted summary.
    """
    outcome = Reencrypted()
    after = ""
    while True:
        ids = db.session.execute(
            select(Endpoint.id).where(Endpoint.id > after).order_by(Endpoint.id)
            .limit(BATCH_SIZE)
        ).scalars().all()
        db.session.commit()
        if not ids:
            return outcome
        for endpoint_id in ids:
            _reencrypt_row(endpoint_id, outcome)
        after = ids[-1]
