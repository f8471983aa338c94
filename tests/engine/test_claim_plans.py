"""A claim reads the rows it claims, however PostgreSQL planned the statement before and
whatever its statistics say.

The client library prepares a statement it runs often, and PostgreSQL may then keep one
generic plan for it, made for an unknown list of ids and from whatever the statistics said
at the time. For the claim, that plan once walked the whole partial index of waiting
deliveries for every id (20–40 ms a claim in a backlog of a few thousand, against under
one). And statistics that count few waiting deliveries (a table never analyzed, or analyzed
before a backlog built up) made that walk look cheap to a plan made for the claim's own ids:
in a backlog of 10,000 every claim read all 10,000 entries. Only the ids choose the rows.
"""
import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select, text, update

from app.extensions import db
from app.models import Delivery, utcnow
from app.services import delivery_state
from tests import factories
from tests.engine.plans import index_entries_read, rows_read

BACKLOG = 3000
LARGE_BACKLOG = 10_000
CLAIMED = 10


def backlog(count):
    """`count` due deliveries of one endpoint, oldest first; their ids."""
    org = factories.make_org()
    endpoint = factories.make_endpoint(org)
    now = utcnow()
    ids = [str(uuid.uuid4()) for _ in range(count)]
    db.session.execute(insert(Delivery), [{
        "id": delivery_id, "org_id": org.id, "endpoint_id": endpoint.id,
        "event_id": delivery_id, "event_type": "scan.completed",
        "payload": json.dumps({"n": n}), "status": "pending", "attempt_count": 0,
        "next_attempt_at": now - timedelta(seconds=1), "next_trigger": "auto",
        "created_at": now - timedelta(seconds=count - n),
    } for n, delivery_id in enumerate(ids)])
    db.session.commit()
    return ids


def claim_reading(ids):
    """Claim these ids; (the ids claimed, index entries read to claim them)."""
    before = index_entries_read()
    claim = delivery_state.claim(ids)
    return sorted(claim.rows), index_entries_read() - before


def test_a_claim_reads_its_own_rows_with_a_generic_plan_in_force(make_app, many_rows):
    # Every statement on this app's connections gets the generic plan, as a prepared
    # statement does once PostgreSQL has chosen one.
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={
        "connect_args": {"options": "-c plan_cache_mode=force_generic_plan"},
        "pool_size": 1, "max_overflow": 0,
    })
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("plans are PostgreSQL's")
        ids = backlog(BACKLOG)
        db.session.execute(text("ANALYZE deliveries"))
        db.session.commit()

        claimed, read = claim_reading(ids[:CLAIMED])

        assert claimed == sorted(ids[:CLAIMED])
        # The primary key's entry of each claimed row, and a little more; not the backlog.
        assert read < 10 * CLAIMED, f"{read} index entries read to claim {CLAIMED}"


def test_a_claim_run_again_and_again_keeps_reading_its_own_rows(make_app, many_rows):
    # One connection, as a worker's: the client prepares the statement after a few runs and
    # PostgreSQL then plans it once for all, here on a table it has never analyzed.
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0})
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("plans are PostgreSQL's")
        ids = backlog(BACKLOG)
        groups = [ids[n:n + CLAIMED] for n in range(0, 20 * CLAIMED, CLAIMED)]

        reads = []
        for group in groups:
            claimed, read = claim_reading(group)
            assert claimed == sorted(group)
            reads.append(read)

        assert max(reads) < 10 * CLAIMED, f"index entries read per claim: {reads}"


def backlog_after_stale_statistics():
    """A backlog of LARGE_BACKLOG due deliveries that PostgreSQL's statistics know nothing
    of: they were gathered when every delivery had been delivered. Its ids."""
    db.session.execute(
        update(Delivery).where(Delivery.id.in_(backlog(BACKLOG)))
        .values(status="delivered", next_attempt_at=None)
    )
    db.session.execute(text("ANALYZE deliveries"))
    db.session.commit()
    return backlog(LARGE_BACKLOG)


def test_statistics_that_count_few_waiting_do_not_make_a_claim_read_the_backlog(
        make_app, many_rows):
    # Expecting almost no delivery to be waiting, PostgreSQL takes a scan of the index of
    # waiting deliveries for "due by now" to return a handful; in the backlog it returns all.
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0})
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("plans are PostgreSQL's")
        ids = backlog_after_stale_statistics()

        reads = []
        for group in (ids[:CLAIMED], ids[-CLAIMED:], ids[5000:5000 + CLAIMED]):
            claimed, read = claim_reading(group)
            assert claimed == sorted(group)
            reads.append(read)

        assert max(reads) < 10 * CLAIMED, f"index entries read per claim: {reads}"


@pytest.mark.parametrize("plans", ["auto", "force_generic_plan"])
def test_recording_or_handing_back_a_group_reads_its_own_rows_beside_a_backlog(
        make_app, many_rows, plans):
    # A worker's group: checked still claimed, then its outcomes written; another group
    # handed back unsent. Each reads the group's rows, not the backlog's index or the table,
    # with the plans PostgreSQL chooses and with the generic ones of prepared statements.
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={
        "connect_args": {"options": f"-c plan_cache_mode={plans}"},
        "pool_size": 1, "max_overflow": 0,
    })
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("plans are PostgreSQL's")
        ids = backlog_after_stale_statistics()
        now = utcnow()

        reads = {}
        for round_ in range(3):
            group = ids[round_ * 2 * CLAIMED:(round_ * 2 + 1) * CLAIMED]
            claim = delivery_state.claim(group)
            pairs = [(delivery_id, claim.token) for delivery_id in sorted(claim.rows)]
            before = rows_read()
            held = delivery_state.still_claimed(pairs)
            delivery_state.finish([{
                "b_id": delivery_id, "b_token": claim.token, "status": "delivered",
                "attempt_count": 1, "next_attempt_at": None, "next_trigger": "auto",
                "delivered_at": now, "last_status_code": 200, "last_error": None,
                "updated_at": now,
            } for delivery_id in held])
            db.session.commit()
            reads.setdefault("recording", []).append(rows_read() - before)
            assert sorted(held) == sorted(group)

            other = ids[(round_ * 2 + 1) * CLAIMED:(round_ * 2 + 2) * CLAIMED]
            claim = delivery_state.claim(other)
            before = rows_read()
            handed = delivery_state.hand_back([(i, claim.token) for i in sorted(claim.rows)])
            reads.setdefault("handing back", []).append(rows_read() - before)
            assert handed == CLAIMED

        delivered = db.session.execute(
            select(func.count()).where(Delivery.status == "delivered", Delivery.id.in_(ids))
        ).scalar()
        assert delivered == 3 * CLAIMED
        assert max(max(counts) for counts in reads.values()) < 10 * CLAIMED, reads
