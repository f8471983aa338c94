"""Reading JSON request bodies with the API's error object for every way they go wrong."""
from flask import request

from ..errors import ApiError
from ..services import strict_json


def json_object():
    """The request body as a dict; 415 for a non-JSON content type, 400 for bad JSON.

    Parsing is strict: NaN and Infinity (400), numbers too large for a double and lone
    surrogates (422) are refused, the error naming the field at fault.
    """
    if not request.is_json:
        raise ApiError(415, "Content-Type must be application/json")
    try:
        data = strict_json.loads(request.get_data(cache=True))
    except strict_json.JsonRefused as exc:
        raise ApiError(exc.status, f"Request body is not valid JSON: {exc}",
                       {exc.field: str(exc)}) from None
    except RecursionError:
        raise ApiError(400, "Request body is nested too deeply") from None
    except ValueError:
        raise ApiError(400, "Request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "Request body must be a JSON object")
    return data
