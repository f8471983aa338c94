"""Admin pages: delivery history, one delivery, an endpoint's recent attempts, retry, bulk
retry, replay, statistics, CSV export and the audit log."""
from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_required
from redis.exceptions import RedisError

from .. import catalog
from ..auth import admin_required, current_org_id, manager_required, principal
from ..downloads import csv_download
from ..models import DELIVERY_STATUSES
from ..services import audit, audit_log, deliveries, endpoints, export, history, stats
from . import bp
from .forms import ConfirmForm
from .navigation import local_path

FILTER_NAMES = ("from", "to", "eventType", "status", "webhook")


def _filter_args():
    return {name: request.args[name] for name in FILTER_NAMES if request.args.get(name)}


def _live_endpoint_or_404(endpoint_id):
    endpoint = None
    if history.is_id(endpoint_id):
        endpoint = endpoints.get_endpoint(current_org_id(), endpoint_id)
    if endpoint is None:
        abort(404, "No such webhook.")
    return endpoint


@bp.get("/organization/webhooks/history")
@login_required
def history_page():
    org_id = current_org_id()
    filters, errors = history.read_filters(org_id, request.args)
    try:
        rows, next_cursor = history.history_page(org_id, filters, request.args.get("cursor"))
    except history.CursorError:
        flash("That page link was not valid; showing the first page.", "warning")
        rows, next_cursor = history.history_page(org_id, filters)
    return render_template(
        "admin/history.html",
        rows=rows,
        next_cursor=next_cursor,
        errors=errors,
        args=_filter_args(),
        event_types=[event.type for event in catalog.CATALOG],
        statuses=DELIVERY_STATUSES,
        endpoints=history.endpoint_choices(org_id),
        retryable=history.RETRYABLE,
        form=ConfirmForm(),
    )


@bp.get("/organization/webhooks/history/export.csv")
@login_required
def history_export():
    org_id = current_org_id()
    filters, errors = history.read_filters(org_id, request.args)
    if errors:
        for message in errors.values():
            flash(message, "danger")
        return redirect(url_for("admin.history_page", **_filter_args()))
    return csv_download(*export.begin(org_id, principal(), filters))


@bp.get("/organization/webhooks/history/<delivery_id>")
@login_required
def delivery_detail(delivery_id):
    delivery = history.get_delivery(current_org_id(), delivery_id)
    if delivery is None:
        abort(404, "No such delivery.")
    return render_template(
        "admin/delivery.html",
        delivery=delivery,
        attempts=history.attempts_of(delivery),
        retryable=history.RETRYABLE,
        form=ConfirmForm(),
    )


@bp.post("/organization/webhooks/history/<delivery_id>/retry")
@login_required
@manager_required
def retry_delivery(delivery_id):
    org_id = current_org_id()
    if not ConfirmForm().validate_on_submit():
        flash("The form expired; please try again.", "danger")
        return redirect(url_for("admin.history_page"))
    delivery = history.get_delivery(org_id, delivery_id)
    if delivery is None:
        abort(404, "No such delivery.")
    try:
        deliveries.retry(org_id, principal(), delivery)
    except deliveries.RetryRefused as exc:
        flash(f"{exc}.", "warning")
    else:
        flash(f"Retry of the {delivery.event_type} delivery requested.", "success")
    fallback = url_for("admin.delivery_detail", delivery_id=delivery.id)
    return redirect(local_path(request.form.get("next", ""), fallback))


@bp.route("/organization/webhooks/history/retry-all", methods=["GET", "POST"])
@login_required
@manager_required
def retry_all():
    org_id = current_org_id()
    filters, errors = history.read_filters(org_id, request.values)
    if errors:
        for message in errors.values():
            flash(message, "danger")
        return redirect(url_for("admin.history_page", **_filter_args()))
    form = ConfirmForm()
    count = history.count_retryable(org_id, filters)
    if request.method == "POST" and form.validate_on_submit():
        try:
            current_app.task_queue.enqueue(
                "app.jobs.bulk_retry.retry_matching", org_id, filters.as_dict(),
                job_timeout=3600,
            )
        except RedisError:
            flash("The job queue is unavailable right now; nothing was retried. "
                  "Try again in a moment.", "danger")
        else:
            audit.record(org_id, principal(), "delivery.bulk_retry", "delivery", None,
                         {"filters": filters.as_dict(), "count": count})
            flash(f"Retrying {count} matching deliveries in the background.", "success")
        return redirect(url_for("admin.history_page", **_filter_args()))
    return render_template(
        "admin/retry_all.html", count=count, form=form, args=_filter_args(),
        filters=filters, endpoints=dict(history.endpoint_choices(org_id)),
    )


@bp.get("/organization/webhooks/<endpoint_id>/deliveries")
@login_required
def endpoint_deliveries(endpoint_id):
    endpoint = _live_endpoint_or_404(endpoint_id)
    return render_template(
        "admin/deliveries.html",
        endpoint=endpoint,
        rows=history.recent_attempts(current_org_id(), endpoint.id),
        form=ConfirmForm(),
        replay_error=None,
    )


@bp.post("/organization/webhooks/<endpoint_id>/replay")
@login_required
@manager_required
def replay_endpoint(endpoint_id):
    org_id = current_org_id()
    endpoint = _live_endpoint_or_404(endpoint_id)
    form = ConfirmForm()
    since_text = request.form.get("since", "")
    try:
        since = history.parse_moment(since_text) if since_text.strip() else None
    except (ValueError, OverflowError):
        since = None
    if since is None or not form.validate_on_submit():
        return render_template(
            "admin/deliveries.html",
            endpoint=endpoint,
            rows=history.recent_attempts(org_id, endpoint.id),
            form=form,
            replay_error="Choose the date and time to replay from (UTC).",
        ), 422
    count = deliveries.replay(org_id, endpoint.id, since)
    audit.record(org_id, principal(), "endpoint.replay", "endpoint", endpoint.id,
                 {"name": endpoint.name, "since": since.isoformat(), "count": count})
    flash(f"Replaying {count} failed or exhausted deliveries since "
          f"{since:%Y-%m-%d %H:%M} UTC.", "success")
    return redirect(url_for("admin.endpoint_deliveries", endpoint_id=endpoint.id))


@bp.get("/organization/webhooks/stats")
@login_required
def stats_page():
    org_id = current_org_id()
    endpoints = history.live_endpoints(org_id)
    return render_template(
        "admin/stats.html",
        endpoints=endpoints,
        figures=stats.endpoint_stats(endpoints),
        organization=stats.organization_daily(org_id),
    )


@bp.get("/organization/audit")
@login_required
@admin_required
def audit_page():
    org_id = current_org_id()
    filters, errors = audit_log.read_filters(request.args)
    before = request.args.get("before", "")
    rows, next_before = audit_log.entries(
        org_id, filters, int(before) if before.isdigit() and len(before) < 18 else None
    )
    args = {name: request.args[name] for name in ("action", "actor", "from", "to")
            if request.args.get(name)}
    return render_template(
        "admin/audit.html", rows=rows, next_before=next_before, errors=errors, args=args,
        actions=audit_log.actions(org_id),
    )
