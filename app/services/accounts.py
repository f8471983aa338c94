"""Organizations and users: creation, passwords, authentication and ending sessions."""
from functools import lru_cache

from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import ROLES, Organization, User

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


class AccountError(ValueError):
    """An account could not be created or changed as asked; the message says why and
    `field` names the form field at fault."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


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
    _check_password(password)
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


def _check_password(password, field=None):
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Password must be at least {MIN_PASSWORD_LENGTH} characters", field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"Password must be at most {MAX_PASSWORD_LENGTH} characters", field)


@lru_cache(maxsize=1)
def _dummy_hash():
    """A hash made like every user's, for unknown emails to be checked against."""
    return generate_password_hash("no account has this password")


def authenticate(email, password):
    """(user, ok): user is None for an unknown email; ok says whether the password matched.

    An unknown email costs the same password check as a known one, so the time taken
    does not tell which emails have accounts.
    """
    user = find_user(email)
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None, False
    return user, check_password_hash(user.password_hash, password or "")


def end_sessions(user, commit=True):
    """End every session of the user (each device, this one too) by raising the session
    generation that sessions carry."""
    db.session.execute(
        update(User).where(User.id == user.id)
        .values(session_generation=User.session_generation + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(user, ["session_generation"])
    if commit:
        db.session.commit()


def end_organization_sessions(org_id):
    """End every session of every user of the organization; returns how many users."""
    ended = db.session.execute(
        update(User).where(User.org_id == org_id)
        .values(session_generation=User.session_generation + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return ended


def change_password(user, current_password, new_password):
    """Set a new password after checking the current one; ends every session of the user.

    Raises AccountError naming the field at fault (current_password or new_password).
    """
    if not check_password_hash(user.password_hash, current_password or ""):
        raise AccountError("The current password is incorrect", "current_password")
    _check_password(new_password, "new_password")
    if check_password_hash(user.password_hash, new_password):
        raise AccountError("Choose a password different from the current one", "new_password")
    user.password_hash = generate_password_hash(new_password)
    end_sessions(user, commit=False)
    db.session.commit()
