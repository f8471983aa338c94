"""Flask CLI commands: organizations, users, tokens, events, demo data, key changes."""
import os

import click
from flask import current_app
from sqlalchemy import func, select

from .extensions import db
from .models import User
from .services import accounts, encryption_keys, events, strict_json, tokens


def init_cli(app):
    @app.cli.command("create-org")
    @click.argument("name")
    def create_org(name):
        """Create an organization; prints its id."""
        try:
            org = accounts.create_organization(name)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(org.id)

    @app.cli.command("create-user")
    @click.option("--org", "org_id", required=True, help="Organization id.")
    @click.option("--email", required=True)
    @click.option("--password", required=True)
    @click.option("--role", type=click.Choice(["admin", "integrations", "viewer"]),
                  default="viewer", show_default=True)
    @click.option("--name", default="", help="Display name.")
    def create_user(org_id, email, password, role, name):
        """Create a user in an organization."""
        try:
            user = accounts.create_user(org_id, email, password, role, name)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"Created {user.role} {user.email} (id {user.id})")

    @app.cli.command("create-token")
    @click.option("--org", "org_id", required=True, help="Organization id.")
    @click.option("--name", required=True, help="What the token is for.")
    def create_token(org_id, name):
        """Create an API token; prints it alone on the last line (shown once)."""
        try:
            _token, plaintext = tokens.create_token(org_id, name)
        except tokens.TokenError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo("API token (store it now, it is not shown again):")
        click.echo(plaintext)

    @app.cli.command("emit")
    @click.option("--org", "org_id", required=True, help="Organization id.")
    @click.option("--idempotency-key", default=None,
                  help="Emit at most once per key in 24 hours (1-255 printable ASCII).")
    @click.argument("event_type")
    @click.argument("json_data", required=False, default="{}")
    def emit(org_id, idempotency_key, event_type, json_data):
        """Emit an event to the organization's subscribed endpoints; prints the event id
        (the first one's, when the key was used before)."""
        try:
            data = strict_json.loads(json_data)
        except (ValueError, RecursionError) as exc:
            raise click.ClickException(f"JSON_DATA is not valid JSON: {exc}") from exc
        from .models import Organization

        if db.session.get(Organization, org_id) is None:
            raise click.ClickException(f"No organization with id {org_id}")
        try:
            ingested = events.receive(org_id, event_type, data, idempotency_key=idempotency_key)
        except events.EventError as exc:
            raise click.ClickException(str(exc)) from exc
        if ingested.replayed:
            click.echo(f"Idempotency key seen before: event {ingested.event_id} was not "
                       "emitted again.", err=True)
        click.echo(ingested.event_id)

    @app.cli.command("reencrypt-secrets")
    def reencrypt_secrets():
        """Re-encrypt stored signing secrets and header values under WEBHOOK_ENCRYPTION_KEY,
        reading them with it or WEBHOOK_ENCRYPTION_KEY_OLD."""
        outcome = encryption_keys.reencrypt_all()
        click.echo(f"Re-encrypted {outcome.moved} values; {outcome.current} already used "
                   "the current key.")
        if outcome.unreadable:
            raise click.ClickException(
                f"{len(outcome.unreadable)} endpoints hold values that neither "
                "WEBHOOK_ENCRYPTION_KEY nor WEBHOOK_ENCRYPTION_KEY_OLD opens: "
                + ", ".join(outcome.unreadable[:20])
            )

    @app.cli.command("demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when users already exist.")
    @click.option("--receiver-url", default=None,
                  help="Where the demo endpoints deliver (default in development: Hookline's "
                       "own /demo-receiver on PORT).")
    def demo(if_empty, receiver_url):
        """Load demo data; prints the admin login and an API token."""
        if if_empty and db.session.execute(select(func.count(User.id))).scalar():
            click.echo("Database already has users; demo data not loaded.")
            return
        from .demo import demo_receiver_url, load_demo

        config = current_app.config
        if receiver_url is None and config["HOOKLINE_ENV"] == "development" and (
                config["WEBHOOK_ALLOW_HTTP"] and config["WEBHOOK_ALLOW_PRIVATE_TARGETS"]):
            receiver_url = demo_receiver_url(os.environ.get("PORT") or "5000")
        result = load_demo(receiver_url)
        click.echo(f"Organization: {result['org_id']}")
        click.echo(f"Admin login: {result['email']} / {result['password']}")
        click.echo(f"Viewer login: {result['viewer_email']} / {result['password']}")
        click.echo("API token:")
        click.echo(result["token"])
