"""Periodic job: purge delivery history older than the retention setting."""
import logging

from ..services import retention

log = logging.getLogger(__name__)


def purge_history():
    """Run one retention pass (registered in PERIODIC_JOBS under a stable id)."""
    removed = retention.purge()
    log.info("retention purged %(deliveries)s deliveries and %(events)s events", removed)
    return removed
