"""Settings from the environment (a `.env` file may supply them), with typed defaults."""
import json
import os
from pathlib import Path

from dotenv import load_dotenv
from limits import parse_many
from redis import Redis
from redis.exceptions import RedisError

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"

DEV_SECRET_KEY = "dev-only-secret-key-change-me"
# Keys shorter than this are refused in production: a guessable key forges any session.
MIN_KEY_LENGTH = 32
# What `make run` records for commands started in other shells while it runs (its embedded
# Redis is on a port of its own choosing): these settings only, never a secret.
RUN_SETTINGS = ("REDIS_URL", "HOOKLINE_ENV", "WEBHOOK_ALLOW_HTTP",
                "WEBHOOK_ALLOW_PRIVATE_TARGETS")


class SettingError(ValueError):
    """A setting has a value that cannot be used."""


def _bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name, default, minimum=None):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise SettingError(f"{name} must be a whole number, got {value!r}") from exc
    if minimum is not None and number < minimum:
        raise SettingError(f"{name} must be at least {minimum}, got {number}")
    return number


def _rate(name, default):
    """A Flask-Limiter rate such as '10 per minute', checked now rather than per request."""
    value = os.environ.get(name) or default
    try:
        parse_many(value)
    except ValueError as exc:
        raise SettingError(f"{name} must be a rate such as '10 per minute', got {value!r}") from exc
    return value


def parse_delays(name, value):
    """'60,300' -> (60, 300); every delay is a non-negative number of seconds."""
    try:
        delays = tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError as exc:
        raise SettingError(f"{name} must be comma-separated seconds, got {value!r}") from exc
    if not delays or any(d < 0 for d in delays):
        raise SettingError(f"{name} must list at least one delay of 0 seconds or more")
    return delays


def _database_url():
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE / 'hookline.db'}"
    # Heroku-style URLs and plain postgresql:// both mean psycopg 3 here.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def run_file():
    """The file `make run` records its settings in (HOOKLINE_RUN_FILE, default in instance/)."""
    return Path(os.environ.get("HOOKLINE_RUN_FILE") or INSTANCE / "devrun.json")


def record_run_settings(values):
    """Called by `make run`: record RUN_SETTINGS for commands in other shells."""
    path = run_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({key: values[key] for key in RUN_SETTINGS if key in values}))


def clear_run_settings(redis_url):
    """Called by `make run` on exit: forget the record if it is still this run's."""
    path = run_file()
    try:
        if json.loads(path.read_text()).get("REDIS_URL") == redis_url:
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def running_settings():
    """The settings a running `make run` recorded, or {} when none is running: a record
    whose Redis does not answer is left over from a run that ended."""
    try:
        values = json.loads(run_file().read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(values, dict) or not isinstance(values.get("REDIS_URL"), str):
        return {}
    try:
        client = Redis.from_url(values["REDIS_URL"], socket_connect_timeout=0.3,
                                socket_timeout=0.3)
        try:
            client.ping()
        finally:
            client.close()
    except (RedisError, ValueError, OSError):
        return {}
    return {key: str(values[key]) for key in RUN_SETTINGS if key in values}


def load_settings():
    """Read every setting from the environment; returns a dict for app.config.

    Without REDIS_URL, a command started while `make run` is up uses the settings it
    recorded (its embedded Redis, development, the local-receiver allowances); anything in
    the environment or `.env` still wins.
    """
    load_dotenv(ROOT / ".env", override=False)
    running = {} if os.environ.get("REDIS_URL") else running_settings()
    env = os.environ.get("HOOKLINE_ENV") or running.get("HOOKLINE_ENV") or "production"
    if env not in ("production", "development"):
        raise SettingError(f"HOOKLINE_ENV must be production or development, got {env!r}")
    # The development key is only a placeholder: check_settings() refuses it in production.
    secret_key = os.environ.get("SECRET_KEY") or DEV_SECRET_KEY
    redis_url = (os.environ.get("REDIS_URL") or running.get("REDIS_URL")
                 or "redis://127.0.0.1:6379/0")
    return {
        "HOOKLINE_ENV": env,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": _database_url(),
        # Pooled connections are checked after sitting idle (connection_checks), not on
        # every checkout.
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "REDIS_URL": redis_url,
        "RQ_QUEUE": os.environ.get("RQ_QUEUE", "hookline"),
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 1024 * 1024),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # None: Secure in production (create_app decides, after any overrides).
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", None),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "BOOTSTRAP_SERVE_LOCAL": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        # Flask-Limiter would put its window's Retry-After on every response, even over a
        # shorter one of ours; errors.py sets Retry-After on each 429 instead.
        "RATELIMIT_HEADERS_ENABLED": False,
        "LOGIN_RATE_LIMIT": _rate("LOGIN_RATE_LIMIT", "10 per minute"),
        "API_RATE_LIMIT": _rate("API_RATE_LIMIT", "6000 per minute"),
        "TRUSTED_PROXY_HOPS": _int("TRUSTED_PROXY_HOPS", 0, minimum=0),
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),
        "MAX_ENDPOINTS_PER_ORG": _int("MAX_ENDPOINTS_PER_ORG", 100, minimum=1),
        "WEBHOOK_ENCRYPTION_KEY": os.environ.get("WEBHOOK_ENCRYPTION_KEY", ""),
        "WEBHOOK_ENCRYPTION_KEY_OLD": os.environ.get("WEBHOOK_ENCRYPTION_KEY_OLD", ""),
        "WEBHOOK_MAX_BODY_BYTES": _int("WEBHOOK_MAX_BODY_BYTES", 1024 * 1024, minimum=1024),
        "WEBHOOK_TEST_COOLDOWN_SECONDS": _int("WEBHOOK_TEST_COOLDOWN_SECONDS", 5, minimum=0),
        "WEBHOOK_ALLOW_HTTP": _bool("WEBHOOK_ALLOW_HTTP",
                                    running.get("WEBHOOK_ALLOW_HTTP") == "1"),
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": _bool(
            "WEBHOOK_ALLOW_PRIVATE_TARGETS", running.get("WEBHOOK_ALLOW_PRIVATE_TARGETS") == "1"
        ),
        "WEBHOOK_RETRY_DELAYS_STANDARD": parse_delays(
            "WEBHOOK_RETRY_DELAYS_STANDARD",
            os.environ.get("WEBHOOK_RETRY_DELAYS_STANDARD") or "60,300,1800,7200",
        ),
        "WEBHOOK_RETRY_DELAYS_QUICK": parse_delays(
            "WEBHOOK_RETRY_DELAYS_QUICK", os.environ.get("WEBHOOK_RETRY_DELAYS_QUICK") or "2,4"
        ),
        "WEBHOOK_QUICK_PAUSE_AFTER": _int("WEBHOOK_QUICK_PAUSE_AFTER", 10),
        "WEBHOOK_TIMEOUT_SECONDS": _int("WEBHOOK_TIMEOUT_SECONDS", 10),
        "WEBHOOK_SEND_CONCURRENCY": _int("WEBHOOK_SEND_CONCURRENCY", 8, minimum=1),
        "WEBHOOK_HEADER_PREFIX": os.environ.get("WEBHOOK_HEADER_PREFIX") or "X-Hookline",
        "WEBHOOK_USER_AGENT": os.environ.get("WEBHOOK_USER_AGENT") or "Hookline-Webhooks/1.0",
        "WEBHOOK_RETENTION_DAYS": _int("WEBHOOK_RETENTION_DAYS", 90),
        "WEBHOOK_PURGE_SECONDS": _int("WEBHOOK_PURGE_SECONDS", 3600),
        "WEBHOOK_SWEEP_SECONDS": _int("WEBHOOK_SWEEP_SECONDS", 30),
        "WEBHOOK_SECRET_GRACE_HOURS": _int("WEBHOOK_SECRET_GRACE_HOURS", 24),
        "WEBHOOK_SCHEDULER_INTERVAL": float(os.environ.get("WEBHOOK_SCHEDULER_INTERVAL") or 0.2),
    }


def check_settings(config):
    """Refuse settings that are unsafe where they run; raises SettingError with one line.

    In production (the default) SECRET_KEY and WEBHOOK_ENCRYPTION_KEY must both be set,
    each at least MIN_KEY_LENGTH characters, and differ: one leaked key must not give
    away both the sessions and the stored signing secrets.
    """
    if config["HOOKLINE_ENV"] != "production":
        return
    hint = (f"to a random value of at least {MIN_KEY_LENGTH} characters when "
            "HOOKLINE_ENV=production (the default; HOOKLINE_ENV=development is for local use)")
    secret_key = config.get("SECRET_KEY") or ""
    if secret_key == DEV_SECRET_KEY or len(secret_key) < MIN_KEY_LENGTH:
        raise SettingError(f"SECRET_KEY must be set {hint}")
    encryption_key = config.get("WEBHOOK_ENCRYPTION_KEY") or ""
    if len(encryption_key) < MIN_KEY_LENGTH:
        raise SettingError(f"WEBHOOK_ENCRYPTION_KEY must be set {hint}")
    if encryption_key == secret_key:
        raise SettingError("WEBHOOK_ENCRYPTION_KEY must differ from SECRET_KEY")
