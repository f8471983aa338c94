"""Behind a reverse proxy: only TRUSTED_PROXY_HOPS makes X-Forwarded-For believed, so
/metrics and the login limit see the real client, and nobody else can claim an address."""
import pytest

from tests import factories

PROXY = "127.0.0.1"
PRODUCTION = {"HOOKLINE_ENV": "production", "SECRET_KEY": "s" * 32,
              "WEBHOOK_ENCRYPTION_KEY": "e" * 32}


def via_proxy(client_address):
    """The environ of a request a proxy on this host forwards for a client."""
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": client_address}


@pytest.mark.parametrize("config_overrides", [{"TRUSTED_PROXY_HOPS": 1}])
def test_metrics_behind_a_proxy_are_for_local_clients_only(client):
    outside = client.get("/metrics", environ_base=via_proxy("203.0.113.5"))
    assert outside.status_code == 403
    assert outside.get_json()["error"]["code"] == "forbidden"
    assert client.get("/metrics", environ_base=via_proxy("127.0.0.1")).status_code == 200


def test_without_a_trusted_proxy_a_forwarded_address_is_not_believed(client):
    spoofed = {"REMOTE_ADDR": "203.0.113.5", "HTTP_X_FORWARDED_FOR": "127.0.0.1"}
    assert client.get("/metrics", environ_base=spoofed).status_code == 403


def test_metrics_need_the_token_in_production(make_app):
    production = make_app(**PRODUCTION)
    response = production.test_client().get("/metrics")
    assert response.status_code == 403
    assert "METRICS_TOKEN" in response.get_json()["error"]["message"]
    with_token = make_app(**PRODUCTION, METRICS_TOKEN="scrape-me").test_client()
    assert with_token.get("/metrics").status_code == 401
    assert with_token.get("/metrics", headers={"Authorization": "Bearer scrape-me"}
                          ).status_code == 200


def _fail_login(client, user, environ):
    return client.post("/login", data={"email": user.email, "password": "wrong-password"},
                       environ_base=environ).status_code


@pytest.mark.parametrize("config_overrides", [{"TRUSTED_PROXY_HOPS": 1,
                                               "LOGIN_RATE_LIMIT": "2 per minute"}])
def test_behind_a_proxy_the_login_limit_is_per_client(client, admin):
    guesser, colleague = via_proxy("203.0.113.5"), via_proxy("198.51.100.7")
    assert [_fail_login(client, admin, guesser) for _ in range(3)] == [401, 401, 429]
    # Another client behind the same proxy is not locked out by the guesser.
    assert _fail_login(client, admin, colleague) == 401
    ok = client.post("/login", data={"email": admin.email, "password": factories.PASSWORD},
                     environ_base=colleague)
    assert ok.status_code == 302


@pytest.mark.parametrize("config_overrides", [{"LOGIN_RATE_LIMIT": "2 per minute"}])
def test_a_forged_forwarded_address_does_not_escape_the_login_limit(client, admin):
    statuses = [
        _fail_login(client, admin, {"REMOTE_ADDR": "203.0.113.5",
                                    "HTTP_X_FORWARDED_FOR": f"198.51.100.{number}"})
        for number in range(3)
    ]
    assert statuses == [401, 401, 429]
