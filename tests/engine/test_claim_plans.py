"""A claim reads the rows it claims, however PostgreSQL planned the statement before.

The client library prepares a statement it runs often, and PostgreSQL may then keep one
generic plan for it, made for an unknown list of ids and from whatever the statistics said
at the time. For the claim, that plan once walked the whole partial index of waiting
deliveries for every id (20–40 ms a claim in a backlog of a few thousand, against under
one): the claim is planned for its own ids every time.
"""
import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import insert, text

from app.extensions import db
from app.models import Delivery, utcnow
from app.services import delivery_state
from tests import factories
from tests.engine.plans import index_entries_read

BACKLOG = 3000
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
