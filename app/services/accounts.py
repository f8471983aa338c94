"""Organizations and users: creation, password hashing and authentication."""
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import ROLES, Organization, User


class AccountError(ValueError):
    """An account could not be created as asked; the message says why."""


def create_organization(name):
    """Create an organization and return it."""
    name = (name or "").strip()
    if not name:
        raise AccountError("Organization name is required")
    org = Organization(name=name[:200])
    db.session.add(org)
    db.session.commit()
    return org


def create_user(org_id, email, password, role="viewer", name=""):
    """Create a user with a hashed password; email is unique across Hookline."""
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254:
        raise AccountError("A valid email address is required")
    if role not in ROLES:
        raise AccountError(f"Role must be one of: {', '.join(ROLES)}")
    if not password or len(password) < 8:
        raise AccountError("Password must be at least 8 characters")
    if db.session.get(Organization, org_id) is None:
        raise AccountError(f"No organization with id {org_id}")
    if find_user(email) is not None:
        raise AccountError(f"A user with email {email} already exists")
    user = User(
        org_id=org_id,
        email=email,
        name=(name or email.split("@")[0])[:200],
        password_hash=generate_password_hash(password),
        role=role,
    )
    db.session.add(user)
    db.session.commit()
    return user


def find_user(email):
    """The user with this email (case-insensitive), or None."""
    email = (email or "").strip().lower()
    return db.session.execute(
        select(User).where(func.lower(User.email) == email)
    ).scalar_one_or_none()


def authenticate(email, password):
    """(user, ok): user is None for an unknown email; ok says whether the password matched."""
    user = find_user(email)
    if user is None:
        return None, False
    return user, check_password_hash(user.password_hash, password or "")
