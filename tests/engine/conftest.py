"""Engine-test fixtures: holding receivers, misbehaving servers, real workers in threads,
tenants with API access, an admin signed in to the pages."""
import pytest

from app.extensions import db
from tests import factories
from tests.misbehaving import MisbehavingServer

from . import plans
from .receivers import HoldingReceiver
from .tenants import Tenant
from .workers import BackgroundWorker


@pytest.fixture
def config_overrides():
    """A timeout that leaves room to act while a send is held (sends to a held receiver end
    by it at the latest), and retries that are due at once."""
    return {
        "WEBHOOK_TIMEOUT_SECONDS": 5,
        "WEBHOOK_RETRY_DELAYS_STANDARD": (60, 300, 1800, 7200),
        "WEBHOOK_RETRY_DELAYS_QUICK": (0, 0),
    }


@pytest.fixture
def receivers():
    """receivers() starts one more HoldingReceiver; all are stopped after the test."""
    started = []

    def start():
        started.append(HoldingReceiver().start())
        return started[-1]

    start.started = started
    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def receiver(receivers):
    """The receiver of this package: it can hold an answer while the user acts."""
    return receivers()


@pytest.fixture
def servers():
    """servers(behaviour) starts a MisbehavingServer; all are stopped after the test."""
    started = []

    def start(behaviour):
        started.append(MisbehavingServer(behaviour).start())
        return started[-1]

    start.started = started
    yield start
    for server in started:
        server.stop()


@pytest.fixture
def background_worker(app, receivers, servers):
    """background_worker() starts a real worker in a thread of its own. After the test,
    held answers are let go and misbehaving servers stopped first, so no send hangs on."""
    started = []

    def start():
        started.append(BackgroundWorker(app).start())
        return started[-1]

    yield start
    for receiver in receivers.started:
        receiver.release()
    for server in servers.started:
        server.stop()
    stopped = [worker.stop() for worker in started]
    assert all(stopped), "a worker did not finish its job in time"
    assert not [error for worker in started for error in worker.errors]


@pytest.fixture
def tenant(client):
    """Organization A, as its integration manager sees it through the API."""
    return Tenant(client, "Acme")


@pytest.fixture
def other_tenant(client):
    """Organization B."""
    return Tenant(client, "Globex")


@pytest.fixture
def signed_in(client, auth, tenant):
    """An admin of the tenant signed in to the pages; returns the client."""
    auth.login(factories.make_user(tenant.org, "admin").email)
    return client


@pytest.fixture
def many_rows(app):
    """For a test that writes many rows: afterwards they are deleted and the tables vacuumed
    (see plans.vacuum), so later tests do not pay for them."""
    yield
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
    plans.vacuum()
