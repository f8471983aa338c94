"""The webhooks list's banner while Hookline's rules hold endpoints (auto-disable, auto-pause)."""
import html
import re

from app.models import utcnow

from .. import factories


def banner(client):
    page = html.unescape(client.get("/organization/webhooks").get_data(as_text=True))
    found = re.search(r'<div class="alert alert-warning" role="status" id="stopped-banner">'
                      r'(.*?)</div>', page, re.S)
    return found.group(1) if found else None


def test_no_banner_while_endpoints_run_or_a_user_paused_them(client, auth, org):
    auth.login(factories.make_user(org, "admin").email)
    factories.make_endpoint(org, name="Running")
    factories.make_endpoint(org, name="Paused by hand", is_active=False)
    assert banner(client) is None


def test_banner_names_each_endpoint_stopped_automatically(client, auth, org):
    auth.login(factories.make_user(org, "admin").email)
    factories.make_endpoint(org, name="Running")
    factories.make_endpoint(org, name="Paused by hand", is_active=False)
    # Today's auto-disable keeps is_active on; auto-pause switches it off with a reason.
    disabled = factories.make_endpoint(
        org, name="Exhausted", disabled_at=utcnow(),
        disabled_reason="Disabled automatically: a delivery failed all 5 attempts")
    paused = factories.make_endpoint(
        org, name="Streak", is_active=False,
        disabled_reason="Paused automatically after 10 consecutive failed attempts")
    # After the engine change auto-disable switches is_active off as well.
    gone = factories.make_endpoint(org, name="Gone", is_active=False, disabled_at=utcnow(),
                                   disabled_reason="Receiver answered 410 Gone")
    factories.make_endpoint(factories.make_org("Other"), name="Theirs", disabled_at=utcnow())

    text = banner(client)

    assert "3 endpoints were stopped automatically" in text
    stopped = re.findall(r'data-stopped="([^"]+)"', text)
    assert sorted(stopped) == sorted([disabled.id, paused.id, gone.id])
    assert "Exhausted</a>:\n      disabled" in text and "a delivery failed all 5 attempts" in text
    assert "Streak</a>:\n      paused" in text and "10 consecutive failed attempts" in text
    assert "Receiver answered 410 Gone" in text
    assert f"/organization/webhooks/{paused.id}/edit" in text
    assert "Running" not in text and "Paused by hand" not in text and "Theirs" not in text


def test_viewers_see_the_banner_without_edit_links(client, auth, org):
    factories.make_endpoint(org, name="Exhausted", disabled_at=utcnow())
    auth.login(factories.make_user(org, "viewer").email)
    text = banner(client)
    assert "1 endpoint was stopped automatically: nothing is sent to it" in text
    assert "<strong>Exhausted</strong>" in text and "/edit" not in text
