"""A form body sent to a REST API or a function URL reached the function rewritten.

`curl -d '{"id": "i1"}' $API/items` sends `Content-Type: application/x-www-form-urlencoded` (curl's default): the
handler got `%7B%22id%22%3A%20%22i1%22%7D=` and `json.loads` failed (502). A real form `b=x%20y` arrived as
`b=x+y`; a multipart body two bytes longer. LocalStack's gateway parses such bodies as forms on the way in (werkzeug
reads `request.form`, which consumes the stream), and the REST API's invocation
(`localstack.services.apigateway.next_gen.execute_api.handlers.parse`) and the function URL router
(`localstack.services.lambda_.urlrouter`) rebuild the body with `rolo.request.restore_payload`, which re-encodes the
parsed fields. API Gateway and function URLs hand the body over byte for byte.

Workaround: when werkzeug parses a form (`werkzeug.wrappers.request.Request._load_form_data`), it parses it from the raw body
read first and kept on the request (form bodies up to API Gateway's 10 MB payload limit);
`request.data` stays empty, as before. `restore_payload` in those modules (and in LocalStack's request logger) hands
back the kept bytes.
"""

from __future__ import annotations

TARGET = ("werkzeug.wrappers.request", "localstack.services.apigateway.next_gen.execute_api.handlers.parse",
          "localstack.services.lambda_.urlrouter", "localstack.aws.handlers.logging")

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
KEPT_UP_TO = 10 * 1024 * 1024  # API Gateway's payload limit; bigger multipart bodies (S3 POST uploads) are not kept
RAW = "_sandbox_raw_body"  # the request's body as received, kept while its form is parsed


def _kept(request) -> bool:
    """Whether a request's raw body is kept: a form body of a known length up to KEPT_UP_TO (a second copy of it is
    held while the request is served; a bigger or chunked one is parsed as before)."""
    if getattr(request, "shallow", False) or request.mimetype not in FORM_TYPES:
        return False
    return request.content_length is not None and request.content_length <= KEPT_UP_TO


def raw_body(request) -> bytes | None:
    """The body of a form request as received (its form parsed now if it was not yet), or None."""
    if not _kept(request):
        return None
    request.form  # noqa: B018 - parsing keeps the raw body (below)
    raw = request.__dict__.get(RAW)
    return raw if raw is not None else request.__dict__.get("_cached_data") or None  # read before it was parsed


def apply(target: str) -> None:
    import importlib

    module = importlib.import_module(target)
    if target == "werkzeug.wrappers.request":  # rolo's Request subclasses it; the gateway's requests are werkzeug's
        _keep_raw_form_bodies(module.Request)
        return
    original = module.restore_payload
    if getattr(original, "_sandbox_patch", False):
        return

    def restore_payload(request) -> bytes:
        raw = raw_body(request)
        return raw if raw is not None else original(request)

    restore_payload._sandbox_patch = True
    module.restore_payload = restore_payload


def _keep_raw_form_bodies(request_class) -> None:
    original = request_class._load_form_data
    if getattr(original, "_sandbox_patch", False):
        return

    def _load_form_data(self) -> None:
        if "form" in self.__dict__ or "_cached_data" in self.__dict__ or not _kept(self):
            return original(self)
        raw = self.get_data(cache=True, parse_form_data=False)  # werkzeug parses the form from these bytes
        try:
            original(self)
        finally:
            self.__dict__[RAW] = raw
            # as without the patch, `request.data` of a parsed form is empty (LocalStack's parsers rely on it)
            self.__dict__.pop("_cached_data", None)

    _load_form_data._sandbox_patch = True
    request_class._load_form_data = _load_form_data
