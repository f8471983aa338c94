"""Who is acting: session users for pages, bearer tokens for the API, and role checks."""
from functools import wraps

from flask import abort, g
from flask_login import current_user

from .extensions import db, login_manager
from .models import User


def init_auth(app):
    login_manager.login_view = "admin.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "strong"

    @app.before_request
    def _forget_previous_principal():
        # An app context can outlive one request (CLI, tests): never inherit an actor.
        g.pop("principal", None)


@login_manager.user_loader
def _load_user(user_id):
    try:
        return db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None


def principal():
    """The acting user or API token of this request (set by the blueprint's auth step)."""
    return g.get("principal") or (current_user if current_user.is_authenticated else None)


def current_org_id():
    """The organization of the acting principal; every tenant query starts here."""
    return principal().org_id


def _role_required(check):
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            actor = principal()
            if actor is None:
                abort(401)
            if not check(actor):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


manager_required = _role_required(lambda actor: actor.can_manage)
manager_required.__doc__ = "Admins and integration managers (and API tokens) only."
admin_required = _role_required(lambda actor: actor.is_admin)
admin_required.__doc__ = "Admins only."
