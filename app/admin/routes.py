"""Admin pages: login, API tokens."""
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..auth import admin_required, current_org_id, principal
from ..extensions import limiter
from ..services import accounts, audit, events, tokens
from . import bp
from .forms import ConfirmForm, LoginForm, TokenForm
from .navigation import local_path


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 302,
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user, ok = accounts.authenticate(form.email.data, form.password.data)
        user_agent = request.headers.get("User-Agent", "")[:500]
        if user is not None:
            events.emit_login(user, user_agent, request.path, succeeded=ok)
        if ok:
            login_user(user)
            target = request.args.get("next")
            return redirect(local_path(target, url_for("admin.index")))
        form.password.errors.append("Email or password is incorrect.")
    status = 401 if form.is_submitted() and form.errors else 200
    return render_template("login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("You have been logged out.", "info")
    return redirect(url_for("admin.login"))


@bp.get("/")
@login_required
def index():
    return redirect(url_for("admin.webhooks"))


@bp.route("/organization/tokens", methods=["GET", "POST"])
@login_required
@admin_required
def api_tokens():
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        try:
            token, new_token = tokens.create_token(
                current_org_id(), form.name.data, created_by_id=current_user.id
            )
        except tokens.TokenError as exc:
            form.name.errors.append(str(exc))
        else:
            audit.record(current_org_id(), principal(), "token.create", "token", token.id,
                         {"name": token.name})
            form = TokenForm(formdata=None)
    return render_template(
        "admin/tokens.html",
        form=form,
        new_token=new_token,
        tokens=tokens.list_tokens(current_org_id()),
        revoke_form=ConfirmForm(),
    )


@bp.post("/organization/tokens/<int:token_id>/revoke")
@login_required
@admin_required
def revoke_api_token(token_id):
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "danger")
        return redirect(url_for("admin.api_tokens"))
    token = tokens.revoke_token(current_org_id(), token_id)
    if token is None:
        return render_template("error.html", status=404, title="Not Found",
                               message="No such token."), 404
    audit.record(current_org_id(), principal(), "token.revoke", "token", token.id,
                 {"name": token.name})
    flash(f"Token “{token.name}” revoked.", "success")
    return redirect(url_for("admin.api_tokens"))
