"""Organizations as their users see them: an API client with the organization's token,
endpoints created through the API, events emitted through the ingest service."""
from app.services import events
from tests import factories

API = "/api/sch/org"


class Tenant:
    """One organization and an integration manager's API access to it."""

    def __init__(self, client, name):
        self.client = client
        self.org = factories.make_org(name)
        self.org_id = self.org.id
        self.headers = {"Authorization": f"Bearer {factories.make_token(self.org)[1]}"}

    def call(self, method, path, **kwargs):
        """One API call: tenant.call("POST", "/webhooks", json={...})."""
        return self.client.open(API + path, method=method, headers=self.headers, **kwargs)

    def create_endpoint(self, url, **fields):
        """A live endpoint subscribed to scan.completed, created through the API; its id."""
        body = {"name": "Receiver", "url": url, "events": ["scan.completed"], **fields}
        response = self.call("POST", "/webhooks", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    def emit(self, count=1, event_type="scan.completed"):
        """Emit `count` events; returns the ids of the deliveries they made, in order."""
        made = []
        for n in range(count):
            made += events.ingest(self.org_id, event_type, {"n": n}).delivery_ids
        return made

    def delivery(self, delivery_id):
        """GET /webhook-deliveries/{id}: the delivery with its attemptList."""
        response = self.call("GET", f"/webhook-deliveries/{delivery_id}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def endpoint(self, endpoint_id):
        """GET /webhooks/{id}."""
        response = self.call("GET", f"/webhooks/{endpoint_id}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()
