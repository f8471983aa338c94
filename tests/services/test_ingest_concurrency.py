"""Concurrent events that bring the same new project: every one is accepted, one project row."""
import threading

from sqlalchemy import func, select

from app.extensions import db
from app.models import Event, Project
from app.services import events


def test_concurrent_events_register_a_new_project_once(app, org):
    threads, errors, barrier = 8, [], threading.Barrier(8)
    org_id = org.id  # read here: the threads must not touch this thread's session

    def emit(number):
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                events.emit(org_id, "scan.completed",
                            {"scan_id": f"s{number}", "project": {"id": "p-new", "name": "New"}})
            except Exception as exc:  # noqa: BLE001 - the test reports whatever went wrong
                errors.append(repr(exc))
            finally:
                db.session.remove()

    workers = [threading.Thread(target=emit, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert errors == []
    assert db.session.execute(select(func.count(Event.id))).scalar_one() == threads
    assert [(p.external_id, p.name) for p in db.session.execute(select(Project)).scalars()] == [
        ("p-new", "New")
    ]
