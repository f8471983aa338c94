"""Process each Hookline event once (Flask): deliveries are at least once, so skip repeats."""
from flask import Flask, request

app = Flask(__name__)
processed_events = set()  # in production: a database table or a Redis set every process shares
handled = []


def process(event):
    """Your work for one event; here it only remembers the event's type."""
    handled.append(event["event_type"])


@app.post("/webhook")
def handle_webhook():
    event = request.get_json()
    event_id = event["event_id"]  # the same in every retry (and in the webhook-id header)
    if event_id in processed_events:
        return "", 200  # already processed: answer 2xx, so it is not sent again
    process(event)
    processed_events.add(event_id)
    return "", 200
