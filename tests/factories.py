"""Factories for test data, going through the same services the product uses."""
import itertools

from sqlalchemy import insert

from app.services import accounts, tokens

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


def make_org(name=None):
    return accounts.create_organization(name or f"Org {next(_seq)}")


def make_user(org, role="admin", email=None, password=PASSWORD, name="Jane Doe"):
    email = email or f"{role}{next(_seq)}@example.test"
    return accounts.create_user(org.id, email, password, role, name)


def make_token(org, name="test token"):
    """Returns (ApiToken, plaintext)."""
    return tokens.create_token(org.id, name)


def make_endpoint(org, name=None, url="https://hooks.example.test/in", **fields):
    """A minimal endpoint row (no validation): for history, statistics and retention tests."""
    from app.extensions import db
    from app.models import Endpoint

    endpoint = Endpoint(
        org_id=org.id,
        name=name or f"Endpoint {next(_seq)}",
        url=url,
        events=fields.pop("events", ["scan.completed"]),
        secret_encrypted=fields.pop("secret_encrypted", "not-a-real-secret"),
        **fields,
    )
    db.session.add(endpoint)
    db.session.commit()
    return endpoint


def make_delivery(endpoint, status="delivered", event_type="scan.completed", **fields):
    """A delivery row of `endpoint` (its own event id unless given)."""
    import json
    import uuid

    from app.extensions import db
    from app.models import Delivery

    event_id = fields.pop("event_id", str(uuid.uuid4()))
    payload = fields.pop("payload", None) or json.dumps(
        {"event_id": event_id, "event_type": event_type,
         "timestamp": "2025-01-15T14:30:00.000Z", "data": {"company": endpoint.org_id}},
        separators=(",", ":"),
    )
    delivery = Delivery(
        org_id=endpoint.org_id, endpoint_id=endpoint.id, event_id=event_id,
        event_type=event_type, payload=payload, status=status, **fields,
    )
    db.session.add(delivery)
    db.session.commit()
    return delivery


def make_attempt(delivery, number=None, succeeded=False, **fields):
    """An attempt row of `delivery`; bumps the delivery's attempt count."""
    from app.extensions import db
    from app.models import Attempt

    number = number or delivery.attempt_count + 1
    attempt = Attempt(
        org_id=delivery.org_id, delivery_id=delivery.id, endpoint_id=delivery.endpoint_id,
        number=number, succeeded=succeeded, **fields,
    )
    delivery.attempt_count = max(delivery.attempt_count or 0, number)
    db.session.add(attempt)
    db.session.commit()
    return attempt


def db_endpoint(endpoint_id):
    """The endpoint row with this id, as stored now."""
    from app.extensions import db
    from app.models import Endpoint

    db.session.expire_all()
    return db.session.get(Endpoint, endpoint_id)


def make_endpoints(org, count, name="Endpoint", url="https://hooks.example.test/in"):
    """`count` minimal endpoint rows of `org` in one INSERT (no validation, not committed);
    returns their ids."""
    import uuid

    from app.extensions import db
    from app.models import Endpoint, utcnow

    now = utcnow()
    rows = [
        {"id": str(uuid.uuid4()), "org_id": org.id, "name": name, "url": url,
         "events": ["scan.completed"], "secret_encrypted": "unused",
         "created_at": now, "updated_at": now}
        for _ in range(count)
    ]
    db.session.execute(insert(Endpoint.__table__), rows)
    return [row["id"] for row in rows]


def make_endpoints_holding_retries(org, count):
    """`count` endpoints of `org`, each holding one failed delivery whose retry is two hours
    away (as a dead receiver's deliveries wait between attempts); committed."""
    import uuid
    from datetime import timedelta

    from app.extensions import db
    from app.models import Delivery, Event, utcnow

    endpoint_ids = make_endpoints(org, count, "dead receiver", "https://dead.example.test/in")
    now = utcnow()
    event_id = str(uuid.uuid4())
    db.session.execute(insert(Event.__table__), {
        "id": event_id, "org_id": org.id, "type": "scan.completed", "data": {},
        "created_at": now,
    })
    db.session.execute(insert(Delivery.__table__), [
        {"id": str(uuid.uuid4()), "org_id": org.id, "endpoint_id": endpoint_id,
         "event_id": event_id, "event_type": "scan.completed", "payload": "{}",
         "status": "failed", "attempt_count": 1, "next_attempt_at": now + timedelta(hours=2),
         "next_trigger": "auto", "created_at": now, "updated_at": now}
        for endpoint_id in endpoint_ids
    ])
    db.session.commit()
