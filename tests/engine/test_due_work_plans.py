"""A look for due work does not read a paused endpoint's held backlog, with or without
statistics.

Deliveries for a paused endpoint are kept and held until it resumes, so a paused endpoint
can hold a large backlog. The look's part for attempts people asked for (which run even
while an endpoint is paused) has a small index of its own; on a database whose tables had
not been analyzed yet, PostgreSQL instead went through every endpoint's waiting deliveries
to find them (68 ms a look beside 190,000 held deliveries, on every worker's every look).
Here: 200,000 held deliveries, their statistics dropped.
"""
from datetime import timedelta

import pytest
from sqlalchemy import text

from app.extensions import db
from app.models import utcnow
from app.services import due_work
from tests import factories
from tests.engine.plans import index_entries_read, vacuum

HELD = 200_000
ENDPOINTS = 60


def _as_never_analyzed():
    """Drop what PostgreSQL knows of the two tables, as before autovacuum first analyzes."""
    db.session.execute(text(
        "DELETE FROM pg_statistic WHERE starelid IN "
        "('deliveries'::regclass, 'endpoints'::regclass)"
    ))
    db.session.execute(text(
        "UPDATE pg_class SET reltuples = -1, relpages = 0 "
        "WHERE oid IN ('deliveries'::regclass, 'endpoints'::regclass)"
    ))
    db.session.commit()
    # Connections cache what they read of the catalog: the next ones read it afresh.
    db.session.remove()
    db.engine.dispose()


def test_looks_for_due_work_skip_a_paused_endpoints_held_backlog(app, org, many_rows):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    vacuum()
    now = utcnow()
    factories.make_endpoints(org, ENDPOINTS, "Live")
    paused = factories.make_endpoint(org, "Paused", is_active=False)
    # Made by the database itself: 200,000 rows through the driver would take seconds.
    db.session.execute(text("""
        INSERT INTO deliveries (id, org_id, endpoint_id, event_id, event_type, payload, status,
                                attempt_count, next_attempt_at, next_trigger, created_at,
                                updated_at)
        SELECT gen_random_uuid()::text, :org_id, :endpoint_id, gen_random_uuid()::text,
               'scan.completed', '{}', 'pending', 0, :now - n * interval '1 second', 'auto',
               :now - n * interval '1 second', :now
          FROM generate_series(1, :held) AS n"""),
        {"org_id": org.id, "endpoint_id": paused.id, "now": now, "held": HELD})
    db.session.commit()
    # A person asked for another attempt of one of the paused endpoint's deliveries: it runs
    # although the endpoint is paused.
    asked = factories.make_delivery(paused, "failed", attempt_count=1,
                                    next_attempt_at=now - timedelta(seconds=1),
                                    next_trigger="manual").id
    _as_never_analyzed()

    before = index_entries_read()
    offered = due_work.candidates(25)
    overdue = due_work.overdue_count(utcnow(), utcnow())
    read = index_entries_read() - before

    assert [due.id for due in offered] == [asked]
    assert overdue == 1
    assert read < 2 * ENDPOINTS, f"{read} index entries read beside {HELD} held deliveries"
