"""Gunicorn settings, read from the working directory by `gunicorn wsgi:app`."""

# Threads keep the worker's heartbeat going while one request runs long, so a CSV export
# that streams for minutes is not killed at the 30 s worker timeout as it would be with
# the default synchronous worker. Hookline's subclass of gthread answers an over-long
# request line with the JSON error object.
worker_class = "app.gunicorn_worker.HooklineWorker"
threads = 4
# The longest request line gunicorn allows (its default is 4094): history and export URLs
# carry filters in the query string.
limit_request_line = 8190


def on_starting(server):
    """Refuse unsafe settings before listening, with the line each worker would print."""
    from app.config import SettingError, check_settings, load_settings

    try:
        check_settings(load_settings())
    except SettingError as exc:
        raise SystemExit(f"Hookline cannot start: {exc}") from None
