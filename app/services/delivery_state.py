"""Every change of a delivery's state, each one guarded UPDATE (docs/RELIABILITY.md has the
state table).

States: `pending` (waiting for its first attempt, or for one a user asked for), `failed` (an
attempt failed; the next is due at `next_attempt_at`), and the final `delivered`,
`exhausted` and `cancelled`. Sending is not a state: a worker claims a waiting delivery with
a lease (`locked_until`, and a random `lease_token` that only that claim knows). Every write
to a claimed delivery matches its token; a write that matches no row lost the race and
writes nothing. User actions (retry, replay, resume, delete) never touch a live lease: a
delivery being sent is left to its sender, which records the outcome and applies what the
user did (a deleted endpoint's delivery ends `cancelled`).

Lock order, everywhere: endpoint rows first (several in id order), then deliveries, then
endpoint_daily_stats. Recording an outcome locks its endpoints before its deliveries; delete
and resume write the endpoint row before its deliveries; a claim or a retry request writes
deliveries only. Ingest inserts delivery rows, whose foreign-key share lock on the endpoint
does not conflict with any of these.
"""
import functools
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import (
    String,
    and_,
    any_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import WAITING_PREDICATE, Delivery, Endpoint, utcnow
from . import recordsets

log = logging.getLogger(__name__)

WAITING = ("pending", "failed")
RETRYABLE = ("failed", "exhausted")
FINAL = ("delivered", "exhausted", "cancelled")
# Attempts a person asked for: they run even while the endpoint is paused or disabled.
USER_TRIGGERS = ("manual", "test")
# A lease outlives the send's deadline (the timeout) by this much: time to build the request
# before it and to record the outcome after it.
LEASE_MARGIN_SECONDS = 5
CHUNK = 500


def lease_seconds():
    """How long a claim holds a delivery: the send's deadline plus a margin."""
    return current_app.config["WEBHOOK_TIMEOUT_SECONDS"] + LEASE_MARGIN_SECONDS


def _time(name):
    return bindparam(name, type_=Delivery.next_attempt_at.type)


def unleased(now):
    """Not being sent: no lease, or one that has run out (its worker is gone)."""
    return or_(Delivery.locked_until.is_(None), Delivery.locked_until < now)


def leased(now):
    """Being sent right now."""
    return and_(Delivery.locked_until.is_not(None), Delivery.locked_until >= now)


def _endpoint_live():
    return exists(
        select(Endpoint.id).where(
            Endpoint.id == Delivery.endpoint_id, Endpoint.deleted_at.is_(None)
        )
    )


def _endpoint_sending():
    return exists(
        select(Endpoint.id).where(
            Endpoint.id == Delivery.endpoint_id,
            Endpoint.deleted_at.is_(None),
            Endpoint.is_active.is_(True),
            Endpoint.disabled_at.is_(None),
        )
    )


def _in_turn():
    """Not an ordered endpoint's delivery with an earlier one still waiting (being sent
    counts as waiting): an ordered endpoint sends one delivery at a time, oldest first."""
    earlier = aliased(Delivery, name="earlier")
    return or_(
        ~exists(select(Endpoint.id).where(Endpoint.id == Delivery.endpoint_id,
                                          Endpoint.ordered.is_(True))),
        ~exists(select(earlier.id).where(
            earlier.endpoint_id == Delivery.endpoint_id,
            text(f"earlier.{WAITING_PREDICATE}"),
            tuple_(earlier.created_at, earlier.id) < tuple_(Delivery.created_at, Delivery.id),
        )),
    )


def claimable(now):
    """A delivery that may be claimed at `now`: waiting, due, not being sent, its turn (on an
    ordered endpoint), and its endpoint sending (or, for an attempt a person asked for, merely
    not deleted)."""
    return (
        Delivery.waiting(),
        Delivery.next_attempt_at <= now,
        unleased(now),
        or_(
            _endpoint_sending(),
            Delivery.next_trigger.in_(USER_TRIGGERS) & _endpoint_live(),
        ),
        _in_turn(),
    )


# Claims ------------------------------------------------------------------------------------

@dataclass
class Claim:
    """Deliveries leased for one attempt each: `rows` by id, held until `until` by `token`."""

    token: str
    until: datetime
    rows: dict


def _dialect():
    return db.session.get_bind().dialect.name


def _any_of(column, name, dialect):
    """`column` is one of the list bound as `name`. On PostgreSQL an array (= ANY): the
    statement text stays the same whatever the list's length, so it is parsed and prepared
    once; elsewhere an expanding IN."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(String)))
    return column.in_(bindparam(name, expanding=True))


def _on_found_rows(*conditions):
    """`conditions` as one that PostgreSQL checks on rows found by id, and takes no index
    condition or partial index's predicate from.

    Statistics that count few deliveries waiting (a table never analyzed, or analyzed before a
    backlog built up) make a scan of the whole index of waiting deliveries look cheaper than
    reading a group's rows by id; as plain conditions, a claim or a recording then read every
    entry of the backlog, once per group. So do the generic plans PostgreSQL keeps for
    statements the client prepares. With the ids the only way in, any plan reads their rows.
    """
    return case((and_(*conditions), True), else_=False)


def _claim_pairs(dialect):
    """WHERE terms matching deliveries to (id, lease token) claims, bound as `ids` and
    `tokens` (lists of the same length)."""
    if dialect == "postgresql":
        ids = bindparam("ids", type_=postgresql.ARRAY(String))
        pairs = func.unnest(
            ids, bindparam("tokens", type_=postgresql.ARRAY(String)),
        ).table_valued("id", "token").render_derived(name="claimed")
        # The ids as a condition of their own, too: the way in (see _on_found_rows).
        return (Delivery.id == any_(ids), Delivery.id == pairs.c.id,
                Delivery.lease_token == pairs.c.token)
    return (tuple_(Delivery.id, Delivery.lease_token).in_(bindparam("pairs", expanding=True)),)


def _claim_params(claimed, dialect):
    if dialect == "postgresql":
        return {"ids": [pair[0] for pair in claimed], "tokens": [pair[1] for pair in claimed]}
    return {"pairs": [tuple(pair) for pair in claimed]}


def _waiting_found(dialect):
    """Waiting, checked on rows found by id on PostgreSQL (see _on_found_rows)."""
    return _on_found_rows(Delivery.waiting()) if dialect == "postgresql" else Delivery.waiting()


def _of_endpoint(column):
    return select(column).where(Endpoint.id == Delivery.endpoint_id).scalar_subquery()


@functools.cache
def _claim_statement(dialect):
    wanted = (_any_of(Delivery.id, "ids", dialect), *claimable(_time("now")))
    if dialect == "postgresql":
        # The ids alone find the rows (see _on_found_rows). A row another transaction holds
        # (a user's action, another claim) is skipped, never waited for: a claim waits on
        # nobody, so it is in no deadlock, whatever order the other statement locks its rows
        # in.
        wanted = (Delivery.id.in_(
            select(Delivery.id)
            .where(wanted[0], _on_found_rows(*wanted[1:]))
            .with_for_update(of=Delivery.__table__, skip_locked=True)
        ),)
    return (
        update(Delivery)
        .where(*wanted)
        .values(locked_until=_time("until"), lease_token=bindparam("token"))
        .returning(
            Delivery.id, Delivery.attempt_count, Delivery.next_trigger, Delivery.org_id,
            Delivery.endpoint_id, Delivery.event_id, Delivery.event_type, Delivery.payload,
            Delivery.delivered_at, Delivery.created_at,
            # The endpoint's version (to reuse what this process knows of it) and whether its
            # receiver last timed out.
            _of_endpoint(Endpoint.updated_at).label("endpoint_updated_at"),
            _of_endpoint(Endpoint.timed_out_at).label("endpoint_timed_out_at"),
        )
        .execution_options(synchronize_session=False)
    )


def claim(delivery_ids, now=None):
    """pending/failed, due, unleased → leased by a new token (status and attempt count stay).

    Ids not returned are not this caller's to send (taken, not due, final, or their endpoint
    stopped). A claim costs nothing if it is never used: the attempt count changes only when
    an attempt is recorded. Commits.
    """
    now = now or utcnow()
    until = now + timedelta(seconds=lease_seconds())
    token = secrets.token_hex(16)
    ids = list(dict.fromkeys(delivery_ids))
    rows = []
    if ids:
        rows = db.session.execute(
            _claim_statement(_dialect()),
            {"ids": ids, "now": now, "until": until, "token": token},
        ).all()
    db.session.commit()
    return Claim(token, until, {row.id: row for row in rows})


def hand_back(claimed):
    """Leased by these claims → unleased, untouched otherwise (a delivery of an endpoint
    deleted meanwhile → cancelled). `claimed` is a list of (delivery id, token). Commits."""
    if not claimed:
        return 0
    dialect = _dialect()
    changed = 0
    for start in range(0, len(claimed), CHUNK):
        result = db.session.execute(
            _hand_back_statement(dialect), _claim_params(claimed[start:start + CHUNK], dialect)
        )
        changed += result.rowcount
    db.session.commit()
    return changed


@functools.cache
def _hand_back_statement(dialect):
    gone = ~_endpoint_live()
    return (
        update(Delivery)
        .where(*_claim_pairs(dialect), _waiting_found(dialect))
        .values(
            locked_until=None,
            lease_token=None,
            status=_if(gone, "cancelled", Delivery.status),
            next_attempt_at=_if(gone, None, Delivery.next_attempt_at),
        )
        .execution_options(synchronize_session=False)
    )


def _if(condition, then, otherwise):
    return case((condition, then), else_=otherwise)


# Recording ---------------------------------------------------------------------------------

def lock_endpoints(endpoint_ids):
    """Lock endpoint rows in id order (the first step of recording, see the lock order)."""
    db.session.execute(_lock_statement(_dialect()), {"ids": sorted(endpoint_ids)}).all()


@functools.cache
def _lock_statement(dialect):
    return (
        select(Endpoint.id)
        .where(_any_of(Endpoint.id, "ids", dialect))
        .order_by(Endpoint.id)
        .with_for_update(key_share=True)
    )


def still_claimed(claimed):
    """Which of these (delivery id, token) claims still hold their delivery, locking those
    rows for the rest of the transaction: {id: True when its endpoint was deleted}.

    A claim missing here was lost (its lease ran out and someone else took the delivery, or
    a user acted on it): its outcome must not be written. Not committed.
    """
    dialect = _dialect()
    held = {}
    for start in range(0, len(claimed), CHUNK):
        held.update(db.session.execute(
            _still_claimed_statement(dialect),
            _claim_params(claimed[start:start + CHUNK], dialect),
        ).all())
    return held


@functools.cache
def _still_claimed_statement(dialect):
    endpoint_gone = (
        select(Endpoint.deleted_at.is_not(None))
        .where(Endpoint.id == Delivery.endpoint_id)
        .scalar_subquery()
    )
    if dialect == "postgresql":
        # A row lock, as the UPDATE that follows takes (it re-checks the claim on the row's
        # latest version if another transaction changed it), without writing a row version.
        return (
            select(Delivery.id, endpoint_gone)
            .where(*_claim_pairs(dialect), _on_found_rows(Delivery.waiting()))
            .with_for_update(of=Delivery.__table__, key_share=True)
        )
    # SQLite has no row locks: a write takes the database's write lock at once.
    return (
        update(Delivery)
        .where(*_claim_pairs(dialect), Delivery.waiting())
        .values(lease_token=Delivery.lease_token)
        .returning(Delivery.id, endpoint_gone)
        .execution_options(synchronize_session=False)
    )


def outcome_state(*, number, trigger, max_attempts, delays, ok, endpoint_gone, now,
                  not_before=None, gone=False):
    """A delivery's state after attempt `number` (a dict of columns), and when to retry.

    2xx → delivered; a deleted endpoint → cancelled whatever the answer; a test send, the
    last attempt of the policy, or a receiver that answered 410 Gone → exhausted; otherwise
    failed, next attempt after the policy's delay (or `not_before`, when the receiver asked
    for a later time with Retry-After).
    """
    if endpoint_gone:
        return {"status": "cancelled", "next_attempt_at": None}, None
    if ok:
        return {"status": "delivered", "delivered_at": now, "next_attempt_at": None}, None
    if gone or trigger == "test" or number >= max_attempts:
        return {"status": "exhausted", "next_attempt_at": None}, None
    retry_at = now + timedelta(seconds=delays[min(number, len(delays)) - 1])
    if not_before is not None and not_before > retry_at:
        retry_at = not_before
    return {"status": "failed", "next_attempt_at": retry_at, "next_trigger": "retry"}, retry_at


@functools.cache
def _finish_statement():
    table = Delivery.__table__
    return update(table).where(
        table.c.id == bindparam("b_id"),
        table.c.lease_token == bindparam("b_token"),
        Delivery.waiting(),
    )


# PostgreSQL: the whole group in one statement (see recordsets).
_FINISH_PG = text("""
UPDATE deliveries AS d SET
    status = v.status, attempt_count = v.attempt_count, next_attempt_at = v.next_attempt_at,
    next_trigger = v.next_trigger, delivered_at = v.delivered_at,
    last_status_code = v.last_status_code, last_error = v.last_error,
    updated_at = v.updated_at, locked_until = NULL, lease_token = NULL
FROM json_to_recordset(CAST(:rows AS json)) AS v(
    b_id text, b_token text, status text, attempt_count integer, next_attempt_at timestamptz,
    next_trigger text, delivered_at timestamptz, last_status_code integer, last_error text,
    updated_at timestamptz)
WHERE d.id = ANY(CAST(:ids AS text[])) AND d.id = v.b_id AND d.lease_token = v.b_token
  -- The ids are the way in; waiting is checked on the rows found (see _on_found_rows).
  AND CASE WHEN d.status IN ('pending', 'failed') THEN true ELSE false END
""")


def finish(rows):
    """Leased, waiting → each row's new state (see outcome_state), lease cleared.

    `rows` are dicts with b_id, b_token and the columns to set, for claims still_claimed()
    returned in this transaction. Not committed.
    """
    if not rows:
        return
    if _dialect() == "postgresql":
        db.session.execute(_FINISH_PG, {
            "rows": recordsets.as_json(rows), "ids": [row["b_id"] for row in rows],
        })
        return
    db.session.execute(_finish_statement(), [
        {**row, "locked_until": None, "lease_token": None} for row in rows
    ])


# User actions ------------------------------------------------------------------------------

def request_attempts(org_id, delivery_ids, trigger, now=None):
    """failed/exhausted, not being sent, endpoint not deleted → pending, due now, with
    `trigger` for its next attempt. Returns the ids changed. Not committed."""
    now = now or utcnow()
    changed = []
    ids = list(dict.fromkeys(delivery_ids))
    for start in range(0, len(ids), CHUNK):
        changed += db.session.execute(
            update(Delivery)
            .where(
                Delivery.org_id == org_id,
                Delivery.id.in_(ids[start:start + CHUNK]),
                Delivery.status.in_(RETRYABLE),
                unleased(now),
                _endpoint_live(),
            )
            .values(
                status="pending", next_attempt_at=now, next_trigger=trigger,
                locked_until=None, lease_token=None, updated_at=now,
            )
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        ).scalars().all()
    return changed


def release_held(endpoint_id, now=None):
    """Waiting deliveries of a resumed endpoint, not being sent → due now (oldest first, by
    creation). Returns how many. Not committed; write the endpoint row first."""
    now = now or utcnow()
    return db.session.execute(
        update(Delivery)
        .where(Delivery.endpoint_id == endpoint_id, Delivery.waiting(), unleased(now))
        .values(next_attempt_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


def cancel_for_endpoint(endpoint_id, now=None):
    """Waiting deliveries of an endpoint, not being sent → cancelled. A delivery being sent
    ends cancelled when its attempt is recorded. Returns how many now. Not committed; write
    the endpoint row first."""
    now = now or utcnow()
    return db.session.execute(
        update(Delivery)
        .where(Delivery.endpoint_id == endpoint_id, Delivery.waiting(), unleased(now))
        .values(status="cancelled", next_attempt_at=None, locked_until=None, lease_token=None,
                updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


def cancel_orphans(now=None):
    """Waiting deliveries of deleted endpoints whose sender is gone (lease ran out) →
    cancelled: what a crash between a delete and a record can leave. Commits."""
    now = now or utcnow()
    deleted = select(Endpoint.id).where(Endpoint.deleted_at.is_not(None))
    count = db.session.execute(
        update(Delivery)
        .where(Delivery.endpoint_id.in_(deleted), Delivery.waiting(), unleased(now))
        .values(status="cancelled", next_attempt_at=None, locked_until=None, lease_token=None,
                updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return count


def in_flight(org_id, delivery_id, now=None):
    """Whether this delivery is being sent right now."""
    now = now or utcnow()
    return db.session.execute(
        select(Delivery.id).where(
            Delivery.org_id == org_id, Delivery.id == delivery_id, leased(now)
        )
    ).first() is not None


def held_count(endpoint_id, now=None):
    """How many deliveries wait for this endpoint (pending or failed, not yet final), not
    counting one being sent right now: what resuming sends or discards."""
    return db.session.execute(
        select(func.count(Delivery.id)).where(
            Delivery.endpoint_id == endpoint_id, Delivery.waiting(), unleased(now or utcnow())
        )
    ).scalar_one()

