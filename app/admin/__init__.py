"""Server-rendered admin pages."""
from flask import Blueprint

bp = Blueprint("admin", __name__)

from ..services.failures import error_class  # noqa: E402
from .charts import bar_chart  # noqa: E402

bp.add_app_template_global(bar_chart, "bar_chart")
bp.add_app_template_global(error_class, "error_class")

from . import docs, history, routes, test_webhook, webhooks  # noqa: E402,F401
