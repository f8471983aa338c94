"""Admin pages for endpoints: list, overview, add (secret shown once), edit, template preview,
pause/resume, rotate, delete."""
from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import login_required
from wtforms.fields.choices import SelectChoice

from .. import catalog
from ..auth import current_org_id, manager_required, principal
from ..models import ENDPOINT_TYPES
from ..services import (
    body_templates,
    crypto,
    docs,
    endpoints,
    events,
    history,
    payload_filters,
    stats,
)
from . import bp
from .forms import ConfirmForm, EndpointForm
from .history import range_or_default
from .navigation import local_path

EMPTY_HEADER_ROWS = 2
EMPTY_FILTER_ROWS = 2
REVEAL_KEY = "reveal_secret"
RECENT_ATTEMPTS = 10
# JSON field names of the service → the form's field names.
FORM_FIELDS = {"bodyTemplate": "body_template", "retryPolicy": "retry_policy",
               "isActive": "is_active", "rateLimit": "rate_limit"}


def _endpoint_or_404(endpoint_id):
    endpoint = endpoints.get_endpoint(current_org_id(), endpoint_id)
    if endpoint is None:
        abort(404, "No such webhook.")
    return endpoint


def _shown_active(endpoint):
    return bool(endpoint.is_active and endpoint.disabled_at is None)


def _prepare(form, endpoint=None):
    """Set the choices that depend on the organization and the endpoint."""
    form.type.choices = [SelectChoice(kind, endpoints.TYPE_LABELS[kind]) for kind in ENDPOINT_TYPES]
    form.events.choices = [SelectChoice(event.type, event.type) for event in catalog.CATALOG]
    form.statuses.choices = [SelectChoice(status, status) for status in catalog.ISSUE_STATUSES]
    known = [SelectChoice(p.external_id, p.name) for p in events.list_projects(current_org_id())]
    known_ids = {choice.value for choice in known}
    saved = [SelectChoice(pid, pid) for pid in (endpoint.projects if endpoint else [])
             if pid not in known_ids]
    form.projects.choices = known + saved


def _fill_from(form, endpoint):
    form.name.data = endpoint.name
    form.description.data = endpoint.description
    form.url.data = endpoint.url
    form.type.data = endpoint.type
    form.events.data = list(endpoint.events or [])
    form.projects.data = list(endpoint.projects or [])
    form.statuses.data = list(endpoint.statuses or [])
    form.body_template.data = endpoint.body_template or ""
    form.retry_policy.data = endpoint.retry_policy
    form.is_active.data = _shown_active(endpoint)
    form.rate_limit.data = "" if endpoint.rate_limit is None else str(endpoint.rate_limit)
    form.ordered.data = bool(endpoint.ordered)
    while len(form.headers):
        form.headers.pop_entry()
    for name, _value in endpoints.custom_headers(endpoint):
        form.headers.append_entry({"name": name, "value": ""})
    for _ in range(EMPTY_HEADER_ROWS):
        form.headers.append_entry()
    for condition in endpoint.payload_filter or []:
        form.payload_filter.append_entry({
            "path": condition["path"], "op": condition["op"],
            "value": payload_filters.value_as_text(condition["value"])})
    _add_blank_rows(form)


def _add_blank_rows(form):
    for _ in range(EMPTY_FILTER_ROWS):
        _append_row(form.payload_filter)


def _append_row(rows):
    """One more blank row, unless the list is full (then the form simply has no more)."""
    if rows.max_entries is None or len(rows) < rows.max_entries:
        rows.append_entry()


def _filter_rows(form):
    """[(row index, condition)] of the filled-in, not removed payload filter rows."""
    found = []
    for index, row in enumerate(form.payload_filter):
        path, text = (row.form.path.data or "").strip(), row.form.value.data or ""
        if row.form.remove.data or (not path and not text.strip()):
            continue
        op = row.form.op.data
        found.append((index, {"path": path, "op": op,
                              "value": payload_filters.value_from_text(op, text)}))
    return found


def _rate_limit(text):
    """The form's text as the service takes it: empty is no limit, digits a number."""
    text = (text or "").strip()
    if not text:
        return None
    return int(text) if text.lstrip("-").isdigit() and len(text) < 12 else text


def _form_data(form, endpoint=None):
    """The form's values under the JSON field names the endpoint service validates."""
    data = {
        "name": form.name.data,
        "description": form.description.data,
        "url": form.url.data,
        "type": form.type.data,
        "events": form.events.data or [],
        "projects": form.projects.data or [],
        "statuses": form.statuses.data or [],
        "headers": [
            {"name": "", "value": ""} if row.form.remove.data
            else {"name": row.form.name.data or "", "value": row.form.value.data or ""}
            for row in form.headers
        ],
        "bodyTemplate": form.body_template.data,
        "retryPolicy": form.retry_policy.data,
        "payloadFilter": [condition for _index, condition in _filter_rows(form)],
        "rateLimit": _rate_limit(form.rate_limit.data),
        "ordered": bool(form.ordered.data),
    }
    if endpoint is not None and form.is_active.data != _shown_active(endpoint):
        data["isActive"] = bool(form.is_active.data)
    return data


def _show_errors(form, exc):
    """Put each message next to its field; header and filter messages next to their row.

    Returns {"headers": …, "payloadFilter": …} for messages that belong to no one row.
    """
    for key, message in exc.fields.items():
        if key in ("headers", "payloadFilter"):
            continue
        name = FORM_FIELDS.get(key, key)
        if name in form:
            form[name].errors = [*form[name].errors, message]
    for index, message in exc.header_rows.items():
        part = "value" if index in exc.header_value_rows else "name"
        row = form.headers[index].form[part]
        row.errors = [*row.errors, message]
    rows = [index for index, _condition in _filter_rows(form)]
    for index, message in exc.filter_rows.items():
        path = form.payload_filter[rows[index]].form.path
        path.errors = [*path.errors, message.split(": ", 1)[1]]
    unplaced = {}
    if "headers" in exc.fields and not exc.header_rows:
        unplaced["headers"] = exc.fields["headers"]
    if "payloadFilter" in exc.fields and not exc.filter_rows:
        unplaced["payloadFilter"] = exc.fields["payloadFilter"]
    return unplaced


def _handle_buttons(form):
    """Add header, Add condition, Check against samples, Apply template and Preview re-render
    the form without saving; True if one did."""
    if form.preview.data:
        return True
    if form.add_header.data:
        _append_row(form.headers)
        return True
    if form.add_condition.data:
        _append_row(form.payload_filter)
        return True
    if form.check_filter.data:
        return True
    if form.apply_template.data:
        form.body_template.data = body_templates.PRESETS.get(form.type.data, "")
        label = endpoints.TYPE_LABELS.get(form.type.data, form.type.data)
        flash(f"Body template set for {label}." if form.body_template.data else
              f"{label} takes the default payload: the body template was cleared.", "info")
        return True
    return False


def _render_form(form, endpoint=None, unplaced=None, status=200, form_error=None):
    unplaced = unplaced or {}
    saved_masks = {}
    held = 0
    if endpoint is not None:
        saved_masks = {item["name"]: item["value"] for item in endpoints.masked_headers(endpoint)}
        if not _shown_active(endpoint):
            held = endpoints.held_count(endpoint)
    preview = None
    if form.preview.data:
        preview = body_templates.preview(form.body_template.data, form.events.data or [],
                                         current_org_id())
    return render_template(
        "admin/webhook_form.html",
        form=form,
        endpoint=endpoint,
        status=endpoints.health_status(endpoint) if endpoint else None,
        status_labels=endpoints.STATUS_LABELS,
        areas=catalog.by_area(),
        presets=body_templates.PRESETS,
        placeholders=body_templates.PLACEHOLDERS,
        saved_masks=saved_masks,
        held=held,
        header_error=unplaced.get("headers"),
        filter_error=unplaced.get("payloadFilter"),
        verdicts=endpoints.sample_verdicts(current_org_id(), _form_data(form), endpoint),
        form_error=form_error,
        invalid=status == 422,
        preview=preview,
    ), status


def _reveal_secret(endpoint, secret, rotated):
    """Redirect to a page that shows the secret once; a reload never re-submits the form.

    The secret travels in the session encrypted and is dropped on its first view.
    """
    session[REVEAL_KEY] = {"endpoint": endpoint.id, "secret": crypto.encrypt(secret),
                           "rotated": rotated}
    return redirect(url_for("admin.webhook_secret", endpoint_id=endpoint.id))


@bp.get("/organization/webhooks/<endpoint_id>/secret")
@login_required
@manager_required
def webhook_secret(endpoint_id):
    endpoint = _endpoint_or_404(endpoint_id)
    reveal = session.pop(REVEAL_KEY, None)
    secret = None
    if reveal and reveal.get("endpoint") == endpoint.id:
        secret = crypto.decrypt(reveal["secret"])
    response = make_response(render_template(
        "admin/webhook_secret.html", endpoint=endpoint, secret=secret,
        rotated=bool(reveal and reveal.get("rotated")),
        grace_hours=current_app.config["WEBHOOK_SECRET_GRACE_HOURS"],
    ))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/organization/webhooks")
@login_required
def webhooks():
    found = endpoints.list_endpoints(current_org_id())
    return render_template(
        "admin/webhooks.html",
        endpoints=found,
        statuses={endpoint.id: endpoints.health_status(endpoint) for endpoint in found},
        rotating={endpoint.id for endpoint in found if endpoints.rotation_in_progress(endpoint)},
        stopped=[endpoint for endpoint in found if endpoints.stopped_automatically(endpoint)],
        status_labels=endpoints.STATUS_LABELS,
        type_labels=endpoints.TYPE_LABELS,
        shown_active={endpoint.id: _shown_active(endpoint) for endpoint in found},
    )


@bp.get("/organization/webhooks/<endpoint_id>")
@login_required
def webhook_overview(endpoint_id):
    endpoint = _endpoint_or_404(endpoint_id)
    org_id = current_org_id()
    window = stats.window(range_or_default())
    status = endpoints.health_status(endpoint)
    return render_template(
        "admin/webhook_overview.html",
        endpoint=endpoint,
        status=status,
        status_labels=endpoints.STATUS_LABELS,
        type_labels=endpoints.TYPE_LABELS,
        shown_active=_shown_active(endpoint),
        held=0 if _shown_active(endpoint) else endpoints.held_count(endpoint),
        headers=endpoints.masked_headers(endpoint),
        projects=dict(history.project_names(org_id, endpoint.projects or [])),
        rotating=endpoints.rotation_in_progress(endpoint),
        policy=next(policy for policy in docs.retry_policies(current_app.config)
                    if policy["name"] == endpoint.retry_policy),
        window=window,
        counters=stats.endpoint_stats([endpoint], days=1)[endpoint.id],
        figures=stats.range_stats([endpoint], window, with_latency=True)[endpoint.id],
        attempts=history.recent_attempts(org_id, endpoint.id, RECENT_ATTEMPTS),
        form=ConfirmForm(),
    )


def _active_message(endpoint, was_shown_active, held, discarded):
    """What a save that may have paused or resumed the endpoint tells the user."""
    if not was_shown_active and _shown_active(endpoint):
        verb = "discarded" if discarded else "sent, oldest first"
        return f"Resumed: {held} held deliveries {verb}."
    if was_shown_active and not endpoint.is_active:
        return "Paused: new deliveries are held until you resume."
    return ""


def _switch_active(endpoint_id, active):
    """Pause (active False) or resume an endpoint from a button; back to the page it was on."""
    endpoint = _endpoint_or_404(endpoint_id)
    fallback = url_for("admin.webhook_overview", endpoint_id=endpoint.id)
    target = local_path(request.form.get("next", ""), fallback)
    if not ConfirmForm().validate_on_submit():
        flash("The form expired; please try again.", "danger")
        return redirect(target)
    was_shown_active = _shown_active(endpoint)
    if active == was_shown_active:
        flash(f"“{endpoint.name}” is already {'active' if active else 'paused'}.", "info")
        return redirect(target)
    held = 0 if was_shown_active else endpoints.held_count(endpoint)
    discard = active and request.form.get("discard_held") == "y"
    endpoints.update_endpoint(current_org_id(), principal(), endpoint, {"isActive": active},
                              discard_held=discard)
    flash(f"“{endpoint.name}”: " + _active_message(endpoint, was_shown_active, held, discard),
          "success")
    return redirect(target)


@bp.post("/organization/webhooks/<endpoint_id>/pause")
@login_required
@manager_required
def webhook_pause(endpoint_id):
    return _switch_active(endpoint_id, False)


@bp.post("/organization/webhooks/<endpoint_id>/resume")
@login_required
@manager_required
def webhook_resume(endpoint_id):
    return _switch_active(endpoint_id, True)


@bp.route("/organization/webhooks/new", methods=["GET", "POST"])
@login_required
@manager_required
def webhook_new():
    form = EndpointForm()
    _prepare(form)
    if not form.is_submitted():
        form.type.data = "other"
        for _ in range(EMPTY_HEADER_ROWS):
            form.headers.append_entry()
        _add_blank_rows(form)
        return _render_form(form)
    if not form.validate() or _handle_buttons(form):
        return _render_form(form)
    try:
        endpoint, secret = endpoints.create_endpoint(current_org_id(), principal(),
                                                     _form_data(form))
    except endpoints.EndpointInvalid as exc:
        return _render_form(form, unplaced=_show_errors(form, exc), status=422)
    except endpoints.EndpointLimitReached as exc:
        return _render_form(form, form_error=str(exc), status=422)
    warning = _template_warning(endpoint)
    if warning:
        flash(warning, "warning")
    return _reveal_secret(endpoint, secret, rotated=False)


@bp.route("/organization/webhooks/<endpoint_id>/edit", methods=["GET", "POST"])
@login_required
@manager_required
def webhook_edit(endpoint_id):
    endpoint = _endpoint_or_404(endpoint_id)
    form = EndpointForm()
    _prepare(form, endpoint)
    if not form.is_submitted():
        _fill_from(form, endpoint)
        return _render_form(form, endpoint)
    if not form.validate() or _handle_buttons(form):
        return _render_form(form, endpoint)
    was_shown_active = _shown_active(endpoint)
    held = 0 if was_shown_active else endpoints.held_count(endpoint)
    try:
        endpoints.update_endpoint(current_org_id(), principal(), endpoint,
                                  _form_data(form, endpoint),
                                  discard_held=bool(form.discard_held.data))
    except endpoints.EndpointInvalid as exc:
        return _render_form(form, endpoint, unplaced=_show_errors(form, exc), status=422)
    message = f"Saved “{endpoint.name}”. " + _active_message(
        endpoint, was_shown_active, held, bool(form.discard_held.data))
    warning = _template_warning(endpoint)
    flash(message.strip(), "success")
    if warning:
        flash(warning, "warning")
    return redirect(url_for("admin.webhooks"))


def _template_warning(endpoint):
    """A note when the saved body template reads data fields some samples do not have."""
    if not endpoint.body_template:
        return None
    gaps = body_templates.missing_fields(endpoint.body_template, endpoint.events or [])
    if not gaps:
        return None
    return "The body template reads fields some events do not have; they render empty: " + \
        "; ".join(f"{field} ({', '.join(types)})" for field, types in gaps.items()) + "."


@bp.route("/organization/webhooks/<endpoint_id>/rotate", methods=["GET", "POST"])
@login_required
@manager_required
def webhook_rotate(endpoint_id):
    """Rotate the signing secret, after a confirmation on a page of its own."""
    endpoint = _endpoint_or_404(endpoint_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        secret = endpoints.rotate_secret(current_org_id(), principal(), endpoint)
        return _reveal_secret(endpoint, secret, rotated=True)
    if request.method == "POST":
        flash("The form expired; please try again.", "danger")
    return render_template(
        "admin/webhook_rotate.html", endpoint=endpoint, form=form,
        rotating=endpoints.rotation_in_progress(endpoint),
        grace_hours=current_app.config["WEBHOOK_SECRET_GRACE_HOURS"],
    )


@bp.route("/organization/webhooks/<endpoint_id>/delete", methods=["GET", "POST"])
@login_required
@manager_required
def webhook_delete(endpoint_id):
    endpoint = _endpoint_or_404(endpoint_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        cancelled = endpoints.delete_endpoint(current_org_id(), principal(), endpoint)
        flash(f"Deleted “{endpoint.name}”; {cancelled} pending deliveries were cancelled.",
              "success")
        return redirect(url_for("admin.webhooks"))
    return render_template("admin/webhook_delete.html", endpoint=endpoint, form=form,
                           pending=endpoints.held_count(endpoint))
