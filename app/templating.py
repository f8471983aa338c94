"""Jinja filters shared by the admin pages: times, numbers, durations and JSON for reading."""
import json

from markupsafe import Markup, escape

from .models import utcnow


def format_datetime(value):
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def relative_time(value, now=None):
    """'just now', '3 min ago', '5 h ago', '2 days ago', or 'in 4 min' for a future time."""
    seconds = int(((now or utcnow()) - value).total_seconds())
    future, seconds = seconds < 0, abs(seconds)
    if seconds < 45:
        return "in a moment" if future else "just now"
    for size, unit in ((86400, "day"), (3600, "h"), (60, "min")):
        if seconds >= size:
            count = round(seconds / size) if unit != "day" else seconds // size
            text = f"{count} {unit}{'s' if unit == 'day' and count != 1 else ''}"
            return f"in {text}" if future else f"{text} ago"
    return ""


def time_tag(value, relative=False, empty="—"):
    """A <time> element: UTC on the server (and on hover); the page's script shows it in the
    reader's time zone. Relative ("3 min ago") when asked, as lists show it."""
    if value is None:
        return empty
    stamp = value.strftime("%Y-%m-%dT%H:%M:%SZ")
    utc = format_datetime(value)
    text = relative_time(value) if relative else utc
    kind = "relative" if relative else "absolute"
    return Markup(
        f'<time datetime="{stamp}" title="{utc}" data-time="{kind}">{escape(text)}</time>'
    )


def readable_json(text):
    """JSON text indented for reading (non-ASCII as is); anything else unchanged."""
    if not text:
        return text
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return text


def json_text(value):
    """A value as JSON for reading: non-ASCII text as is, not as \\u escapes."""
    return json.dumps(value, ensure_ascii=False)


def compact_number(value):
    """1234 -> '1.2k', 12345 -> '12k', 1234567 -> '1.2M'; small numbers as they are."""
    for size, unit in ((1_000_000, "M"), (1_000, "k")):
        if value >= size:
            shown = value / size
            return f"{shown:.1f}{unit}".replace(".0", "") if shown < 10 else f"{shown:.0f}{unit}"
    return str(value)


def percent(value):
    """0.9876 -> '98.8%'; None -> '—'."""
    return "—" if value is None else f"{value * 100:.1f}%"


def init_templating(app):
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(time_tag, "time")
    app.add_template_filter(readable_json, "readable_json")
    app.add_template_filter(json_text, "json_text")
    app.add_template_filter(compact_number, "compact")
    app.add_template_filter(percent, "percent")
    app.add_template_filter(lambda value: f"{value or 0:,}", "thousands")
