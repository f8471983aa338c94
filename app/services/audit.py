"""Audit log: one row per action a user or token takes; never a secret in it."""
from ..extensions import db
from ..models import ApiToken, AuditEntry


def actor_fields(actor):
    """The audit columns that name an acting user, token or the system (None)."""
    if actor is None:
        return {"actor_type": "system", "actor_id": None, "actor_name": "system"}
    if isinstance(actor, ApiToken):
        return {"actor_type": "token", "actor_id": str(actor.id), "actor_name": actor.name}
    return {"actor_type": "user", "actor_id": str(actor.id), "actor_name": actor.email}


def record(org_id, actor, action, target_type="", target_id=None, details=None, commit=True):
    """Add one audit row; `details` must hold names and counts, never secret values."""
    entry = AuditEntry(
        org_id=org_id,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=details or {},
        **actor_fields(actor),
    )
    db.session.add(entry)
    if commit:
        db.session.commit()
    return entry
