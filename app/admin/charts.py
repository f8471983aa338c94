"""Geometry of the server-drawn bar charts: sizes, stacked bars, axis ticks and labels."""
import math
from datetime import datetime

from ..templating import compact_number

# Horizontal room per bar by bar count: the labels stay 12 px and never overlap; a chart
# wider than its box scrolls inside the box, never the page.
PITCH = {7: 64, 14: 44, 24: 30, 30: 30}
LEFT, RIGHT, TOP, PLOT, BOTTOM = 44, 8, 24, 140, 26
LABEL_ROOM = 46
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def nice_ceiling(value):
    """The smallest 1, 2 or 5 × 10^n at least `value` (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def bucket_label(start, hourly):
    """'14:00' for an hour, 'Jan 15' for a day (UTC)."""
    moment = datetime.fromisoformat(start.replace("Z", "+00:00"))
    return f"{moment:%H}:00" if hourly else f"{MONTHS[moment.month - 1]} {moment.day}"


def bar_chart(series, hourly):
    """Everything the chart template draws for a series of {"start", "successful", "failed"}:
    the SVG size, one stacked bar per bucket (successful below, failed above) with its total
    written over it, the y-axis ticks and the bucket labels that fit."""
    count = len(series)
    pitch = PITCH.get(count, 30)
    width = LEFT + count * pitch + RIGHT
    height = TOP + PLOT + BOTTOM
    base = TOP + PLOT
    peak = nice_ceiling(max((p["successful"] + p["failed"] for p in series), default=0))
    step = max(1, math.ceil(LABEL_ROOM / pitch))
    bar_width = round(pitch * 0.7)
    bars = []
    for index, point in enumerate(series):
        ok, failed = point["successful"], point["failed"]
        ok_height = ok / peak * PLOT
        failed_height = failed / peak * PLOT
        x = LEFT + index * pitch + (pitch - bar_width) / 2
        label = bucket_label(point["start"], hourly)
        bars.append({
            "x": round(x, 1), "width": bar_width, "center": round(x + bar_width / 2, 1),
            "ok_y": round(base - ok_height, 1), "ok_height": round(ok_height, 1),
            "failed_y": round(base - ok_height - failed_height, 1),
            "failed_height": round(failed_height, 1),
            "value": compact_number(ok + failed) if ok + failed else "",
            "value_y": round(base - ok_height - failed_height - 5, 1),
            "label": label,
            "show_label": (count - 1 - index) % step == 0,
            "title": f"{label}: {ok:,} successful, {failed:,} failed",
        })
    fractions = (0, 0.5, 1) if peak % 2 == 0 else (0, 1)
    ticks = [{"y": round(base - fraction * PLOT, 1), "label": compact_number(int(peak * fraction))}
             for fraction in fractions]
    return {"width": width, "height": height, "base": base, "left": LEFT, "right": width - RIGHT,
            "label_y": base + 18, "bars": bars, "ticks": ticks}
