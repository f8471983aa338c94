"""Endpoint statistics (SPEC §7): counters kept on the endpoint plus a 14-day daily series."""
from datetime import timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..models import EndpointDailyStat, utcnow


def iso(moment):
    """ISO-8601 UTC with milliseconds and Z (2025-01-15T14:30:00.000Z), or None."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def daily_rows(endpoint_ids, first_day, last_day):
    """{(endpoint_id, day): (successful, failed)} for the days given, in one query."""
    if not endpoint_ids:
        return {}
    rows = db.session.execute(
        select(
            EndpointDailyStat.endpoint_id,
            EndpointDailyStat.day,
            EndpointDailyStat.successful,
            EndpointDailyStat.failed,
        ).where(
            EndpointDailyStat.endpoint_id.in_(list(endpoint_ids)),
            EndpointDailyStat.day >= first_day,
            EndpointDailyStat.day <= last_day,
        )
    ).all()
    return {(row.endpoint_id, row.day): (row.successful, row.failed) for row in rows}


def endpoint_stats(endpoints, days=14, today=None) -> dict:
    """{endpoint id: the SPEC §9 stats object} for the given endpoints, with ONE query for
    the daily series of all of them; `today` (a UTC date) ends the series."""
    today = today or utcnow().date()
    first_day = today - timedelta(days=days - 1)
    series_days = [first_day + timedelta(days=offset) for offset in range(days)]
    daily = daily_rows([endpoint.id for endpoint in endpoints], first_day, today)
    result = {}
    for endpoint in endpoints:
        total = endpoint.total_attempts or 0
        successful = endpoint.successful_attempts or 0
        result[endpoint.id] = {
            "total": total,
            "successful": successful,
            "failed": endpoint.failed_attempts or 0,
            "successRate": round(successful / total, 4) if total else 0.0,
            "consecutiveFailures": endpoint.consecutive_failures or 0,
            "lastTriggeredAt": iso(endpoint.last_attempt_at),
            "daily": [
                {
                    "date": day.isoformat(),
                    "successful": daily.get((endpoint.id, day), (0, 0))[0],
                    "failed": daily.get((endpoint.id, day), (0, 0))[1],
                }
                for day in series_days
            ],
        }
    return result


def organization_daily(org_id, days=14, today=None):
    """The organization's daily series (every endpoint, deleted ones too): `days` entries of
    {"date", "successful", "failed"}, oldest first, from one grouped query."""
    today = today or utcnow().date()
    first_day = today - timedelta(days=days - 1)
    rows = db.session.execute(
        select(
            EndpointDailyStat.day,
            func.sum(EndpointDailyStat.successful),
            func.sum(EndpointDailyStat.failed),
        )
        .where(
            EndpointDailyStat.org_id == org_id,
            EndpointDailyStat.day >= first_day,
            EndpointDailyStat.day <= today,
        )
        .group_by(EndpointDailyStat.day)
    ).all()
    totals = {day: (int(ok or 0), int(failed or 0)) for day, ok, failed in rows}
    series = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        ok, failed = totals.get(day, (0, 0))
        series.append({"date": day.isoformat(), "successful": ok, "failed": failed})
    return series
