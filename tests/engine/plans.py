"""What PostgreSQL read to run a statement, as its own counters tell."""
from sqlalchemy import text

from app.extensions import db


def index_entries_read():
    """Index entries PostgreSQL has counted as read on deliveries so far (this connection's
    counts are sent first)."""
    db.session.execute(text("SELECT pg_stat_force_next_flush()"))
    db.session.commit()
    db.session.execute(text("SELECT pg_stat_clear_snapshot()"))
    read = db.session.execute(text(
        "SELECT coalesce(sum(idx_tup_read), 0) FROM pg_stat_user_indexes "
        "WHERE relname = 'deliveries'"
    )).scalar()
    db.session.commit()
    return int(read)


def vacuum():
    """Clear the dead rows of deleted deliveries and endpoints out of their tables and
    indexes (PostgreSQL). A server that does not vacuum on its own keeps them, and every
    later look would walk their index entries."""
    if db.engine.dialect.name != "postgresql":
        return
    db.session.commit()  # no transaction of ours keeps the dead rows visible
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM deliveries, endpoints, events")


def rows_read():
    """Index entries and table rows PostgreSQL has counted as read on deliveries so far,
    whether through an index or a scan of the whole table."""
    db.session.execute(text("SELECT pg_stat_force_next_flush()"))
    db.session.commit()
    db.session.execute(text("SELECT pg_stat_clear_snapshot()"))
    read = db.session.execute(text(
        "SELECT coalesce(seq_tup_read, 0) + coalesce(sum_idx, 0) FROM pg_stat_user_tables, "
        "(SELECT sum(idx_tup_read) AS sum_idx FROM pg_stat_user_indexes "
        " WHERE relname = 'deliveries') AS idx WHERE relname = 'deliveries'"
    )).scalar()
    db.session.commit()
    return int(read)
