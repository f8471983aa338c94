"""Database connections are checked before use only after they sat idle in the pool.

A connection returned to the pool a moment ago is alive; checking it (a round trip and a
query on both sides) before every request and every job transaction would cost more than
the work of a small request. One that sat idle for IDLE_SECONDS or more is checked first,
and a dead one (a database restart, an idle timeout, a proxy that dropped it) is replaced
before anyone uses it.
"""
import time

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError

from .extensions import db

IDLE_SECONDS = 5.0
_RETURNED_AT = "hookline_returned_at"


def install(app):
    """Check this app's PostgreSQL connections after IDLE_SECONDS in the pool."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        engine = db.engine
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_connection, record):
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record):
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection, record, _proxy):
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is not None and time.monotonic() - returned_at < IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            # The pool drops this connection and checks out a new one.
            raise DisconnectionError(f"Connection found closed: {exc}") from exc
