"""Issue 13, scenario 8: the metrics scrape raises no false alert for deliveries that wait
on purpose, and never reads the whole deliveries table."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import utcnow
from tests import factories
from tests.test_metrics import scrape

DUE = ("hookline_deliveries_due_not_enqueued", ())


def test_due_not_enqueued_leaves_out_endpoints_that_are_not_sending(app, client, org):
    an_hour_ago = utcnow() - timedelta(hours=1)
    endpoints = {
        "live": factories.make_endpoint(org, "Live"),
        "paused": factories.make_endpoint(org, "Paused", is_active=False),
        "disabled": factories.make_endpoint(org, "Disabled", disabled_at=an_hour_ago,
                                            disabled_reason="Disabled automatically"),
        "deleted": factories.make_endpoint(org, "Deleted", deleted_at=an_hour_ago),
    }
    for endpoint in endpoints.values():
        factories.make_delivery(endpoint, "failed", next_attempt_at=an_hour_ago,
                                attempt_count=1)

    # Only the live endpoint's delivery is late for a reason an operator must look into.
    assert scrape(client)[DUE] == 1, "counted deliveries that wait on purpose"


def _plan_nodes(node):
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def test_a_scrape_never_reads_the_whole_deliveries_table(app, client, org):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL")
    endpoint = factories.make_endpoint(org)
    for status in ("pending", "delivered", "failed", "exhausted", "cancelled"):
        factories.make_delivery(endpoint, status, next_attempt_at=utcnow())
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if re.search(r"\bdeliveries\b", statement):
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        scrape(client)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)

    assert statements, "the scrape read no deliveries at all: nothing was checked"
    whole_table_reads = []
    with db.engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in statements:
            [plan] = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}",
                                          parameters).scalar()
            top = plan["Plan"]
            seq_scans = [node for node in _plan_nodes(top) if node["Node Type"] == "Seq Scan"
                         and node.get("Relation Name") == "deliveries"]
            if seq_scans or top["Total Cost"] >= 1e10:
                whole_table_reads.append(" ".join(statement.split()))
        conn.rollback()
    assert not whole_table_reads, whole_table_reads
