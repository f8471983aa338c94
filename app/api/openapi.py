"""The OpenAPI 3.1 document of the JSON API: shared schemas plus one builder per path.

To describe a new call, add its schemas to SCHEMAS if needed, write a builder that returns
the path item, and list it in PATHS.
"""
from flask import jsonify

from .. import catalog
from ..models import ATTEMPT_TRIGGERS, DELIVERY_STATUSES, ENDPOINT_TYPES, RETRY_POLICIES
from ..services import endpoints, payload_filters
from ..services.failures import ERROR_CLASSES
from ..services.stats import RANGES
from . import bp

BASE = "/api/sch/org"
ERROR_TEXT = {
    400: "The body is not valid JSON or not a JSON object",
    401: "Missing, invalid or revoked bearer token",
    403: "The token may not do this",
    404: "Not found in this organization",
    409: "Conflict with the current state",
    413: "Request body too large",
    415: "Content-Type must be application/json",
    422: "Validation failed; `fields` names each field at fault (or a limit such as "
         "MAX_ENDPOINTS_PER_ORG is reached: code `limit_reached`)",
    429: "Too many requests for this token (API_RATE_LIMIT); `Retry-After` says when to "
         "try again",
}
HEALTH_STATUSES = ("pending", "healthy", "failing", "disabled", "paused")


def ref(name):
    """A $ref to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema):
    """The schema, or null."""
    return {"anyOf": [schema, {"type": "null"}]}


def json_body(schema, required=True):
    """A JSON request body."""
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def json_response(description, schema):
    """A JSON response."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*statuses):
    """The SPEC §9 error object for each status (401 and 429 are always possible)."""
    return {
        str(status): json_response(ERROR_TEXT[status], ref("Error"))
        for status in sorted({401, 429, *statuses})
    }


def path_id(name, description):
    """A path parameter."""
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string"}}


def _string_list(items=None, max_items=200):
    return {"type": "array", "items": items or {"type": "string"}, "maxItems": max_items}


_ENDPOINT_INPUT = {
    "name": {"type": "string", "maxLength": 200},
    "description": nullable({"type": "string", "maxLength": 500}),
    "url": {"type": "string", "maxLength": 2048,
            "description": "https:// URL of a public address"},
    "type": {"enum": list(ENDPOINT_TYPES)},
    "events": _string_list({"enum": [event.type for event in catalog.CATALOG]}),
    "projects": nullable(_string_list({"type": "string", "maxLength": 200})),
    "statuses": nullable(_string_list({"enum": list(catalog.ISSUE_STATUSES)})),
    "headers": nullable({"type": "array", "maxItems": 20, "items": ref("HeaderInput")}),
    "bodyTemplate": nullable({"type": "string"}),
    "retryPolicy": {"enum": list(RETRY_POLICIES)},
    "isActive": {"type": "boolean"},
    "payloadFilter": nullable({"type": "array", "maxItems": payload_filters.MAX_CONDITIONS,
                               "items": ref("PayloadCondition")}),
    "rateLimit": nullable({"type": "integer", "minimum": 1,
                           "maximum": endpoints.MAX_RATE_LIMIT,
                           "description": "Deliveries per second at most; null = no limit"}),
    "ordered": {"type": "boolean", "description": "One delivery at a time, in event order"},
}
_SCALAR = {"type": ["string", "number", "boolean", "null"]}

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }},
    },
    "Header": {
        "type": "object",
        "required": ["name", "value"],
        "properties": {"name": {"type": "string"},
                       "value": {"type": "string", "description": "masked on read"}},
    },
    "HeaderInput": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "value": nullable({"type": "string", "description":
                               "blank or the masked value keeps the saved value"}),
        },
    },
    "PayloadCondition": {
        "type": "object",
        "required": ["path", "op"],
        "additionalProperties": False,
        "description": "Holds when the payload field at `path` compares to `value` by `op`; "
                       "a missing field or one of another type than the value does not "
                       "hold (except for exists).",
        "properties": {
            "path": {"type": "string", "maxLength": payload_filters.MAX_PATH,
                     "description": "Dotted keys from the default payload: data.urgency, "
                                    "data.project.id, event_type, timestamp"},
            "op": {"enum": list(payload_filters.OPS)},
            "value": {
                "anyOf": [_SCALAR, {"type": "array", "items": _SCALAR, "minItems": 1,
                                    "maxItems": payload_filters.MAX_LIST}],
                "description": "A list for in and nin; true or false for exists (default "
                               "true); a number or string for gt, gte, lt, lte",
            },
        },
    },
    "Stats": {
        "type": "object",
        "required": ["total", "successful", "failed", "successRate", "consecutiveFailures",
                     "lastTriggeredAt", "daily"],
        "properties": {
            "total": {"type": "integer", "minimum": 0},
            "successful": {"type": "integer", "minimum": 0},
            "failed": {"type": "integer", "minimum": 0},
            "successRate": {"type": "number", "minimum": 0, "maximum": 1},
            "consecutiveFailures": {"type": "integer", "minimum": 0},
            "lastTriggeredAt": nullable({"type": "string", "format": "date-time"}),
            "daily": {"type": "array", "minItems": 1, "maxItems": 30, "items": {
                "type": "object",
                "required": ["date", "successful", "failed"],
                "properties": {"date": {"type": "string", "format": "date"},
                               "successful": {"type": "integer"},
                               "failed": {"type": "integer"}},
            }},
        },
    },
    "StatsWithWindow": {
        "allOf": [ref("Stats"), {
            "type": "object",
            "required": ["window"],
            "properties": {"window": ref("StatsWindow")},
        }],
    },
    "StatsWindow": {
        "type": "object",
        "description": "The figures of the chosen range: calls are attempts, deliveries are "
                       "the deliveries created in it",
        "required": ["range", "from", "to", "calls", "successful", "failed", "successRate",
                     "deliveries", "series", "latencyMs"],
        "properties": {
            "range": {"enum": list(RANGES)},
            "from": {"type": "string", "format": "date-time"},
            "to": {"type": "string", "format": "date-time"},
            "calls": {"type": "integer", "minimum": 0},
            "successful": {"type": "integer", "minimum": 0},
            "failed": {"type": "integer", "minimum": 0},
            "successRate": nullable({"type": "number", "minimum": 0, "maximum": 1}),
            "deliveries": {"type": "integer", "minimum": 0},
            "series": {"type": "array", "minItems": 7, "maxItems": 30, "items": {
                "type": "object",
                "required": ["start", "successful", "failed"],
                "properties": {"start": {"type": "string", "format": "date-time"},
                               "successful": {"type": "integer"},
                               "failed": {"type": "integer"}},
            }, "description": "hourly buckets for 24h, daily ones otherwise (UTC)"},
            "latencyMs": {
                "type": "object",
                "required": ["p50", "p95", "sample", "capped"],
                "properties": {
                    "p50": nullable({"type": "integer"}),
                    "p95": nullable({"type": "integer"}),
                    "sample": {"type": "integer", "minimum": 0,
                               "description": "answered calls the percentiles are read from"},
                    "capped": {"type": "boolean",
                               "description": "true when only the most recent calls were read"},
                },
            },
        },
    },
    "NextAttempt": {
        "type": "object",
        "required": ["kind", "at", "reason"],
        "properties": {
            "kind": {"enum": ["delivered", "exhausted", "gone", "test", "cancelled", "sending",
                              "held_paused", "held_disabled", "deleted", "ordered",
                              "requested", "queued", "scheduled", "due"]},
            "at": nullable({"type": "string", "format": "date-time"}),
            "reason": {"type": "string"},
        },
    },
    "Endpoint": {
        "type": "object",
        "required": ["id", "name", "description", "url", "type", "events", "projects",
                     "statuses", "headers", "bodyTemplate", "retryPolicy", "payloadFilter",
                     "rateLimit", "ordered", "isActive", "status", "disabledAt",
                     "disabledReason", "createdBy", "createdAt", "updatedAt", "lastDeliveryAt",
                     "stats"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "url": {"type": "string"},
            "type": {"enum": list(ENDPOINT_TYPES)},
            "events": {"type": "array", "items": {"type": "string"}},
            "projects": {"type": "array", "items": {"type": "string"}},
            "statuses": {"type": "array", "items": {"type": "string"}},
            "headers": {"type": "array", "items": ref("Header")},
            "bodyTemplate": nullable({"type": "string"}),
            "retryPolicy": {"enum": list(RETRY_POLICIES)},
            "payloadFilter": {"type": "array", "items": ref("PayloadCondition")},
            "rateLimit": nullable({"type": "integer", "minimum": 1,
                                   "maximum": endpoints.MAX_RATE_LIMIT}),
            "ordered": {"type": "boolean"},
            "isActive": {"type": "boolean"},
            "status": {"enum": list(HEALTH_STATUSES)},
            "disabledAt": nullable({"type": "string", "format": "date-time"}),
            "disabledReason": nullable({"type": "string"}),
            "rotationInProgress": {"type": "boolean"},
            "createdBy": nullable({"type": "string"}),
            "createdAt": {"type": "string", "format": "date-time"},
            "updatedAt": {"type": "string", "format": "date-time"},
            "lastDeliveryAt": nullable({"type": "string", "format": "date-time"}),
            "stats": ref("Stats"),
        },
    },
    "EndpointWithSecret": {
        "allOf": [ref("Endpoint"), {
            "type": "object",
            "required": ["secret"],
            "properties": {"secret": {"type": "string", "pattern": "^whsec_"}},
        }],
    },
    "EndpointCreate": {
        "type": "object",
        "required": ["name", "url", "events"],
        "properties": _ENDPOINT_INPUT,
        "additionalProperties": False,
        "description": "Any other key is a 422 naming it.",
    },
    "EndpointUpdate": {
        "type": "object",
        "properties": {**_ENDPOINT_INPUT, "discardHeld": {
            "type": "boolean",
            "description": "With isActive true: cancel the held deliveries instead of "
                           "sending them"}},
        "additionalProperties": False,
        "description": "Partial update; any other key is a 422 naming it.",
    },
    "EndpointList": {
        "type": "object",
        "required": ["data", "nextCursor"],
        "properties": {"data": {"type": "array", "items": ref("Endpoint")},
                       "nextCursor": nullable({"type": "string"})},
    },
    "EventType": {
        "type": "object",
        "required": ["type", "area", "description", "sample", "schema"],
        "properties": {"type": {"type": "string"}, "area": {"type": "string"},
                       "description": {"type": "string"}, "sample": {"type": "object"},
                       "schema": {"type": "object",
                                  "description": "JSON Schema (draft 2020-12) of `data`"}},
    },
    "EventTypeList": {
        "type": "object",
        "required": ["data", "nextCursor"],
        "properties": {"data": {"type": "array", "items": ref("EventType")},
                       "nextCursor": {"type": "null"}},
    },
    "EventInput": {
        "type": "object",
        "required": ["eventType", "data"],
        "properties": {
            "eventType": {"enum": [event.type for event in catalog.CATALOG
                                   if not event.internal]},
            "data": {"type": "object", "description": "Must match the type's `schema` from "
                     "GET /webhook-events; a mismatch is a 422 naming the field "
                     "(`data.project.id`)"},
        },
    },
    "EventAccepted": {
        "type": "object",
        "required": ["eventId", "deliveries"],
        "properties": {"eventId": {"type": "string", "format": "uuid"},
                       "deliveries": {"type": "integer", "minimum": 0}},
    },
    "TestInput": {
        "type": "object",
        "required": ["eventType"],
        "properties": {"eventType": {"enum": [event.type for event in catalog.CATALOG]}},
    },
    "TestResult": {
        "type": "object",
        "required": ["deliveryId", "eventId", "eventType", "status", "succeeded",
                     "responseStatus", "durationMs", "responseBody", "error", "startedAt"],
        "properties": {
            "deliveryId": {"type": "string", "format": "uuid"},
            "eventId": {"type": "string", "format": "uuid"},
            "eventType": {"type": "string"},
            "status": {"enum": list(DELIVERY_STATUSES)},
            "succeeded": {"type": "boolean"},
            "responseStatus": nullable({"type": "integer"}),
            "durationMs": nullable({"type": "integer"}),
            "responseBody": nullable({"type": "string"}),
            "error": nullable({"type": "string"}),
            "startedAt": nullable({"type": "string", "format": "date-time"}),
        },
    },
    "Delivery": {
        "type": "object",
        "required": ["id", "webhookId", "eventId", "eventType", "status", "attempts",
                     "nextAttemptAt", "lastStatusCode", "lastError", "createdAt",
                     "deliveredAt"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "webhookId": {"type": "string", "format": "uuid"},
            "eventId": {"type": "string"},
            "eventType": {"type": "string"},
            "status": {"enum": list(DELIVERY_STATUSES)},
            "attempts": {"type": "integer", "minimum": 0},
            "nextAttemptAt": nullable({"type": "string", "format": "date-time"}),
            "lastStatusCode": nullable({"type": "integer"}),
            "lastError": nullable({"type": "string"}),
            "createdAt": {"type": "string", "format": "date-time"},
            "deliveredAt": nullable({"type": "string", "format": "date-time"}),
        },
    },
    "Attempt": {
        "type": "object",
        "required": ["number", "trigger", "startedAt", "durationMs", "requestHeaders",
                     "requestBody", "responseStatus", "responseHeaders", "responseBody",
                     "error", "errorClass", "requestUrl", "remoteAddress"],
        "properties": {
            "number": {"type": "integer", "minimum": 1},
            "trigger": {"enum": list(ATTEMPT_TRIGGERS)},
            "startedAt": {"type": "string", "format": "date-time"},
            "durationMs": nullable({"type": "integer"}),
            "requestHeaders": {"type": "object", "description": "secret values masked"},
            "requestBody": nullable({"type": "string"}),
            "responseStatus": nullable({"type": "integer"}),
            "responseHeaders": {"type": "object"},
            "responseBody": nullable({"type": "string", "description": "first 4 KB"}),
            "error": nullable({"type": "string"}),
            "errorClass": nullable({"enum": list(ERROR_CLASSES)}),
            "requestUrl": nullable({"type": "string",
                                    "description": "the URL posted to (null on old rows)"}),
            "remoteAddress": nullable({"type": "string",
                                       "description": "the address dialled (null if not "
                                                      "recorded)"}),
        },
    },
    "DeliveryDetail": {
        "allOf": [ref("Delivery"), {
            "type": "object",
            "required": ["payload", "attemptList", "nextAttempt"],
            "properties": {"payload": {"type": "object"},
                           "attemptList": {"type": "array", "items": ref("Attempt")},
                           "nextAttempt": ref("NextAttempt")},
        }],
    },
    "DeliveryList": {
        "type": "object",
        "required": ["data", "nextCursor"],
        "properties": {"data": {"type": "array", "items": ref("Delivery")},
                       "nextCursor": nullable({"type": "string"})},
    },
    "ReplayInput": {
        "type": "object",
        "required": ["since"],
        "properties": {"since": {"type": "string", "format": "date-time"}},
    },
    "ReplayResult": {
        "type": "object",
        "required": ["replayed"],
        "properties": {"replayed": {"type": "integer", "minimum": 0}},
    },
}

_WEBHOOK_ID = path_id("id", "Endpoint id")


def webhooks_collection():
    """GET and POST /webhooks."""
    return {
        "get": {
            "operationId": "listWebhooks", "summary": "List endpoints with status and counters",
            "tags": ["Webhooks"],
            "parameters": [
                {"name": "limit", "in": "query", "schema":
                 {"type": "integer", "minimum": 1, "maximum": 100, "default": 100}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {"200": json_response("Endpoints, newest first", ref("EndpointList")),
                          **errors(422)},
        },
        "post": {
            "operationId": "createWebhook", "summary": "Create an endpoint",
            "tags": ["Webhooks"],
            "requestBody": json_body(ref("EndpointCreate")),
            "responses": {
                "201": json_response("Created; `secret` is returned this once",
                                     ref("EndpointWithSecret")),
                **errors(400, 415, 422),
            },
        },
    }


def webhook_item():
    """GET, PATCH and DELETE /webhooks/{id}."""
    return {
        "parameters": [_WEBHOOK_ID],
        "get": {
            "operationId": "getWebhook", "summary": "One endpoint", "tags": ["Webhooks"],
            "responses": {"200": json_response("The endpoint", ref("Endpoint")), **errors(404)},
        },
        "patch": {
            "operationId": "updateWebhook", "tags": ["Webhooks"],
            "summary": "Partial update; {\"isActive\": true} resumes and clears the "
                       "auto-disabled state",
            "requestBody": json_body(ref("EndpointUpdate")),
            "responses": {"200": json_response("The endpoint", ref("Endpoint")),
                          **errors(400, 404, 415, 422)},
        },
        "delete": {
            "operationId": "deleteWebhook", "tags": ["Webhooks"],
            "summary": "Delete; pending deliveries are cancelled, history is kept",
            "responses": {"204": {"description": "Deleted"}, **errors(404)},
        },
    }


def webhook_rotate_secret():
    """POST /webhooks/{id}/rotate-secret."""
    return {
        "parameters": [_WEBHOOK_ID],
        "post": {
            "operationId": "rotateWebhookSecret", "tags": ["Webhooks"],
            "summary": "New signing secret (returned once); the previous one keeps signing "
                       "for the grace period",
            "responses": {"200": json_response("The endpoint with its new secret",
                                               ref("EndpointWithSecret")), **errors(404)},
        },
    }


def webhook_events():
    """GET /webhook-events."""
    return {"get": {
        "operationId": "listWebhookEvents", "summary": "The event catalog", "tags": ["Events"],
        "responses": {"200": json_response("Every event type with a sample",
                                           ref("EventTypeList")), **errors()},
    }}


def events():
    """POST /events."""
    replayed = {**json_response("The key was used in the last 24 hours for the same body: the "
                                "first event, nothing new created", ref("EventAccepted")),
                "headers": {"Idempotent-Replayed": {"schema": {"const": "true"}}}}
    return {"post": {
        "operationId": "emitEvent", "summary": "The platform emits an event", "tags": ["Events"],
        "parameters": [{
            "name": "Idempotency-Key", "in": "header", "required": False,
            "description": "Emit at most once per key and organization in 24 hours; "
                           "concurrent requests with one key create one event",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                       "pattern": "^[ -~]+$"},
        }],
        "requestBody": json_body(ref("EventInput")),
        "responses": {"202": json_response("Accepted", ref("EventAccepted")),
                      "200": replayed,
                      **errors(400, 415, 422),
                      "409": json_response("Code idempotency_key_reused: the key was used "
                                           "in the last 24 hours for a different body",
                                           ref("Error"))},
    }}


def openapi_json():
    """GET /openapi.json (no token needed)."""
    return {"get": {
        "operationId": "getOpenApi", "summary": "This document", "tags": ["Meta"],
        "security": [],
        "responses": {"200": json_response("OpenAPI 3.1 document", {"type": "object"})},
    }}


_DELIVERY_ID = path_id("id", "Delivery id")
_HISTORY_FILTERS = [
    {"name": "from", "in": "query", "description": "created at or after (ISO-8601 or a date)",
     "schema": {"type": "string", "format": "date-time"}},
    {"name": "to", "in": "query", "description": "created at or before (a date: that whole day)",
     "schema": {"type": "string", "format": "date-time"}},
    {"name": "eventType", "in": "query",
     "schema": {"enum": [event.type for event in catalog.CATALOG]}},
    {"name": "status", "in": "query", "schema": {"enum": list(DELIVERY_STATUSES)}},
    {"name": "webhook", "in": "query", "description": "endpoint id (deleted ones too)",
     "schema": {"type": "string"}},
    {"name": "q", "in": "query",
     "description": "search: a delivery, event or endpoint id, or part of an endpoint's name",
     "schema": {"type": "string", "maxLength": 200}},
]


def webhook_deliveries():
    """GET /webhooks/{id}/deliveries."""
    return {"parameters": [_WEBHOOK_ID], "get": {
        "operationId": "listWebhookDeliveries", "tags": ["Deliveries"],
        "summary": "An endpoint's recent deliveries, newest first",
        "parameters": [{"name": "limit", "in": "query", "schema":
                        {"type": "integer", "minimum": 1, "maximum": 50, "default": 50}}],
        "responses": {"200": json_response("Deliveries", ref("DeliveryList")),
                      **errors(400, 404)},
    }}


def webhook_stats():
    """GET /webhooks/{id}/stats."""
    return {"parameters": [_WEBHOOK_ID], "get": {
        "operationId": "getWebhookStats", "tags": ["Deliveries"],
        "summary": "Counters, the daily series and the figures of a range of an endpoint",
        "parameters": [{"name": "range", "in": "query", "description": "the range of "
                        "`daily` and `window` (default 14d)",
                        "schema": {"enum": list(RANGES), "default": "14d"}}],
        "responses": {"200": json_response("Statistics", ref("StatsWithWindow")),
                      **errors(404, 422)},
    }}


def webhook_test():
    """POST /webhooks/{id}/test."""
    return {"parameters": [_WEBHOOK_ID], "post": {
        "operationId": "testWebhook", "tags": ["Webhooks"],
        "summary": "Send the catalog sample of one of the endpoint's event types now",
        "description": "A worker sends it; the call waits for the attempt up to the timeout "
                       "(WEBHOOK_TIMEOUT_SECONDS) plus a margin. If a worker has not recorded "
                       "it by then the answer is 202 with status pending: poll "
                       "GET /webhook-deliveries/{deliveryId}.",
        "requestBody": json_body(ref("TestInput")),
        "responses": {"200": json_response("The test delivery and its attempt",
                                           ref("TestResult")),
                      "202": json_response("The test delivery, not attempted yet",
                                           ref("TestResult")),
                      **errors(400, 404, 415, 422)},
    }}


def webhook_replay():
    """POST /webhooks/{id}/replay."""
    return {"parameters": [_WEBHOOK_ID], "post": {
        "operationId": "replayWebhook", "tags": ["Deliveries"],
        "summary": "Resend the endpoint's failed and exhausted deliveries created since a time",
        "requestBody": json_body(ref("ReplayInput")),
        "responses": {"202": json_response("How many deliveries were sent again",
                                           ref("ReplayResult")),
                      **errors(400, 404, 415, 422)},
    }}


def deliveries_collection():
    """GET /webhook-deliveries."""
    return {"get": {
        "operationId": "listDeliveries", "tags": ["Deliveries"],
        "summary": "Delivery history with filters, newest first, cursor-paginated",
        "parameters": [*_HISTORY_FILTERS,
                       {"name": "limit", "in": "query", "schema":
                        {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}},
                       {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
        "responses": {"200": json_response("One page", ref("DeliveryList")),
                      **errors(400, 422)},
    }}


def deliveries_export():
    """GET /webhook-deliveries/export.csv."""
    return {"get": {
        "operationId": "exportDeliveries", "tags": ["Deliveries"],
        "summary": "The filtered history as CSV, streamed (formula cells neutralized)",
        "parameters": _HISTORY_FILTERS,
        "responses": {"200": {"description": "CSV with a header row, one row per delivery",
                              "content": {"text/csv": {"schema": {"type": "string"}}}},
                      **errors(422)},
    }}


def delivery_item():
    """GET /webhook-deliveries/{id}."""
    return {"parameters": [_DELIVERY_ID], "get": {
        "operationId": "getDelivery", "tags": ["Deliveries"],
        "summary": "One delivery with its payload and attempts",
        "responses": {"200": json_response("The delivery", ref("DeliveryDetail")),
                      **errors(404)},
    }}


def delivery_retry():
    """POST /webhook-deliveries/{id}/retry."""
    return {"parameters": [_DELIVERY_ID], "post": {
        "operationId": "retryDelivery", "tags": ["Deliveries"],
        "summary": "A new attempt now on a failed or exhausted delivery (trigger manual)",
        "description": "409 with code delivery_in_flight while the delivery is being sent "
                       "(retry once that attempt is recorded), not_retryable when it is not "
                       "failed or exhausted, endpoint_deleted when its webhook was deleted.",
        "responses": {"202": json_response("The delivery, pending again", ref("Delivery")),
                      **errors(404, 409)},
    }}


PATHS = {
    "/webhooks": webhooks_collection,
    "/webhooks/{id}": webhook_item,
    "/webhooks/{id}/rotate-secret": webhook_rotate_secret,
    "/webhooks/{id}/deliveries": webhook_deliveries,
    "/webhooks/{id}/stats": webhook_stats,
    "/webhooks/{id}/replay": webhook_replay,
    "/webhooks/{id}/test": webhook_test,
    "/webhook-deliveries": deliveries_collection,
    "/webhook-deliveries/export.csv": deliveries_export,
    "/webhook-deliveries/{id}": delivery_item,
    "/webhook-deliveries/{id}/retry": delivery_retry,
    "/webhook-events": webhook_events,
    "/events": events,
    "/openapi.json": openapi_json,
}


def document():
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hookline API",
            "version": "1.0.0",
            "description": "Outbound webhooks: endpoints, events, deliveries. JSON keys are "
                           "camelCase; timestamps are ISO-8601 UTC with Z.",
        },
        "servers": [{"url": BASE}],
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "An API token (hkl_…)"}},
            "schemas": SCHEMAS,
        },
        "paths": {path: build() for path, build in PATHS.items()},
    }


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(document())
