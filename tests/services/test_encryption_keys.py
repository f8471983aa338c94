"""Changing WEBHOOK_ENCRYPTION_KEY: the old key reads during the change, the command moves
every stored value to the new key, and then the old key can go."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Endpoint
from app.services import crypto, endpoints

OLD_KEY = "old-encryption-key-" + "o" * 20
NEW_KEY = "new-encryption-key-" + "n" * 20
HEADERS = [{"name": "Authorization", "value": "Bearer receiver-token-1234"}]


def _stored(endpoint_id):
    db.session.expire_all()
    return db.session.execute(select(Endpoint).where(Endpoint.id == endpoint_id)).scalar_one()


@pytest.fixture
def under_old_key(make_app, org, admin):
    """Three endpoints written under the old key: one rotated (two secrets), one with
    headers, one deleted. Returns {name: (id, [secrets, current first])}."""
    old = make_app(WEBHOOK_ENCRYPTION_KEY=OLD_KEY)
    made = {}
    with old.app_context():
        rotated, first = endpoints.create_endpoint(
            org.id, admin, {"name": "Rotated", "url": "https://93.184.215.14/a",
                            "events": ["scan.completed"]})
        second = endpoints.rotate_secret(org.id, admin, rotated)
        made["rotated"] = (rotated.id, [second, first])
        headed, secret = endpoints.create_endpoint(
            org.id, admin, {"name": "Headers", "url": "https://93.184.215.14/b",
                            "events": ["scan.completed"], "headers": HEADERS})
        made["headers"] = (headed.id, [secret])
        gone, secret = endpoints.create_endpoint(
            org.id, admin, {"name": "Deleted", "url": "https://93.184.215.14/c",
                            "events": ["scan.completed"]})
        endpoints.delete_endpoint(org.id, admin, gone)
        made["deleted"] = (gone.id, [secret])
        db.session.remove()
    return made


def _readable(app, made):
    """Every endpoint's secrets and headers as the engine reads them under `app`'s keys."""
    with app.app_context():
        found = {
            name: (endpoints.signing_secrets(_stored(endpoint_id)),
                   endpoints.custom_headers(_stored(endpoint_id)))
            for name, (endpoint_id, _secrets) in made.items()
        }
        db.session.remove()
    return found


def _reencrypt(app):
    """`flask reencrypt-secrets` under `app`'s settings."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["reencrypt-secrets"])
        db.session.remove()
    return result


def _expected(made):
    return {
        name: (secrets, [(h["name"], h["value"]) for h in HEADERS] if name == "headers" else [])
        for name, (_id, secrets) in made.items()
    }


def test_new_key_alone_cannot_read_what_the_old_key_wrote(make_app, under_old_key):
    with pytest.raises(crypto.DecryptionError):
        _readable(make_app(WEBHOOK_ENCRYPTION_KEY=NEW_KEY), under_old_key)


def test_the_change_procedure_moves_every_value_to_the_new_key(make_app, under_old_key):
    changing = make_app(WEBHOOK_ENCRYPTION_KEY=NEW_KEY, WEBHOOK_ENCRYPTION_KEY_OLD=OLD_KEY)
    # Step 1: both keys configured; everything keeps working, new writes use the new key.
    assert _readable(changing, under_old_key) == _expected(under_old_key)

    # Step 2: the command re-encrypts: 2 secrets + 1 previous secret + 1 header list + 1.
    result = _reencrypt(changing)
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 5 values; 0 already used the current key." in result.output

    # Step 3: the old key is dropped; every value reads with the new key alone.
    assert _readable(make_app(WEBHOOK_ENCRYPTION_KEY=NEW_KEY), under_old_key) == (
        _expected(under_old_key))
    with pytest.raises(crypto.DecryptionError):
        _readable(make_app(WEBHOOK_ENCRYPTION_KEY=OLD_KEY), under_old_key)

    again = _reencrypt(changing)
    assert "Re-encrypted 0 values; 5 already used the current key." in again.output


def test_a_value_neither_key_opens_is_named_and_fails_the_command(make_app, under_old_key, org,
                                                                    admin):
    stranger = make_app(WEBHOOK_ENCRYPTION_KEY="another-key-" + "x" * 30)
    with stranger.app_context():
        lost, _secret = endpoints.create_endpoint(
            org.id, admin, {"name": "Lost", "url": "https://93.184.215.14/d",
                            "events": ["scan.completed"]})
        lost_id = lost.id
        db.session.remove()
    changing = make_app(WEBHOOK_ENCRYPTION_KEY=NEW_KEY, WEBHOOK_ENCRYPTION_KEY_OLD=OLD_KEY)
    result = _reencrypt(changing)
    assert result.exit_code != 0
    assert "Re-encrypted 5 values" in result.output
    assert f"1 endpoints hold values that neither WEBHOOK_ENCRYPTION_KEY nor " \
           f"WEBHOOK_ENCRYPTION_KEY_OLD opens: {lost_id}" in result.output
