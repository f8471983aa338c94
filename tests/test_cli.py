"""The CLI of SPEC §12, run through Flask's test runner."""
from app.extensions import db
from app.models import ApiToken, Organization, User


def test_create_org_user_token(runner, client):
    result = runner.invoke(args=["create-org", "Acme"])
    assert result.exit_code == 0
    org_id = result.output.strip()
    assert db.session.get(Organization, org_id).name == "Acme"
    result = runner.invoke(args=["create-user", "--org", org_id, "--email", "Ops@Acme.test",
                                 "--password", "long-password", "--role", "admin"])
    assert result.exit_code == 0, result.output
    assert User.query.one().email == "ops@acme.test"
    result = runner.invoke(args=["create-token", "--org", org_id, "--name", "ci"])
    assert result.exit_code == 0
    plaintext = result.output.strip().splitlines()[-1]
    response = client.get("/api/sch/org/webhook-events",
                          headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 200
    assert ApiToken.query.one().token_hash != plaintext


def test_cli_errors_are_clear(runner):
    result = runner.invoke(args=["create-user", "--org", "missing", "--email", "a@b.c",
                                 "--password", "long-password"])
    assert result.exit_code != 0 and "No organization with id missing" in result.output
    result = runner.invoke(args=["create-token", "--org", "missing", "--name", "x"])
    assert result.exit_code != 0 and "No organization" in result.output
    result = runner.invoke(args=["create-org", "  "])
    assert result.exit_code != 0 and "required" in result.output


def test_emit_refuses_bad_input(runner):
    org_id = runner.invoke(args=["create-org", "Acme"]).output.strip()
    result = runner.invoke(args=["emit", "--org", org_id, "scan.completed", "{bad"])
    assert result.exit_code != 0 and "not valid JSON" in result.output
    result = runner.invoke(args=["emit", "--org", org_id, "nope.nope"])
    assert result.exit_code != 0 and "Unknown event type" in result.output
    result = runner.invoke(args=["emit", "--org", org_id, "scan.completed",
                                 '{"scan_id": "s", "issues_found": "many"}'])
    assert result.exit_code != 0
    assert "data.issues_found must be an integer or null" in result.output


def test_demo_prints_login_and_working_token(runner, client):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0
    assert "admin@example.com / hookline-demo" in result.output
    plaintext = result.output.strip().splitlines()[-1]
    assert client.get("/api/sch/org/webhook-events",
                      headers={"Authorization": f"Bearer {plaintext}"}).status_code == 200
    login = client.post("/login", data={"email": "admin@example.com",
                                        "password": "hookline-demo"})
    assert login.status_code == 302
    again = runner.invoke(args=["demo", "--if-empty"])
    assert "already has users" in again.output
