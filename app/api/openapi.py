"""The OpenAPI 3.1 document of the JSON API: shared schemas plus one builder per path.

To describe a new call, add its schemas to SCHEMAS if needed, write a builder that returns
the path item, and list it in PATHS.
"""
from flask import jsonify

from .. import catalog
from ..models import ENDPOINT_TYPES, RETRY_POLICIES
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
    422: "Validation failed; `fields` names each field at fault",
    429: "Too many requests",
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
    """The SPEC §9 error object for each status (401 is always possible)."""
    return {
        str(status): json_response(ERROR_TEXT[status], ref("Error"))
        for status in sorted({401, *statuses})
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
}

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
            "daily": {"type": "array", "minItems": 14, "maxItems": 14, "items": {
                "type": "object",
                "required": ["date", "successful", "failed"],
                "properties": {"date": {"type": "string", "format": "date"},
                               "successful": {"type": "integer"},
                               "failed": {"type": "integer"}},
            }},
        },
    },
    "Endpoint": {
        "type": "object",
        "required": ["id", "name", "description", "url", "type", "events", "projects",
                     "statuses", "headers", "bodyTemplate", "retryPolicy", "isActive",
                     "status", "disabledAt", "disabledReason", "createdBy", "createdAt",
                     "updatedAt", "lastDeliveryAt", "stats"],
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
        "description": "Unknown keys are ignored.",
    },
    "EndpointUpdate": {
        "type": "object",
        "properties": {**_ENDPOINT_INPUT, "discardHeld": {
            "type": "boolean",
            "description": "With isActive true: cancel the held deliveries instead of "
                           "sending them"}},
        "description": "Partial update; unknown keys are ignored.",
    },
    "EndpointList": {
        "type": "object",
        "required": ["data", "nextCursor"],
        "properties": {"data": {"type": "array", "items": ref("Endpoint")},
                       "nextCursor": nullable({"type": "string"})},
    },
    "EventType": {
        "type": "object",
        "required": ["type", "area", "description", "sample"],
        "properties": {"type": {"type": "string"}, "area": {"type": "string"},
                       "description": {"type": "string"}, "sample": {"type": "object"}},
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
        "properties": {"eventType": {"enum": [event.type for event in catalog.CATALOG]},
                       "data": {"type": "object"}},
    },
    "EventAccepted": {
        "type": "object",
        "required": ["eventId", "deliveries"],
        "properties": {"eventId": {"type": "string", "format": "uuid"},
                       "deliveries": {"type": "integer", "minimum": 0}},
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
    return {"post": {
        "operationId": "emitEvent", "summary": "The platform emits an event", "tags": ["Events"],
        "requestBody": json_body(ref("EventInput")),
        "responses": {"202": json_response("Accepted", ref("EventAccepted")),
                      **errors(400, 415, 422)},
    }}


def openapi_json():
    """GET /openapi.json."""
    return {"get": {
        "operationId": "getOpenApi", "summary": "This document", "tags": ["Meta"],
        "responses": {"200": json_response("OpenAPI 3.1 document", {"type": "object"}),
                      **errors()},
    }}


PATHS = {
    "/webhooks": webhooks_collection,
    "/webhooks/{id}": webhook_item,
    "/webhooks/{id}/rotate-secret": webhook_rotate_secret,
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
