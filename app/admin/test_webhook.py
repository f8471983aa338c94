"""The Test Webhook page: send one of an endpoint's event types now and show the result."""
from flask import abort, render_template
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from ..auth import current_org_id, manager_required, principal
from ..services import deliveries, endpoints, limits
from . import bp


class TestWebhookForm(FlaskForm):
    event_type = SelectField("Event type")


@bp.route("/organization/webhooks/<endpoint_id>/test", methods=["GET", "POST"])
@login_required
@manager_required
def webhook_test(endpoint_id):
    endpoint = endpoints.get_endpoint(current_org_id(), endpoint_id)
    if endpoint is None:
        abort(404, "No such webhook.")
    form = TestWebhookForm()
    form.event_type.choices = [SelectChoice(kind, kind) for kind in endpoint.events]
    sent, status = None, 200
    if form.validate_on_submit():
        try:
            limits.start_test_send(endpoint.id)
            sent = deliveries.test_webhook(
                current_org_id(), principal(), endpoint, form.event_type.data
            )
        except limits.TestCooldown as exc:
            form.event_type.errors.append(str(exc))
            status = 429
        except deliveries.TestRefused as exc:
            form.event_type.errors.append(str(exc))
    if form.errors and status == 200:
        status = 422
    return render_template(
        "admin/webhook_test.html", endpoint=endpoint, form=form,
        delivery=sent.delivery if sent else None, attempt=sent.attempt if sent else None,
    ), status
