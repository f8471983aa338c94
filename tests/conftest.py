"""Fixtures: app, client, runner, auth, a clean real database and Redis, a real receiver."""
import os
from pathlib import Path

import pytest
from flask_migrate import upgrade

from app import create_app
from app.embedded_redis import EmbeddedRedis
from app.extensions import db

from . import factories
from .receiver import Receiver

OUTPUT = Path(__file__).parent / "output"
# Production is the default; the suite runs in development, and so does every process it
# starts (workers, gunicorn, the CLI), which inherit this environment.
os.environ["HOOKLINE_ENV"] = "development"


def _postgres_url():
    for name in ("TEST_DATABASE_URL", "DATABASE_URL"):
        url = os.environ.get(name, "")
        if url.startswith(("postgres://", "postgresql")):
            return url
    return None


@pytest.fixture(scope="session")
def redis_url():
    """REDIS_URL when set (database 9 of it), else a private embedded server."""
    url = os.environ.get("REDIS_URL")
    if url:
        base = url.rsplit("/", 1)[0] if url.count("/") > 2 else url
        yield f"{base}/9"
        return
    server = EmbeddedRedis().start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return _postgres_url() or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def base_config(database_url, redis_url):
    return {
        "TESTING": True,
        "HOOKLINE_ENV": "development",
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "WTF_CSRF_ENABLED": False,
        "WEBHOOK_ALLOW_HTTP": True,
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": True,
        "WEBHOOK_RETRY_DELAYS_STANDARD": (60, 300, 1800, 7200),
        "WEBHOOK_RETRY_DELAYS_QUICK": (2, 4),
        "WEBHOOK_TIMEOUT_SECONDS": 2,
        # Like the login limit, the Test cooldown is tested where it is the subject
        # (tests/api/test_test_cooldown.py); elsewhere tests may send as often as they need.
        "WEBHOOK_TEST_COOLDOWN_SECONDS": 0,
    }


@pytest.fixture(scope="session")
def _schema(database_url, redis_url):
    """Build the schema once, through the migrations, on a database emptied first."""
    app = create_app(base_config(database_url, redis_url))
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
    close_app(app)
    return True


@pytest.fixture
def config_overrides():
    """Override in a test module (or with indirect parametrization) to change settings."""
    return {}


def close_app(app):
    """Release an app's database pool and Redis connections."""
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    app.redis.close()


@pytest.fixture
def make_app(_schema, database_url, redis_url):
    """Build extra apps on the test database and Redis: make_app(SETTING=value, ...)."""
    made = []

    def factory(**overrides):
        made.append(create_app({**base_config(database_url, redis_url), **overrides}))
        return made[-1]

    yield factory
    for extra in made:
        close_app(extra)


@pytest.fixture
def app(_schema, database_url, redis_url, config_overrides):
    app = create_app({**base_config(database_url, redis_url), **config_overrides})
    app.redis.flushdb()
    with app.app_context():
        yield app
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
    app.redis.flushdb()
    close_app(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email, password=factories.PASSWORD):
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def org(app):
    return factories.make_org("Acme")


@pytest.fixture
def admin(org):
    return factories.make_user(org, "admin")


@pytest.fixture
def token(org):
    """The plaintext of an API token of `org`."""
    return factories.make_token(org)[1]


@pytest.fixture
def api(client, token):
    """A client bound to `org`'s token: api.get(path), api.post(path, json=…)…"""
    return ApiClient(client, token)


class ApiClient:
    prefix = "/api/sch/org"

    def __init__(self, client, token):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def _call(self, method, path, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open(self.prefix + path, method=method, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self._call("GET", path, **kw)

    def post(self, path, **kw):
        return self._call("POST", path, **kw)

    def patch(self, path, **kw):
        return self._call("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self._call("DELETE", path, **kw)


@pytest.fixture
def private_redis():
    """A redis-server process of this test alone: it may be killed, flushed or restarted."""
    server = EmbeddedRedis().start()
    yield server
    server.stop()


@pytest.fixture
def worker(app):
    """A real worker running jobs in a background thread for the whole test."""
    from .jobs.engine import worker_running

    with worker_running(app):
        yield


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()
