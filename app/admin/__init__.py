"""Server-rendered admin pages."""
from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import docs, history, routes, test_webhook, webhooks  # noqa: E402,F401
