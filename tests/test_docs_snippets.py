"""The verification code on the docs page checks real deliveries (Python, Node, Go)."""
import base64
import html
import json
import os
import re
import shutil
import subprocess

import pytest
from requests.structures import CaseInsensitiveDict

from app.services import deliveries, endpoints

from . import factories
from .jobs.engine import worker_running

NODE = shutil.which("node")
GO = shutil.which("go")

NODE_HARNESS = """
const { verifyHooklineSignature, verifyStandardWebhook } = require("./verify.js");
const cases = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
const results = {};
for (const c of cases) {
  const body = Buffer.from(c.body, "base64");
  results[c.name] = {
    hookline: verifyHooklineSignature(body, c.headers, c.secret),
    standard: verifyStandardWebhook(body, c.headers, c.secret, c.now),
  };
}
process.stdout.write(JSON.stringify(results));
"""

GO_HARNESS = """package webhooks

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"
)

type verifyCase struct {
	Name      string            `json:"name"`
	Body      string            `json:"body"`
	Headers   map[string]string `json:"headers"`
	Secret    string            `json:"secret"`
	Now       int64             `json:"now"`
}

func TestCases(t *testing.T) {
	raw, err := os.ReadFile(os.Getenv("HOOKLINE_CASES"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []verifyCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	results := map[string]map[string]bool{}
	for _, c := range cases {
		body, _ := base64.StdEncoding.DecodeString(c.Body)
		header := http.Header{}
		for name, value := range c.Headers {
			header.Set(name, value)
		}
		results[c.Name] = map[string]bool{
			"hookline": VerifyHooklineSignature(body, header, c.Secret),
			"standard": VerifyStandardWebhook(body, header, c.Secret, time.Unix(c.Now, 0)),
		}
	}
	out, _ := json.Marshal(results)
	fmt.Println("RESULTS " + string(out))
}
"""


def _snippets_from_page(client, user):
    """The verification code exactly as /docs/webhooks shows it, by language."""
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    page = client.get("/docs/webhooks").get_data(as_text=True)
    found = re.findall(r'<pre[^>]*id="snippet-(\w+)"[^>]*><code>(.*?)</code></pre>', page, re.S)
    return {language: html.unescape(source) for language, source in found}


def _received(receiver, endpoint, event_type="scan.completed"):
    """Send a test delivery through the engine; returns what the receiver got."""
    before = len(receiver.requests)
    sent = deliveries.test_webhook(endpoint.org_id, None, endpoint, event_type)
    assert sent.attempt.succeeded
    return receiver.wait_for(before + 1)[before]


SIGNED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature",
                  "x-hookline-signature", "x-hookline-signature-previous")


def _case(name, request, secret, *, body=None, now=None):
    """One verification case; header names in lower case, as Node's http module gives them
    (Python's and Go's lookups ignore case)."""
    timestamp = int(request.headers["webhook-timestamp"])
    return {
        "name": name,
        "body": base64.b64encode(request.body if body is None else body).decode(),
        "headers": {
            name: request.headers[name] for name in SIGNED_HEADERS if name in request.headers
        },
        "secret": secret,
        "now": timestamp + 1 if now is None else now,
    }


@pytest.fixture
def delivery_cases(app, org, admin, receiver, worker):
    """Real deliveries, altered copies of them, and what a correct verifier says of each.

    Returns (cases, expected) with expected[name] = {"hookline": bool, "standard": bool}.
    """
    endpoint, secret = endpoints.create_endpoint(
        org.id, admin, {"name": "Verifier", "url": f"{receiver.url}/hook",
                        "events": ["scan.completed"]},
    )
    request = _received(receiver, endpoint)
    assert json.loads(request.body)["event_type"] == "scan.completed"
    timestamp = int(request.headers["webhook-timestamp"])
    tampered = request.body.replace(b'"issues_found":8', b'"issues_found":0')
    assert tampered != request.body

    new_secret = endpoints.rotate_secret(org.id, admin, endpoint)
    rotated = _received(receiver, endpoint)
    assert len(rotated.headers["webhook-signature"].split()) == 2
    assert "X-Hookline-Signature-Previous" in rotated.headers

    cases = [
        _case("real delivery", request, secret),
        _case("tampered body", request, secret, body=tampered),
        _case("wrong secret", request, endpoints.generate_secret()),
        _case("five minutes and a second late", request, secret, now=timestamp + 301),
        _case("five minutes and a second early", request, secret, now=timestamp - 301),
        _case("rotation, new secret", rotated, new_secret),
        _case("rotation, previous secret", rotated, secret),
    ]
    expected = {
        "real delivery": {"hookline": True, "standard": True},
        "tampered body": {"hookline": False, "standard": False},
        "wrong secret": {"hookline": False, "standard": False},
        "five minutes and a second late": {"hookline": True, "standard": False},
        "five minutes and a second early": {"hookline": True, "standard": False},
        "rotation, new secret": {"hookline": True, "standard": True},
        # Both schemes carry both secrets' signatures during the grace period.
        "rotation, previous secret": {"hookline": True, "standard": True},
    }
    return cases, expected


def test_python_snippet_from_the_page_verifies_a_real_delivery(client, admin, delivery_cases):
    cases, expected = delivery_cases
    namespace = {}
    exec(compile(_snippets_from_page(client, admin)["python"], "verify.py", "exec"), namespace)
    results = {
        case["name"]: {
            "hookline": namespace["verify_hookline_signature"](
                base64.b64decode(case["body"]), CaseInsensitiveDict(case["headers"]),
                case["secret"]),
            "standard": namespace["verify_standard_webhook"](
                base64.b64decode(case["body"]), case["headers"], case["secret"], now=case["now"]),
        }
        for case in cases
    }
    assert results == expected


def test_python_snippet_reads_the_branded_headers(make_app, org, admin, receiver):
    """With another header prefix, the page's code and the delivery still agree."""
    branded = make_app(WEBHOOK_HEADER_PREFIX="X-Acme")
    with branded.app_context(), worker_running(branded):
        endpoint, secret = endpoints.create_endpoint(
            org.id, admin, {"name": "Branded", "url": f"{receiver.url}/hook",
                            "events": ["issue.assigned"]},
        )
        request = _received(receiver, endpoint, "issue.assigned")
        source = _snippets_from_page(branded.test_client(), admin)["python"]
    namespace = {}
    exec(compile(source, "verify.py", "exec"), namespace)
    assert "X-Acme-Signature" in source and "X-Hookline" not in source
    assert namespace["verify_hookline_signature"](request.body, request.headers, secret)
    assert namespace["verify_standard_webhook"](request.body, request.headers, secret)


@pytest.mark.skipif(NODE is None, reason="node is not installed on this machine")
def test_node_snippet_from_the_page_verifies_a_real_delivery(
        client, admin, delivery_cases, tmp_path):
    cases, expected = delivery_cases
    (tmp_path / "verify.js").write_text(_snippets_from_page(client, admin)["node"])
    (tmp_path / "harness.js").write_text(NODE_HARNESS)
    run = subprocess.run([NODE, "harness.js"], cwd=tmp_path, input=json.dumps(cases),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == expected


@pytest.mark.skipif(GO is None, reason="go is not installed on this machine")
def test_go_snippet_from_the_page_compiles_and_verifies_a_real_delivery(
        client, admin, delivery_cases, tmp_path):
    cases, expected = delivery_cases
    (tmp_path / "go.mod").write_text("module example.com/webhooks\n\ngo 1.19\n")
    (tmp_path / "verify.go").write_text(_snippets_from_page(client, admin)["go"])
    (tmp_path / "verify_test.go").write_text(GO_HARNESS)
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    env = {**os.environ, "HOOKLINE_CASES": str(tmp_path / "cases.json"), "GOFLAGS": "-mod=mod",
           "GOPROXY": "off", "GOTOOLCHAIN": "local", "GOCACHE": str(tmp_path / "cache"),
           "GOPATH": str(tmp_path / "gopath")}
    vet = subprocess.run([GO, "vet", "."], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300)
    assert vet.returncode == 0, vet.stderr
    run = subprocess.run([GO, "test", "-count=1", "-v", "."], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    line = next(line for line in run.stdout.splitlines() if line.startswith("RESULTS "))
    assert json.loads(line.removeprefix("RESULTS ")) == expected


def test_a_standard_webhooks_library_verifies_the_delivery_as_the_docs_say(delivery_cases):
    """The page says any Standard Webhooks library works as is: the reference one does."""
    from standardwebhooks import Webhook
    from standardwebhooks.webhooks import WebhookVerificationError

    cases, expected = delivery_cases
    for case in cases:
        if "late" in case["name"] or "early" in case["name"]:
            continue  # the library reads the real clock; the deliveries are seconds old
        body = base64.b64decode(case["body"])
        try:
            Webhook(case["secret"]).verify(body, case["headers"])
            verified = True
        except WebhookVerificationError:
            verified = False
        assert verified is expected[case["name"]]["standard"], case["name"]
