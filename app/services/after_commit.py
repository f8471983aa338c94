"""Work for the job queue, handed over once the current transaction commits.

Services never import the jobs package: they name the work here (`add("deliver", ids)`), and
the jobs package registers what each kind of work does. Work added in a transaction that
rolls back is dropped with it, so nothing is queued for rows that were never stored.
"""
import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db

log = logging.getLogger(__name__)

_KEY = "hookline.after_commit"
_handlers = {}


def register(kind, handler):
    """Have `handler(items)` run after each commit that added work of this kind."""
    _handlers[kind] = handler


def add(kind, *items):
    """Hand these items to the `kind` handler after the session's next commit."""
    if not items:
        return
    db.session.info.setdefault(_KEY, {}).setdefault(kind, []).extend(items)


@event.listens_for(Session, "after_commit")
def _hand_over(session):
    work = session.info.pop(_KEY, None)
    for kind, items in (work or {}).items():
        try:
            _handlers[kind](items)
        except Exception:  # the database holds the truth; the sweeper repairs a lost hint
            log.exception("After-commit work %r failed", kind)


@event.listens_for(Session, "after_rollback")
def _drop(session):
    session.info.pop(_KEY, None)
