"""Which route of an HTTP API a request takes, with API Gateway's precedence.

AWS: the most specific match wins - a route with no path variables, then with path variables, then a greedy
`{proxy+}` one; a route for the request's method before `ANY`; `$default` when nothing else matches. Paths are
matched case-sensitively, a trailing slash ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_ROUTE = "$default"


@dataclass(frozen=True)
class RouteKey:
    method: str  # "GET", ..., "ANY"; "" for $default
    segments: tuple[str, ...]

    @classmethod
    def parse(cls, key: str) -> RouteKey:
        if key == DEFAULT_ROUTE:
            return cls("", ())
        method, _, path = key.strip().partition(" ")
        if not path.startswith("/"):
            raise ValueError(f"route key {key!r} is not '$default' or 'METHOD /path' (e.g. 'GET /items/{{id}}')")
        return cls(method.upper(), _split(path))

    @property
    def is_default(self) -> bool:
        return self.method == ""


def _split(path: str) -> tuple[str, ...]:
    return tuple(s for s in path.strip("/").split("/") if s != "") if path.strip("/") else ()


def match_path(segments: tuple[str, ...], path: str) -> dict[str, str] | None:
    """Path parameters when `path` matches the route's segments, else None."""
    parts = _split(path)
    params: dict[str, str] = {}
    for i, seg in enumerate(segments):
        if seg.startswith("{") and seg.endswith("+}"):
            if i != len(segments) - 1 or len(parts) <= i:
                return None
            params[seg[1:-2]] = "/".join(parts[i:])
            return params
        if i >= len(parts):
            return None
        if seg.startswith("{") and seg.endswith("}"):
            params[seg[1:-1]] = parts[i]
        elif seg != parts[i]:
            return None
    return params if len(parts) == len(segments) else None


def _specificity(key: RouteKey) -> tuple:
    greedy = any(s.endswith("+}") for s in key.segments)
    variables = sum(1 for s in key.segments if s.startswith("{"))
    literals = len(key.segments) - variables
    return (greedy, variables > 0, -literals, key.method == "ANY")


def select(route_keys: list[str], method: str, path: str) -> tuple[str, dict[str, str]] | None:
    """(route key, path parameters) of the route a request takes, or None (API Gateway answers 404)."""
    method = method.upper()
    candidates = []
    default = None
    for key in route_keys:
        parsed = RouteKey.parse(key)
        if parsed.is_default:
            default = key
            continue
        if parsed.method not in (method, "ANY"):
            continue
        params = match_path(parsed.segments, path)
        if params is not None:
            candidates.append((_specificity(parsed), key, params))
    if candidates:
        candidates.sort(key=lambda c: c[0])
        return candidates[0][1], candidates[0][2]
    return (default, {}) if default else None
