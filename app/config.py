"""Settings from the environment (a `.env` file may supply them), with typed defaults."""
import os
from pathlib import Path

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"

DEV_SECRET_KEY = "dev-only-secret-key-change-me"


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


def load_settings():
    """Read every setting from the environment; returns a dict for app.config."""
    load_dotenv(ROOT / ".env", override=False)
    env = os.environ.get("HOOKLINE_ENV", "development")
    secret_key = os.environ.get("SECRET_KEY") or DEV_SECRET_KEY
    if env == "production" and secret_key == DEV_SECRET_KEY:
        raise SettingError("SECRET_KEY must be set in production")
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    return {
        "HOOKLINE_ENV": env,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": _database_url(),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "RQ_QUEUE": os.environ.get("RQ_QUEUE", "hookline"),
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 1024 * 1024),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", env == "production"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "BOOTSTRAP_SERVE_LOCAL": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),
        "WEBHOOK_ENCRYPTION_KEY": os.environ.get("WEBHOOK_ENCRYPTION_KEY", ""),
        "WEBHOOK_ALLOW_HTTP": _bool("WEBHOOK_ALLOW_HTTP"),
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": _bool("WEBHOOK_ALLOW_PRIVATE_TARGETS"),
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
