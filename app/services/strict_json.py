"""Strict JSON in and out: no NaN, no Infinity, no number too large for a double, no lone
surrogate; what Hookline accepts and sends is always valid UTF-8 JSON (RFC 8259)."""
import json
import math
import re

# A \u escape of a UTF-16 surrogate: the only way JSON text spells a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")


class JsonRefused(ValueError):
    """Not strict JSON; `path` says where ("data.items[2]", "" for the top). `status` is
    400 for what the JSON grammar has no place for (NaN, Infinity), 422 for grammatical
    values Hookline cannot carry (a number too large for a double, a lone surrogate)."""

    def __init__(self, problem, path, status=422):
        super().__init__(f"{problem} (at {path})" if path else problem)
        self.problem = problem
        self.path = path
        self.status = status

    @property
    def field(self):
        """The top-level key at fault, for an API error object ("body" for the whole)."""
        return re.split(r"[.\[]", self.path, maxsplit=1)[0] or "body"


class _NotFinite(ValueError):
    def __init__(self, problem, status):
        super().__init__(problem)
        self.problem = problem
        self.status = status


def _refuse_constant(name):
    raise _NotFinite(f"{name} is not a JSON value", 400)


def _finite_float(text):
    value = float(text)
    if math.isinf(value):
        shown = text if len(text) <= 40 else text[:39] + "…"
        raise _NotFinite(f"the number {shown} is too large for a double", 422)
    return value


def _is_text(value):
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _problem_with(value):
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return "NaN is not a JSON number"
        return "Infinity and numbers too large for a double (such as 1e999) are not JSON numbers"
    if isinstance(value, str) and not _is_text(value):
        return "a lone UTF-16 surrogate (such as \\ud800) is not valid Unicode text"
    return None


def _segment(key):
    """A key as a path shows it: printable as UTF-8 and at most 100 characters."""
    key = str(key).encode("utf-8", "backslashreplace").decode("utf-8")
    return key if len(key) <= 100 else key[:99] + "…"


def find_refused(value, path=""):
    """The first value inside (in document order) that strict JSON refuses, as a
    JsonRefused, or None when everything is strict."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        problem = _problem_with(item)
        if problem:
            return JsonRefused(problem, where)
        if isinstance(item, dict):
            children = []
            for key, child in item.items():
                inner = f"{where}.{_segment(key)}" if where else _segment(key)
                if isinstance(key, str) and not _is_text(key):
                    return JsonRefused(_problem_with(key), inner)
                children.append((child, inner))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(reversed([(child, f"{where}[{index}]")
                                   for index, child in enumerate(item)]))
    return None


def _may_hold_surrogates(text):
    if isinstance(text, bytes | bytearray):
        return _SURROGATE_ESCAPE_BYTES.search(text) is not None
    return _SURROGATE_ESCAPE.search(text) is not None or not _is_text(text)


def loads(text):
    """Parse JSON text (str or UTF-8 bytes) strictly.

    Raises JsonRefused (with where) for NaN, Infinity, numbers that overflow to infinity
    and lone surrogates; json.JSONDecodeError or ValueError for text that is not JSON;
    RecursionError for nesting deeper than Python's limit.
    """
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NotFinite as exc:
        # Rare: parse again, leniently, only to say where the bad number is.
        where = find_refused(json.loads(text))
        raise JsonRefused(exc.problem, where.path, exc.status) from None
    if _may_hold_surrogates(text):
        refused = find_refused(value)
        if refused:
            raise refused
    return value


def dumps(value):
    """Compact JSON text with UTF-8 characters as they are; JsonRefused (with where)
    rather than ever producing NaN, Infinity or a lone surrogate."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise find_refused(value) or JsonRefused("the value is not JSON", "") from None
    if not _is_text(text):
        raise find_refused(value)
    return text
