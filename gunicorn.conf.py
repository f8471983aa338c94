"""Gunicorn settings, read from the working directory by `gunicorn wsgi:app`."""

# Threads keep the worker's heartbeat going while one request runs long, so a CSV export
# that streams for minutes is not killed at the 30 s worker timeout as it would be with
# the default synchronous worker.
worker_class = "gthread"
threads = 4


def on_starting(server):
    """Refuse unsafe settings before listening, with the line each worker would print."""
    from app.config import SettingError, check_settings, load_settings

    try:
        check_settings(load_settings())
    except SettingError as exc:
        raise SystemExit(f"Hookline cannot start: {exc}") from None
