"""The delivery job: one attempt for each delivery id it is given."""
from ..services import deliveries


def deliver(delivery_ids):
    """Attempt each delivery in turn; ids that are not due or are taken are skipped."""
    sent = 0
    for delivery_id in delivery_ids:
        if deliveries.attempt(delivery_id) is not None:
            sent += 1
    return sent
