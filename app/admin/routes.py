"""Admin pages: login, logout, the signed-in user's account, API tokens."""
from flask import (
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, logout_user

from ..auth import admin_required, current_org_id, principal, start_session
from ..extensions import limiter
from ..services import accounts, audit, crypto, events, tokens
from . import bp
from .forms import ConfirmForm, LoginForm, PasswordForm, TokenForm
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
            start_session(user)
            target = request.args.get("next")
            return redirect(local_path(target, url_for("admin.index")))
        form.password.errors.append("Email or password is incorrect.")
    status = 401 if form.is_submitted() and form.errors else 200
    return render_template("login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    accounts.end_sessions(current_user)
    logout_user()
    flash("You have been logged out on every device.", "info")
    return redirect(url_for("admin.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    user = current_user._get_current_object()
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(user, form.current_password.data, form.new_password.data)
        except accounts.AccountError as exc:
            form[exc.field].errors.append(str(exc))
        else:
            audit.record(user.org_id, user, "account.password_change", "user", user.id,
                         {"email": user.email})
            start_session(user)
            flash("Password changed. Every other session of your account has ended.",
                  "success")
            return redirect(url_for("admin.account"))
    status = 422 if form.is_submitted() and form.errors else 200
    return render_template("admin/account.html", form=form,
                           sign_out_form=ConfirmForm(prefix="everyone")), status


@bp.post("/account/sign-out-everyone")
@login_required
@admin_required
def sign_out_everyone():
    if not ConfirmForm(prefix="everyone").validate_on_submit():
        flash("The form expired; please try again.", "danger")
        return redirect(url_for("admin.account"))
    user = current_user._get_current_object()
    ended = accounts.end_organization_sessions(user.org_id)
    audit.record(user.org_id, user, "organization.sign_out_everyone", "organization",
                 user.org_id, {"users": ended})
    start_session(user)
    flash(f"Signed out every session of the organization's {ended} users; you were signed "
          "in again here.", "success")
    return redirect(url_for("admin.account"))


@bp.get("/")
@login_required
def index():
    return redirect(url_for("admin.webhooks"))


NEW_TOKEN_KEY = "new_api_token"


@bp.route("/organization/tokens", methods=["GET", "POST"])
@login_required
@admin_required
def api_tokens():
    """Create (post/redirect/get: the new token is shown once, on the GET after the create,
    carried in the session encrypted), list and revoke API tokens."""
    form = TokenForm()
    if form.validate_on_submit():
        try:
            token, plaintext = tokens.create_token(
                current_org_id(), form.name.data, created_by_id=current_user.id
            )
        except tokens.TokenError as exc:
            form.name.errors.append(str(exc))
        else:
            audit.record(current_org_id(), principal(), "token.create", "token", token.id,
                         {"name": token.name})
            session[NEW_TOKEN_KEY] = {"id": token.id, "token": crypto.encrypt(plaintext)}
            return redirect(url_for("admin.api_tokens"))
    new_token = None
    shown = session.pop(NEW_TOKEN_KEY, None) if request.method == "GET" else None
    if shown:
        new_token = {"id": shown["id"], "token": crypto.decrypt(shown["token"])}
    response = make_response(render_template(
        "admin/tokens.html",
        form=form,
        new_token=new_token,
        tokens=tokens.list_tokens(current_org_id()),
        revoke_form=ConfirmForm(),
        org_id=current_org_id(),
    ))
    response.headers["Cache-Control"] = "no-store"
    return response


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
