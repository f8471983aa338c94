"""Background job: retry every failed or exhausted delivery that a history filter selects."""
from ..services import deliveries, history

BATCH_SIZE = 500


def retry_matching(org_id, filters):
    """Request a manual attempt for each matching delivery, one batch at a time; `filters`
    is HistoryFilters.as_dict(). Returns how many deliveries were sent again."""
    selected = history.HistoryFilters.from_dict(filters)
    after, retried = None, 0
    while True:
        ids, after = history.retryable_ids(org_id, selected, after, BATCH_SIZE)
        if not ids:
            return retried
        retried += len(deliveries.request_attempts(org_id, ids, "manual"))
