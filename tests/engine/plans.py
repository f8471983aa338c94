"""What PostgreSQL read to run a statement, as its own counters tell."""
from sqlalchemy import text

from app.extensions import db


def _counted(sql):
    """One of PostgreSQL's statistics counters, read after this connection's counts are
    sent and any snapshot of them taken earlier in the transaction is dropped."""
    db.session.execute(text("SELECT pg_stat_force_next_flush()"))
    db.session.commit()
    db.session.execute(text("SELECT pg_stat_clear_snapshot()"))
    read = db.session.execute(text(sql)).scalar()
    db.session.commit()
    return int(read)


def index_entries_read():
    """Index entries PostgreSQL has counted as read on deliveries so far."""
    return _counted(
        "SELECT coalesce(sum(idx_tup_read), 0) FROM pg_stat_user_indexes "
        "WHERE relname = 'deliveries'"
    )


def rows_read():
    """Index entries and table rows PostgreSQL has counted as read on deliveries so far,
    whether through an index or a scan of the whole table."""
    return _counted(
        "SELECT coalesce(seq_tup_read, 0) + (SELECT coalesce(sum(idx_tup_read), 0) "
        "FROM pg_stat_user_indexes WHERE relname = 'deliveries') "
        "FROM pg_stat_user_tables WHERE relname = 'deliveries'"
    )


def vacuum():
    """Clear the dead rows of deleted deliveries and endpoints out of their tables and
    indexes (PostgreSQL). A server that does not vacuum on its own keeps them, and every
    later look would walk their index entries."""
    if db.engine.dialect.name != "postgresql":
        return
    db.session.commit()  # no transaction of ours keeps the dead rows visible
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM deliveries, endpoints, events")
