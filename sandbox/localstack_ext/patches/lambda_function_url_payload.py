"""A function URL's event and answer are not what Lambda makes of the request and the function's result.

`localstack.services.lambda_.urlrouter` (localstack-core 2026.3.0), against AWS's payload format 2.0 for function
URLs:
* `event_for_lambda_url` gave `rawPath` decoded (`/a b` for `/a%20b`), an empty `queryStringParameters` when there
  is no query string (AWS leaves the key out), and no `cookies` (AWS moves the Cookie header's pairs there);
* `lambda_result_to_response` ignored the result's `cookies` (AWS sends each as a Set-Cookie header) and answered
  `x-amzn-trace-id` with a random id, not the request's trace;
* an unknown URL id answered `{"Message":null}` (AWS: `{"Message":"Forbidden"}`);
* `AuthType: AWS_IAM` was not enforced: an unsigned call ran the function. It is now refused as AWS refuses it
  (403 `{"Message":"Forbidden"}`) unless the request is signed (SigV4, in its Authorization header, or presigned in
  its query string when no other site sent it: see is_signed). As everywhere in LocalStack, the signature itself and
  the caller's permissions are not checked.
"""

from __future__ import annotations

import json

TARGET = "localstack.services.lambda_.urlrouter"


def fix_event(event: dict, environ: dict) -> dict:
    raw_uri = environ.get("RAW_URI") or ""
    if raw_uri.startswith("/"):
        event["rawPath"] = raw_uri.partition("?")[0]
    if not event.get("queryStringParameters"):
        event.pop("queryStringParameters", None)
    headers = event.get("headers") or {}
    cookie = headers.pop("cookie", None)
    if cookie:
        event["cookies"] = [c.strip() for c in cookie.split(";") if c.strip()]
    return event


def result_cookies(payload) -> list[str]:
    """The `cookies` of a function's result (payload 2.0), or []."""
    try:
        result = json.loads(payload)
    except (TypeError, ValueError):
        return []
    cookies = result.get("cookies") if isinstance(result, dict) else None
    return [c for c in cookies if isinstance(c, str)] if isinstance(cookies, list) else []


FORBIDDEN = b'{"Message":"Forbidden"}'
CONFIG_ENVIRON_KEY = "sandbox.function_url_config"  # the config found for a request: the recorder's span reads it


def url_config(url_id: str, region: str):
    """The function URL config with this id (case-insensitive, as LocalStack's router finds it), or None."""
    from localstack.services.lambda_.invocation.models import lambda_stores

    url_id = url_id.lower()
    try:
        for account_id in list(lambda_stores.keys()):
            for fn in list(lambda_stores[account_id][region].functions.values()):
                for config in list(fn.function_url_configs.values()):
                    if config.url_id.lower() == url_id:
                        return config
    except Exception:  # noqa: BLE001 - an unknown region, a store changing meanwhile
        pass
    return None


PRESIGNED = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Signature")


def is_signed(request) -> bool:
    """Whether a request carries a SigV4 signature, what AWS_IAM asks of a caller: in its Authorization header (a
    page cannot send one without a preflight, which LocalStack's CORS check refuses), or presigned in its query -
    but not from another site: the signature is not verified, and any page can put any query on an <img> (the same
    reason the request guard takes no query signature as a proof: sandbox/security/policy.has_signature)."""
    authorization = request.headers.get("Authorization") or ""
    if authorization.startswith("AWS4-HMAC-SHA256"):
        return True
    if not all(request.args.get(name) for name in PRESIGNED):
        return False
    site = (request.headers.get("Sec-Fetch-Site") or "").lower()
    return site in ("", "none", "same-origin") and not request.headers.get("Origin") and \
        not request.headers.get("Referer")


def apply() -> None:
    from localstack.services.lambda_ import urlrouter

    if getattr(urlrouter.event_for_lambda_url, "_sandbox_patch", False):
        return
    original_event, original_response = urlrouter.event_for_lambda_url, urlrouter.lambda_result_to_response
    original_handle = urlrouter.FunctionUrlRouter.handle_lambda_url_invocation

    def event_for_lambda_url(api_id, request):
        return fix_event(original_event(api_id, request), request.environ)

    def lambda_result_to_response(result):
        response = original_response(result)
        for cookie in result_cookies(result.payload):
            response.headers.add("Set-Cookie", cookie)
        return response

    def handle_lambda_url_invocation(self, request, api_id, region, **url_params):
        config = request.environ[CONFIG_ENVIRON_KEY] = url_config(api_id, region)
        if config is not None and config.auth_type == "AWS_IAM" and not is_signed(request):
            from localstack.http import Response

            return Response(FORBIDDEN, 403, headers={"Content-Type": "application/json",
                                                     "x-amzn-ErrorType": "AccessDeniedException"})
        response = original_handle(self, request, api_id, region, **url_params)
        trace = request.environ.get("HTTP_X_AMZN_TRACE_ID")  # the recorder's span, or the client's header
        if trace and "x-amzn-trace-id" in response.headers:
            response.headers["x-amzn-trace-id"] = trace
        if config is None and response.status_code == 403 and response.get_data() == b'{"Message":null}':
            response.set_data(FORBIDDEN)  # the router's own answer for an unknown URL, not a function's
        return response

    event_for_lambda_url._sandbox_patch = True
    urlrouter.event_for_lambda_url = event_for_lambda_url
    urlrouter.lambda_result_to_response = lambda_result_to_response
    urlrouter.FunctionUrlRouter.handle_lambda_url_invocation = handle_lambda_url_invocation
