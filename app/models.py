"""SQLAlchemy models: tenancy, endpoints, events, deliveries, attempts, statistics, audit."""
import uuid
from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

ROLES = ("admin", "integrations", "viewer")
MANAGER_ROLES = ("admin", "integrations")
ENDPOINT_TYPES = ("slack", "teams", "zapier", "pagerduty", "splunk", "jira", "other")
RETRY_POLICIES = ("standard", "quick")
DELIVERY_STATUSES = ("pending", "delivered", "failed", "exhausted", "cancelled")
ATTEMPT_TRIGGERS = ("auto", "retry", "manual", "test")


def utcnow():
    return datetime.now(UTC)


def new_uuid():
    return str(uuid.uuid4())


def insert_or_update(table):
    """An INSERT of the database in use, so ON CONFLICT clauses work on SQLite and PostgreSQL."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store timezone-aware UTC")
        value = value.astimezone(UTC)
        # SQLite keeps no zone: store naive UTC there.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class TenantScoped:
    """Rows that belong to one organization; read them only through these helpers."""

    org_id: Mapped[str]

    @classmethod
    def for_org(cls, org_id):
        """A select() of this model limited to one organization."""
        return select(cls).where(cls.org_id == org_id)

    @classmethod
    def get_in_org(cls, org_id, id_):
        """The row with this id in this organization, or None (never another tenant's)."""
        if id_ is None:
            return None
        return db.session.execute(cls.for_org(org_id).where(cls.id == id_)).scalar_one_or_none()


class Organization(db.Model):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(TenantScoped, UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20), default="viewer")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of every session's user id: raising it ends all the user's sessions at once.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    organization: Mapped[Organization] = relationship(lazy="joined")

    def get_id(self):
        """The id a session keeps: user id and session generation ("12:3")."""
        return f"{self.id}:{self.session_generation}"

    @property
    def can_manage(self):
        return self.role in MANAGER_ROLES

    @property
    def is_admin(self):
        return self.role == "admin"


class ApiToken(TenantScoped, db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    role = "integrations"

    @property
    def can_manage(self):
        return True

    @property
    def is_admin(self):
        return False


class Project(TenantScoped, db.Model):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("org_id", "external_id", name="uq_projects_org_external"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Endpoint(TenantScoped, db.Model):
    __tablename__ = "endpoints"
    __table_args__ = (
        # The few ordered endpoints, found without reading the others.
        Index("ix_endpoints_ordered", "id", postgresql_where=text("ordered"),
              sqlite_where=text("ordered")),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="")
    url: Mapped[str] = mapped_column(String(2048))
    type: Mapped[str] = mapped_column(String(20), default="other")
    events: Mapped[list] = mapped_column(JSON, default=list)
    projects: Mapped[list] = mapped_column(JSON, default=list)
    statuses: Mapped[list] = mapped_column(JSON, default=list)
    # Encrypted JSON list of {"name", "value"}; values are write-only.
    headers_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    body_template: Mapped[str | None] = mapped_column(Text, nullable=True)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retry_policy: Mapped[str] = mapped_column(String(20), default="standard")
    # Conditions on the default payload, all of which an event must meet (payload_filters).
    payload_filter: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    # Delivery options the engine enforces: at most this many deliveries per second (None:
    # no limit), and one delivery at a time in event order.
    rate_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ordered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_by_name: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Statistics counters, updated in the same transaction as each attempt (SPEC §7).
    total_attempts: Mapped[int] = mapped_column(BigInteger, default=0)
    successful_attempts: Mapped[int] = mapped_column(BigInteger, default=0)
    failed_attempts: Mapped[int] = mapped_column(BigInteger, default=0)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_attempt_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    last_delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the latest attempt timed out; None once the receiver answers again. While set,
    # the endpoint gets one delivery in flight at a time.
    timed_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Deliveries that reached each final state, counted as they reach it (metrics).
    delivered_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    exhausted_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    cancelled_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    @classmethod
    def for_org(cls, org_id):
        """Live (not deleted) endpoints of one organization."""
        return select(cls).where(cls.org_id == org_id, cls.deleted_at.is_(None))

    @classmethod
    def any_in_org(cls, org_id):
        """Every endpoint of one organization, deleted ones too (history and audit)."""
        return select(cls).where(cls.org_id == org_id)


class EndpointDailyStat(db.Model):
    __tablename__ = "endpoint_daily_stats"

    endpoint_id: Mapped[str] = mapped_column(ForeignKey("endpoints.id"), primary_key=True)
    day: Mapped[datetime] = mapped_column(Date, primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    successful: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)


class DeliveryHourCount(db.Model):
    """How many deliveries of an endpoint were created in one UTC hour: counted once from
    ix_deliveries_endpoint_created when the hour is over, so statistics over any range read
    these rows instead of every delivery in it."""

    __tablename__ = "delivery_hour_counts"

    endpoint_id: Mapped[str] = mapped_column(ForeignKey("endpoints.id"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    deliveries: Mapped[int] = mapped_column(Integer)


class Event(TenantScoped, db.Model):
    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    type: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class IdempotencyKey(db.Model):
    """An Idempotency-Key of POST /events: the event it created, for 24 hours.

    The primary key (organization, key) is what makes two concurrent requests with one
    key create one event: the second insert finds the first one's row.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created", "created_at"),)

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # SHA-256 of the event type and data, to tell a retry from a reuse with another body.
    fingerprint: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(36))
    deliveries: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The predicate of ix_deliveries_waiting. Queries that should use the index spell their
# status test the same way (Delivery.waiting()), so the planner can always match it.
WAITING_PREDICATE = "status IN ('pending', 'failed')"
# Attempts a person asked for (manual retry, test send), as SQL.
USER_TRIGGERS_SQL = "('manual', 'test')"
REQUESTED_PREDICATE = f"{WAITING_PREDICATE} AND next_trigger IN {USER_TRIGGERS_SQL}"


class Delivery(TenantScoped, db.Model):
    __tablename__ = "deliveries"
    __table_args__ = (
        # Only the waiting deliveries, in the order workers take them: finding the next
        # batch reads as many index entries as it takes, however long the backlog.
        Index(
            "ix_deliveries_waiting", "next_attempt_at", "created_at",
            postgresql_where=text(WAITING_PREDICATE), sqlite_where=text(WAITING_PREDICATE),
        ),
        # Each endpoint's waiting deliveries in the order it gets them: finding the endpoints
        # with waiting work, and each one's oldest due deliveries, is a probe per endpoint.
        Index(
            "ix_deliveries_endpoint_waiting", "endpoint_id", "next_attempt_at", "created_at",
            postgresql_where=text(WAITING_PREDICATE), sqlite_where=text(WAITING_PREDICATE),
        ),
        # Each endpoint's waiting deliveries in creation order: an ordered endpoint's oldest.
        Index(
            "ix_deliveries_endpoint_queue", "endpoint_id", "created_at", "id",
            postgresql_where=text(WAITING_PREDICATE), sqlite_where=text(WAITING_PREDICATE),
        ),
        # Attempts a person asked for, found without reading anyone's backlog.
        Index(
            "ix_deliveries_requested", "next_attempt_at",
            postgresql_where=text(REQUESTED_PREDICATE), sqlite_where=text(REQUESTED_PREDICATE),
        ),
        Index("ix_deliveries_org_created", "org_id", "created_at", "id"),
        # The history filtered by status or by event type, newest first, without reading the
        # deliveries the filter leaves out.
        Index("ix_deliveries_org_status_created", "org_id", "status", "created_at", "id"),
        Index("ix_deliveries_org_type_created", "org_id", "event_type", "created_at", "id"),
        Index("ix_deliveries_endpoint_created", "endpoint_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("endpoints.id"))
    event_id: Mapped[str] = mapped_column(String(36), index=True)
    event_type: Mapped[str] = mapped_column(String(100))
    # Compact JSON text of the default payload, exactly as first built.
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Random token of the claim holding `locked_until`; every write to a claimed delivery
    # matches it, so a worker whose claim was lost writes nothing.
    lease_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The trigger the next claimed attempt records (auto, retry, manual, test).
    next_trigger: Mapped[str] = mapped_column(String(10), default="auto")
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    endpoint: Mapped[Endpoint] = relationship(lazy="raise")

    @staticmethod
    def waiting():
        """Pending or failed (not final), as ix_deliveries_waiting's predicate."""
        return text(f"{Delivery.__tablename__}.{WAITING_PREDICATE}")


class Attempt(db.Model):
    __tablename__ = "attempts"
    __table_args__ = (
        Index("ix_attempts_delivery", "delivery_id", "number"),
        Index("ix_attempts_endpoint_started", "endpoint_id", "started_at"),
        # The metrics scrape reads the last hour of attempts across every endpoint.
        Index("ix_attempts_started", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("endpoints.id"))
    number: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[str] = mapped_column(String(10), default="auto")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The URL posted to and the address dialled, as they were at the time of the attempt.
    request_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    remote_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    request_headers: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    request_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_headers: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The stored body is the start of a longer one (see ATTEMPT_BODY_LIMIT).
    request_truncated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    response_truncated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEntry(TenantScoped, db.Model):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_org_created", "org_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    actor_type: Mapped[str] = mapped_column(String(10))  # user | token | system
    actor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    actor_name: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(50))
    target_type: Mapped[str] = mapped_column(String(50), default="")
    target_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
