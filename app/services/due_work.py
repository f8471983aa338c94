"""Which due deliveries a worker takes next: round-robin across organizations and endpoints.

Taking the oldest due deliveries first lets one tenant's backlog, or one dead receiver, fill
every batch while everybody else waits. Instead each endpoint with waiting deliveries offers
its oldest few due ones, and the batch takes them in rounds: every organization's first
delivery, then every organization's second, and within an organization its endpoints in
turn. The endpoints with waiting deliveries are found by skipping through an index (one probe
per endpoint, however long its backlog), and each endpoint's oldest due deliveries by
another, so the cost of a batch follows the number of endpoints, not of deliveries.
"""
import functools
import itertools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, text

from ..extensions import db
from ..models import USER_TRIGGERS_SQL, WAITING_PREDICATE, UTCDateTime, utcnow

_WAITING_ENDPOINTS = f"""
WITH RECURSIVE waiting_endpoints(endpoint_id) AS (
    SELECT min(endpoint_id) FROM deliveries WHERE {WAITING_PREDICATE}
  UNION ALL
    SELECT (SELECT min(endpoint_id) FROM deliveries
             WHERE {WAITING_PREDICATE} AND endpoint_id > waiting_endpoints.endpoint_id)
      FROM waiting_endpoints WHERE waiting_endpoints.endpoint_id IS NOT NULL
)"""

_SENDING = """
    endpoints.deleted_at IS NULL AND endpoints.is_active = :yes AND endpoints.disabled_at IS NULL"""
_UNORDERED = " AND NOT endpoints.ordered"
_NOT_SKIPPED = " AND endpoints.id NOT IN :skip"
_UNLEASED = "(locked_until IS NULL OR locked_until < :now)"

_DUE_OF_ENDPOINT = f"""
     FROM deliveries
    WHERE endpoint_id = endpoints.id AND {WAITING_PREDICATE}
      AND next_attempt_at <= :due_by AND {_UNLEASED}"""
_OLDEST_DUE = _DUE_OF_ENDPOINT + """
    ORDER BY next_attempt_at, created_at LIMIT :per_endpoint"""

_OFFERED = """due.id, endpoints.org_id, endpoints.id AS endpoint_id,
       endpoints.timed_out_at IS NOT NULL AS slow, endpoints.rate_limit,
       due.next_attempt_at, due.created_at"""

_FAIR = {
    "postgresql": f"""{_WAITING_ENDPOINTS}
SELECT {_OFFERED}
  FROM waiting_endpoints
  JOIN endpoints ON endpoints.id = waiting_endpoints.endpoint_id
  CROSS JOIN LATERAL (SELECT id, next_attempt_at, created_at {_OLDEST_DUE}) AS due
 WHERE {_SENDING}{_UNORDERED}{_NOT_SKIPPED}""",
    # No LATERAL in SQLite: the same per-endpoint probe, as a correlated IN.
    "sqlite": f"""{_WAITING_ENDPOINTS}
SELECT {_OFFERED}
  FROM waiting_endpoints
  JOIN endpoints ON endpoints.id = waiting_endpoints.endpoint_id
  JOIN deliveries AS due ON due.id IN (SELECT id {_OLDEST_DUE})
 WHERE {_SENDING}{_UNORDERED}{_NOT_SKIPPED}""",
}

# An ordered endpoint offers only its oldest waiting delivery, and only when it is due: the
# others wait for it to be final. Ordered endpoints are few; a partial index lists them.
_HEAD = f"""(SELECT id FROM deliveries
              WHERE endpoint_id = endpoints.id AND {WAITING_PREDICATE}
              ORDER BY created_at, id LIMIT 1)"""
_ORDERED_HEADS = f"""
SELECT {_OFFERED}
  FROM endpoints JOIN deliveries AS due ON due.id = {_HEAD}
 WHERE endpoints.ordered AND {_SENDING}{_NOT_SKIPPED}
   AND due.next_attempt_at <= :due_by AND (due.locked_until IS NULL OR due.locked_until < :now)"""

_OVERDUE = f"""{_WAITING_ENDPOINTS}
SELECT coalesce(sum((SELECT count(*) {_DUE_OF_ENDPOINT})), 0)
  FROM waiting_endpoints
  JOIN endpoints ON endpoints.id = waiting_endpoints.endpoint_id
 WHERE {_SENDING}{_UNORDERED}"""

_ORDERED_OVERDUE = f"SELECT count(*) FROM ({_ORDERED_HEADS}) AS heads"

# Attempts a person asked for run even on a paused or disabled endpoint; a small index of
# their own keeps them from being looked for through everyone's backlog. They are read from
# that index first, then joined to their endpoints: left to choose, PostgreSQL without fresh
# statistics went through every endpoint's waiting deliveries instead (a paused endpoint's
# 190,000 held deliveries: 68 ms a look, against under 1).
_ASKED = f"""
SELECT id, org_id, endpoint_id, next_attempt_at, created_at FROM deliveries
 WHERE {WAITING_PREDICATE} AND next_trigger IN {USER_TRIGGERS_SQL}
   AND next_attempt_at <= :due_by AND {_UNLEASED}"""
_REQUESTED = f"""
SELECT asked.id, asked.org_id, asked.endpoint_id,
       endpoints.timed_out_at IS NOT NULL AS slow,
       endpoints.rate_limit, asked.next_attempt_at, asked.created_at
  FROM ({_ASKED} ORDER BY next_attempt_at LIMIT :limit) AS asked
  JOIN endpoints ON endpoints.id = asked.endpoint_id
 WHERE endpoints.deleted_at IS NULL"""

# All offered deliveries in one statement (one round trip per take): those people asked for,
# then each unordered endpoint's oldest, then each ordered endpoint's head.
_ALL_DUE = {
    dialect: f"""{sql}
UNION ALL SELECT * FROM ({_REQUESTED}) AS asked
UNION ALL {_ORDERED_HEADS}"""
    for dialect, sql in _FAIR.items()
}

# Those of stopped endpoints (the others are in _OVERDUE), read from the same index first.
_REQUESTED_OVERDUE = f"""
WITH asked AS MATERIALIZED ({_ASKED})
SELECT count(*) FROM asked
  JOIN endpoints ON endpoints.id = asked.endpoint_id
 WHERE endpoints.deleted_at IS NULL
   AND NOT (endpoints.is_active = :yes AND endpoints.disabled_at IS NULL)"""


@dataclass(frozen=True)
class Due:
    """One due delivery offered to a worker."""

    id: str
    org_id: str
    endpoint_id: str
    slow: bool
    rate_limit: int | None
    next_attempt_at: datetime
    created_at: datetime


@functools.cache
def _statement(sql):
    return text(sql).bindparams(
        bindparam("now", type_=UTCDateTime()),
        bindparam("due_by", type_=UTCDateTime()),
        bindparam("skip", expanding=True),
    )


@functools.cache
def _times(sql):
    return text(sql).bindparams(
        bindparam("now", type_=UTCDateTime()), bindparam("due_by", type_=UTCDateTime())
    )


def _dialect():
    return "postgresql" if db.session.get_bind().dialect.name == "postgresql" else "sqlite"


def candidates(per_endpoint, skip=(), now=None, due_by=None, requested=50):
    """Due deliveries a worker may claim: those a person asked for, then at most
    `per_endpoint` of each sending endpoint not in `skip`, each endpoint's oldest first.
    `due_by` (default now) is the latest next-attempt time that counts as due."""
    now = now or utcnow()
    times = {"now": now, "due_by": due_by or now}
    rows = db.session.execute(_statement(_ALL_DUE[_dialect()]), {
        **times, "per_endpoint": per_endpoint, "skip": list(skip) or [""], "yes": True,
        "limit": requested,
    }).all()
    db.session.commit()
    return [Due(*row[:3], bool(row[3]), *row[4:]) for row in rows]


def overdue_count(now, due_by):
    """How many deliveries were due by `due_by` and are not being sent: those of sending
    endpoints, counted endpoint by endpoint through the index (paused endpoints' backlogs are
    not read), and attempts people asked for."""
    times = {"now": now, "due_by": due_by}
    counts = [
        db.session.execute(statement, {**times, "yes": True, "skip": [""]}).scalar()
        for statement in (_times(_OVERDUE), _statement(_ORDERED_OVERDUE),
                          _times(_REQUESTED_OVERDUE))
    ]
    db.session.commit()
    return sum(int(count or 0) for count in counts)


def fair_order(offered):
    """The offered deliveries in rounds: each organization's first, then each one's second…;
    within an organization, its endpoints in turn, each endpoint's oldest first."""
    by_age = sorted(offered, key=_age)
    by_org = {}
    for age, due in enumerate(by_age):
        by_org.setdefault(due.org_id, {}).setdefault(due.endpoint_id, []).append((age, due))
    ranked = []
    for lanes in by_org.values():
        in_turn = (item for turn in itertools.zip_longest(*lanes.values())
                   for item in turn if item is not None)
        # (round, age): within a round the oldest first; ages are distinct, so no tie
        # reaches the rows themselves.
        ranked += [(position, age, due) for position, (age, due) in enumerate(in_turn)]
    ranked.sort(key=lambda item: item[:2])
    seen, ordered = set(), []
    for _, _, due in ranked:
        if due.id not in seen:
            seen.add(due.id)
            ordered.append(due)
    return ordered


def _age(due):
    return (due.next_attempt_at, due.created_at, due.id)
