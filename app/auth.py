"""Who is acting: session users for pages, bearer tokens for the API, and role checks."""
import hashlib
from functools import wraps

from flask import abort, g, request, session
from flask_login import current_user, login_user

from .extensions import db, login_manager
from .models import User


def init_auth(app):
    login_manager.login_view = "admin.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "warning"
    # Flask-Login's own protection reads X-Forwarded-For from anyone; _load_user binds the
    # session to the address ProxyFix vouches for (TRUSTED_PROXY_HOPS) instead.
    login_manager.session_protection = None

    @app.before_request
    def _forget_previous_principal():
        # An app context can outlive one request (CLI, tests): never inherit an actor.
        g.pop("principal", None)
        g.pop("_login_user", None)


CLIENT_KEY = "_client"


def _client():
    """This request's client: its address (as the trusted proxies report it) and agent."""
    agent = request.headers.get("User-Agent", "")
    return hashlib.sha256(f"{request.remote_addr}|{agent}".encode()).hexdigest()


def start_session(user):
    """Sign the user in on this browser: the session is bound to this client and to the
    user's session generation, so it ends on logout, password change or sign-out
    everywhere, and is refused from another address or browser."""
    login_user(user)
    session[CLIENT_KEY] = _client()


@login_manager.user_loader
def _load_user(session_id):
    """The user of a session "<user id>:<generation>", if the session is still live."""
    user_id, _, generation = str(session_id).partition(":")
    if not (user_id.isdigit() and generation.isdigit()):
        return None
    if session.get(CLIENT_KEY) != _client():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_generation != int(generation):
        return None
    return user


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
