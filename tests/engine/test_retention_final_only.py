"""Issue 13, scenario 7: retention purges only deliveries that reached a final state;
a delivery still held or waiting for its retry stays, however old."""
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Attempt, Delivery, utcnow
from app.services import retention
from tests import factories


def test_old_deliveries_still_waiting_are_kept_and_final_ones_purged(app, org):
    long_ago = utcnow() - timedelta(days=app.config["WEBHOOK_RETENTION_DAYS"] + 10)
    live = factories.make_endpoint(org, "Live")
    paused = factories.make_endpoint(org, "Paused", is_active=False)
    disabled = factories.make_endpoint(org, "Disabled", disabled_at=long_ago)
    waiting = {
        "held by a paused endpoint": factories.make_delivery(
            paused, "pending", created_at=long_ago, next_attempt_at=long_ago),
        "held by a disabled endpoint": factories.make_delivery(
            disabled, "failed", created_at=long_ago, next_attempt_at=long_ago),
        "failed, retry due later": factories.make_delivery(
            live, "failed", created_at=long_ago, next_attempt_at=utcnow() + timedelta(hours=1)),
    }
    for delivery in waiting.values():
        factories.make_attempt(delivery, started_at=long_ago, error="HTTP 503")
    final = [factories.make_delivery(live, status, created_at=long_ago)
             for status in ("delivered", "exhausted", "cancelled")]
    waiting_ids = {delivery.id: name for name, delivery in waiting.items()}
    final_ids = {delivery.id for delivery in final}

    retention.purge()

    db.session.expire_all()
    left = set(db.session.execute(select(Delivery.id)).scalars())
    purged = sorted(waiting_ids[i] for i in set(waiting_ids) - left)
    assert not purged, f"purged though still waiting: {purged}"
    assert left & final_ids == set(), "final deliveries past the window were kept"
    attempts = set(db.session.execute(select(Attempt.delivery_id)).scalars())
    assert attempts == set(waiting_ids)
