"""Looks for due work take a bounded share of a busy worker's time, however slow they are.

A look visits every endpoint with waiting deliveries, so thousands of endpoints holding
retries (dead receivers) make each look slow. A worker with sends in flight looks again once
the take interval is up; were that interval fixed, the slower the looks, the more of the
worker's time and the database's would go to looking (40 % at 10,000 such endpoints).
"""
import itertools
import threading
import time

from sqlalchemy import text

from app.extensions import db
from app.services import dispatch, due_work
from tests import factories

WAITING_ENDPOINTS = 10_000


def test_slow_looks_are_spaced_by_what_they_take(app, org, tenant, receiver, monkeypatch,
                                                  many_rows):
    # Another organization's dead receivers: thousands of endpoints holding retries.
    factories.make_endpoints_holding_retries(org, WAITING_ENDPOINTS)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE deliveries"))
        db.session.commit()
    tenant.create_endpoint(receiver.url + "/hook")
    # The one live delivery is held at the receiver: the worker has a send in flight and
    # room for more all along, so it keeps looking for due work.
    receiver.hold()
    [delivery_id] = tenant.emit()

    looks = []
    look = due_work.candidates

    def timed_look(*args, **kwargs):
        started = time.monotonic()
        try:
            return look(*args, **kwargs)
        finally:
            looks.append((started, time.monotonic() - started))

    monkeypatch.setattr(due_work, "candidates", timed_look)
    ran = {}

    def run():
        with app.app_context():
            ran["sent"] = dispatch.Dispatcher().run(seconds=1.5)

    worker = threading.Thread(target=run)
    worker.start()
    receiver.wait_for(1)
    time.sleep(1.0)
    released_at = time.monotonic()
    receiver.release()
    worker.join(30)

    assert not worker.is_alive() and ran["sent"] == 1
    assert [item.delivery_id for item in receiver.requests] == [delivery_id]
    slowest = max(seconds for _, seconds in looks)
    assert slowest >= dispatch.TAKE_INTERVAL_SECONDS / dispatch.LOOK_SPACING, (
        f"looks took {slowest * 1000:.1f} ms at most: too fast to show their spacing"
    )
    # Once the send is over the worker is idle, and an idle worker looks at once (or ends).
    busy = [item for item in looks if item[0] < released_at]
    assert len(busy) >= 3, busy
    # Each look starts LOOK_SPACING times the previous one's time after it, at the soonest:
    # from the first look's start to the last's, looking took 1 / LOOK_SPACING at most.
    looking = sum(took for _, took in busy[:-1])
    span = busy[-1][0] - busy[0][0]
    spacing = [(round((later[0] - earlier[0]) * 1000, 1), round(earlier[1] * 1000, 1))
               for earlier, later in itertools.pairwise(busy)]
    assert looking / span <= 1.1 / dispatch.LOOK_SPACING, (
        f"looks took {looking * 1000:.0f} of {span * 1000:.0f} ms "
        f"(ms apart, ms the earlier one took): {spacing}"
    )
