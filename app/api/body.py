"""Reading JSON request bodies with the API's error object for every way they go wrong."""
from flask import request

from ..errors import ApiError


def json_object():
    """The request body as a dict; 415 for a non-JSON content type, 400 for bad JSON."""
    if not request.is_json:
        raise ApiError(415, "Content-Type must be application/json")
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        raise ApiError(400, "Request body is nested too deeply") from None
    if data is None:
        raise ApiError(400, "Request body is not valid JSON")
    if not isinstance(data, dict):
        raise ApiError(400, "Request body must be a JSON object")
    return data
