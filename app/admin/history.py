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
from ..models import DELIVERY_STATUSES, utcnow
from ..services import (
    audit,
    audit_log,
    deliveries,
    endpoints,
    export,
    history,
    next_attempt,
    stats,
)
from . import bp
from .forms import ConfirmForm
from .navigation import local_path

FILTER_NAMES = ("q", "from", "to", "eventType", "status", "webhook")


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
        upcoming={row.id: next_attempt.explain(row, row.endpoint) for row in rows},
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
    attempts = history.attempts_of(delivery)
    return render_template(
        "admin/delivery.html",
        delivery=delivery,
        attempts=attempts,
        upcoming=next_attempt.explain(delivery, delivery.endpoint,
                                      last_attempt=attempts[-1] if attempts else None),
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
    return _deliveries_page(endpoint, ConfirmForm())


def _deliveries_page(endpoint, form, replay_error=None):
    return render_template(
        "admin/deliveries.html",
        endpoint=endpoint,
        rows=history.recent_attempts(current_org_id(), endpoint.id),
        form=form,
        replay_error=replay_error,
        now_utc=utcnow().strftime("%Y-%m-%dT%H:%M"),
    ), 422 if replay_error else 200


@bp.post("/organization/webhooks/<endpoint_id>/replay")
@login_required
@manager_required
def replay_endpoint(endpoint_id):
    org_id = current_org_id()
    endpoint = _live_endpoint_or_404(endpoint_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _deliveries_page(endpoint, form, "The form expired; please try again.")
    since_text = request.form.get("since", "")
    try:
        since = history.replay_since(since_text)
    except history.FutureTimeError:
        return _deliveries_page(endpoint, form, "Choose a time in the past: nothing was "
                                                "delivered after now.")
    except ValueError:
        return _deliveries_page(endpoint, form, "Choose the date and time to replay from (UTC).")
    count = deliveries.replay(org_id, endpoint.id, since)
    audit.record(org_id, principal(), "endpoint.replay", "endpoint", endpoint.id,
                 {"name": endpoint.name, "since": since.isoformat(), "count": count})
    flash(f"Replaying {count} failed or exhausted deliveries since "
          f"{since:%Y-%m-%d %H:%M} UTC.", "success")
    return redirect(url_for("admin.endpoint_deliveries", endpoint_id=endpoint.id))


def range_or_default():
    """The statistics range asked for in the query, or the default with a message saying so."""
    try:
        return stats.parse_range(request.args.get("range"))
    except stats.RangeError as exc:
        flash(f"{exc}; showing the {stats.RANGE_LABELS[stats.DEFAULT_RANGE]}.", "warning")
        return stats.DEFAULT_RANGE


@bp.get("/organization/webhooks/stats")
@login_required
def stats_page():
    org_id = current_org_id()
    endpoints = history.live_endpoints(org_id)
    window = stats.window(range_or_default())
    return render_template(
        "admin/stats.html",
        endpoints=endpoints,
        window=window,
        counters=stats.endpoint_stats(endpoints, days=1),
        figures=stats.range_stats(endpoints, window),
        organization=stats.organization_series(org_id, window),
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
        actions=audit_log.actions(org_id), targets=audit_log.target_names(org_id, rows),
    )
