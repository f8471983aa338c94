"""The API → Webhooks docs page: built from the catalog, the settings and the tested snippets."""
from flask import current_app, render_template
from flask_login import login_required

from .. import catalog
from ..auth import current_org_id
from ..services import body_templates, docs, endpoints, payload_filters
from . import bp


@bp.get("/docs/webhooks")
@login_required
def docs_webhooks():
    config = current_app.config
    org_id = current_org_id()
    return render_template(
        "docs/webhooks.html",
        areas=catalog.by_area(),
        samples={event.type: text for event, text in docs.event_samples(org_id)},
        schemas=docs.event_schemas(),
        filter_examples=docs.filter_examples(org_id),
        filter_ops=payload_filters.OPS,
        max_conditions=payload_filters.MAX_CONDITIONS,
        max_rate_limit=endpoints.MAX_RATE_LIMIT,
        headers=docs.delivery_headers(config),
        prefix=config["WEBHOOK_HEADER_PREFIX"],
        user_agent=config["WEBHOOK_USER_AGENT"],
        timeout=config["WEBHOOK_TIMEOUT_SECONDS"],
        policies=docs.retry_policies(config),
        body_examples=docs.body_examples(org_id),
        placeholders=body_templates.PLACEHOLDERS,
        snippets=docs.snippets(config["WEBHOOK_HEADER_PREFIX"]),
        grace_hours=config["WEBHOOK_SECRET_GRACE_HOURS"],
        retention_days=config["WEBHOOK_RETENTION_DAYS"],
        idempotency=docs.snippet_source(docs.IDEMPOTENCY_SNIPPET),
    )
