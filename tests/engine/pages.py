"""What an admin does on the pages in these tests: the edit form of an endpoint, and the
messages a page flashes back."""
import html
import re

_ALERT = re.compile(r'<div class="alert[^"]*" role="alert">(.*?)</div>', re.S)


def flashed(response):
    """The messages the page shows at its top, as text."""
    return [html.unescape(text).strip() for text in _ALERT.findall(response.get_data(True))]


def edit_form(endpoint, active, discard_held=False):
    """The endpoint's edit form as saved with the Active box set to `active`; `endpoint`
    is its API object (GET /webhooks/{id})."""
    data = {
        "name": endpoint["name"], "description": endpoint["description"],
        "url": endpoint["url"], "type": endpoint["type"], "events": endpoint["events"],
        "retry_policy": endpoint["retryPolicy"], "headers-0-name": "", "headers-0-value": "",
        "save": "Save",
    }
    if active:
        data["is_active"] = "y"
    if discard_held:
        data["discard_held"] = "y"
    return data
