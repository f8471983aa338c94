"""Application factory: config, extensions, blueprints, CLI and error handlers."""
import gc
import resource
import sys

from flask import Flask
from redis import Redis
from rq import Queue
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import INSTANCE, ROOT, SettingError, check_settings, load_settings
from .extensions import bootstrap, csrf, db, limiter, login_manager, migrate

# gunicorn's master stops, instead of starting the worker again, when a worker exits with 3.
BOOT_FAILURE_STATUS = 3


def create_app(config=None):
    """Build the Flask app; `config` overrides settings read from the environment."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "app" / "static"),
        instance_path=str(INSTANCE),
    )
    app.config.update(load_settings())
    if config:
        app.config.update(config)
    check_settings(app.config)
    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = app.config["HOOKLINE_ENV"] == "production"
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        # Only what the configured proxies add is believed: the client address (sessions,
        # the login limit, /metrics) and the scheme (Secure cookies, HSTS).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        INSTANCE.mkdir(exist_ok=True)
        # A busy writer makes SQLite readers wait instead of failing at once.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
            "connect_args": {"timeout": 30},
        }
    app.redis = Redis.from_url(
        app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5
    )
    # The rate limits use the app's own Redis connections (closed with it), not a pool of
    # their own.
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    if app.config["RATELIMIT_STORAGE_URI"] == app.config["REDIS_URL"]:
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS",
                              {"connection_pool": app.redis.connection_pool})

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    bootstrap.init_app(app)

    app.task_queue = Queue(app.config["RQ_QUEUE"], connection=app.redis)
    # The jobs package tells the services' after-commit hook how to queue work.
    from . import (
        connection_checks,
        jobs,  # noqa: F401
        sqlite_pragmas,
    )

    sqlite_pragmas.install(app)
    connection_checks.install(app)

    from .auth import init_auth

    init_auth(app)

    from .admin import bp as admin_bp
    from .api import bp as api_bp

    app.register_blueprint(admin_bp)
    app.register_blueprint(api_bp)
    from .ops import bp as ops_bp

    app.register_blueprint(ops_bp)
    csrf.exempt(api_bp)
    if app.config["HOOKLINE_ENV"] == "development":
        # A local receiver for the demo endpoints; never part of a production app.
        from .demo_receiver import bp as demo_receiver_bp

        app.register_blueprint(demo_receiver_bp)
        csrf.exempt(demo_receiver_bp)

    from .templating import init_templating

    init_templating(app)

    from .errors import init_errors

    init_errors(app)

    from .security_headers import init_security_headers

    init_security_headers(app)

    from .cli import init_cli

    init_cli(app)

    @app.teardown_appcontext
    def _close_session(exc):
        db.session.remove()

    return app


def create_app_or_exit(config=None):
    """create_app() for a process entry point: a refused setting ends the process with one
    line on stderr naming it, and status 3 (so gunicorn's master stops too)."""
    try:
        app = create_app(config)
    except SettingError as exc:
        print(f"Hookline cannot start: {exc}", file=sys.stderr)
        raise SystemExit(BOOT_FAILURE_STATUS) from None
    _open_files_up_to_hard_limit()
    # What exists now (modules, the app and its extensions) lives as long as the process:
    # collected once here and left out of later collections, whose full passes over it
    # paused a worker or web process for 70-150 ms at a time, and every delivery with it.
    gc.collect()
    gc.freeze()
    return app


# A soft limit of open files above this is not asked for, whatever the hard limit.
OPEN_FILES_WANTED = 1_048_576


def _open_files_up_to_hard_limit():
    """Raise this process's soft limit of open files to its hard limit.

    A worker keeps a connection open to each receiver it sent to in the last few seconds
    (keep-alive), besides its database and Redis connections; with a few hundred receivers
    a soft limit of 1,024, a common default, made sends fail ("Too many open files"). The
    hard limit is the host's decision, and nothing here uses select(), which a descriptor
    over 1,024 would break.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES_WANTED if hard == resource.RLIM_INFINITY else min(hard, OPEN_FILES_WANTED)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):
            pass  # the soft limit stays as it was
