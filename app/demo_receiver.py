"""The demo receiver: a stand-in for Slack, PagerDuty and the rest that the demo endpoints
deliver to, served by Hookline itself, only when HOOKLINE_ENV=development."""
import time

from flask import Blueprint, jsonify, request

bp = Blueprint("demo_receiver", __name__, url_prefix="/demo-receiver")


@bp.post("/<name>")
def receive(name):
    """Answer like a receiver would: 200 with a small JSON body. `flaky` fails one request in
    three (by the delivery's timestamp), `down` always answers 503, `slow` takes 2 s."""
    if len(name) > 40:
        return jsonify({"error": "unknown receiver"}), 404
    stamp = request.headers.get("webhook-timestamp", "0")
    if name == "down" or (name == "flaky" and stamp.isdigit() and int(stamp) % 3 == 0):
        return jsonify({"error": "the demo receiver is failing on purpose"}), 503
    if name == "slow":
        time.sleep(2)
    return jsonify({"ok": True, "receiver": name,
                    "event": request.headers.get("webhook-id")})


@bp.get("/<name>")
def about(name):
    """What this URL is, for someone who opens it in a browser."""
    return jsonify({"receiver": name[:40], "note": "POST deliveries here; development only."})
