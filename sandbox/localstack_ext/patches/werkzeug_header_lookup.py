"""werkzeug's Headers answer a lookup without raising an exception for a missing header (speed).

werkzeug/datastructures/headers.py (used by LocalStack for every request and response): `Headers.get(name)` and
`name in headers` go through `_get_key`, which lowers every header name in turn and, when the header is absent,
raises a `BadRequestKeyError` (an HTTP exception: two constructors) that `get` catches. LocalStack's handlers and
ours look up about 70 headers per request, most of them absent (`x-localstack-*`, `Origin`, `Sec-Fetch-Site`...):
a cProfile of a media-pipeline drain counted 482,000 lookups, 213,000 of those exceptions and 6 million
`str.lower` calls for 6,800 requests (2026-12-05). Here a missing header gives the default without an exception,
and a name of another length than the one looked up is not lowered (an ASCII name keeps its length in lower case;
a non-ASCII name is always lowered and compared, as before). Same answers, same errors (unit-tested against
werkzeug's own methods); a subclass with its own `_get_key` (werkzeug's `EnvironHeaders`) keeps werkzeug's.
"""

from __future__ import annotations

TARGET = "werkzeug.datastructures.headers"
_MISSING = object()


def apply() -> None:
    from werkzeug.datastructures.headers import Headers
    from werkzeug.exceptions import BadRequestKeyError

    if getattr(Headers, "_sandbox_werkzeug_methods", None):
        return
    werkzeug_get_key, werkzeug_get, werkzeug_contains = Headers._get_key, Headers.get, Headers.__contains__

    def find(self, key):
        wanted = key.lower()
        size = len(wanted)
        for name, value in self._list:
            if (len(name) == size or not name.isascii()) and name.lower() == wanted:
                return value
        return _MISSING

    def _get_key(self, key):
        value = find(self, key)
        if value is _MISSING:
            raise BadRequestKeyError(key)
        return value

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's signature
        if self.__class__._get_key is not _get_key:
            return werkzeug_get(self, key, default, type)
        value = find(self, key)
        if value is _MISSING:
            return default
        if type is None:
            return value
        try:
            return type(value)
        except ValueError:
            return default

    def __contains__(self, key):
        if self.__class__._get_key is not _get_key:
            return werkzeug_contains(self, key)
        return find(self, key) is not _MISSING

    Headers._get_key = _get_key
    Headers.get = get
    Headers.__contains__ = __contains__
    Headers._sandbox_werkzeug_methods = (werkzeug_get_key, werkzeug_get, werkzeug_contains)  # for tests
