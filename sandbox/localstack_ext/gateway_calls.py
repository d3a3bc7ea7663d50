"""Calls LocalStack makes to itself, handed to its gateway in process without botocore.

LocalStack's internal clients are botocore clients: with `IN_MEMORY_CLIENT` they skip HTTP
(`localstack/aws/client.py` `GatewayShortCircuit`) but still serialize, sign and parse each call in botocore, and
the gateway parses the serialized request again. For the calls made once or twice per event (a Lambda's log lines,
an S3 notification's Event invoke, each attempt of an async invocation) that botocore work was as dear as the
gateway's own (bench/pipeline.py with the census, docs/benchmarks.md "Twelfth round"). The patches that use this
module (patches/lambda_log_shipping, patches/lambda_invoke_direct) write the request botocore would have written,
hand it to the gateway - so the whole handler chain still runs: fault rules, the recorder's spans and trace links,
IAM-style checks on the internal call's metadata - and read the answer as botocore would, retrying what botocore's
default (legacy) retry mode retries.
"""

from __future__ import annotations

import functools
import json
import random
import time
from types import SimpleNamespace
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from sandbox.observability.engine import propagation

MAX_ATTEMPTS = 5  # botocore's legacy retry mode (its default, `_retry.json`): the first try and four retries
# what that mode retries: these statuses, and these codes when they come with a 400
RETRIED_STATUS = frozenset({429, 500, 502, 503, 504, 509})
THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
                              "ProvisionedThroughputExceededException"})


def retried(status: int, code: str) -> bool:
    """Whether botocore's legacy retry mode would try this answer again."""
    return status in RETRIED_STATUS or (status == 400 and code in THROTTLING_CODES)


def attempts() -> int:
    from localstack import config

    return 1 if config.DISABLE_BOTO_RETRIES else MAX_ATTEMPTS


def stopping() -> bool:
    from localstack.runtime import events

    return events.infra_stopping.is_set()


def backoff(attempt: int) -> None:
    """botocore's delay before retry `attempt + 1`: base `rand`, growth factor 2."""
    time.sleep(random.random() * 2**attempt)


class Answer(NamedTuple):
    """The last answer of a call (`with_retries`): the attempt it came at (0: the first), whether botocore's
    attempts ran out on it, and what the caller's `read_error` made of it (None: a success)."""

    status: int
    headers: Any
    body: bytes
    attempt: int
    exhausted: bool
    error: Any


def with_retries(send, read_error) -> Answer:
    """Calls `send()` -> (status, headers, body) until an answer botocore's legacy retry mode would not retry (not
    with DISABLE_BOTO_RETRIES, nor once LocalStack is stopping). An answer from 300 on is an error, as in botocore;
    `read_error(status, headers, body)` -> (its code, what the caller raises)."""
    tries = attempts()
    for attempt in range(tries):
        status, headers, body = send()
        if status < 300:
            return Answer(status, headers, body, attempt, False, None)
        code, error = read_error(status, headers, body)
        retry, last = retried(status, code), attempt == tries - 1
        if not retry or last or stopping():
            return Answer(status, headers, body, attempt, retry and last, error)
        backoff(attempt)
    raise AssertionError("unreachable")


def error_of(status: int, headers, body: bytes) -> tuple[str, str, dict]:
    """(code, message, parsed body) of an error answer, read as botocore's JSON parsers read it: the code from the
    `x-amzn-ErrorType` header (rest-json), else the body's `__type` or `code`, namespace dropped."""
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    code = (headers.get("x-amzn-errortype") or "").split(":")[0] or data.get("__type") or data.get("code")
    code = str(code or f"HTTP{status}").rpartition("#")[2]
    return code, str(data.get("message") or data.get("Message") or ""), data


def internal_headers(access_key: str, region: str, service: str, operation: str, dto: str = "{}",
                     custom: dict | None = None) -> dict:
    """What every internal client's request carries: the date, an Authorization naming the access key (LocalStack
    reads the account from it; nothing checks the signature of a request that never left the process), the
    internal-call marker with its metadata, the caller's custom headers (`MetadataRequestInjector.custom_headers`),
    and - when the thread works for a span - the recorder's trace header and hop (the botocore hook
    `propagation.inject_headers` adds them to LocalStack's own clients, after the custom headers)."""
    from localstack.aws.connect import INTERNAL_REQUEST_PARAMS_HEADER

    now = time.gmtime()
    headers = {
        "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", now),
        "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key}/{time.strftime('%Y%m%d', now)}/{region}/"
                         f"{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature={'0' * 64}",
        INTERNAL_REQUEST_PARAMS_HEADER: dto,
        **(custom or {}),
    }
    propagation.inject_headers({"headers": headers}, model=SimpleNamespace(name=operation))
    return headers


@functools.cache
def internal_url() -> str:
    """The URL LocalStack's internal clients call (fixed for the life of the process)."""
    from localstack import config

    return config.internal_service_url().rstrip("/")


@functools.cache
def _server() -> tuple[str, str, int | None]:
    host = urlsplit(internal_url()).netloc
    name, _, port = host.partition(":")
    return host, name, int(port) if port.isdigit() else None


_gateway = None


@functools.cache
def _parsed_key() -> str | None:
    """Where a request carries its parameters (patches/in_process_parsed_requests.py), None when that is off."""
    from sandbox.localstack_ext.patches import in_process_parsed_requests as patch

    return patch.ENVIRON_KEY if patch.enabled() else None


def handle(method: str, path: str, headers: dict, body: bytes, query_string: str = "", gateway=None,
           parsed: tuple[str, str, dict] | None = None):
    """Hands one request to LocalStack's gateway in this thread; returns its (status, headers, body). `parsed`:
    (service, operation, parameters) the request was written from, which the chain's parser then takes instead of
    parsing it (patches/in_process_parsed_requests.py); they must be what the parser would make of it."""
    from localstack.aws.api import RequestContext
    from localstack.http import Request, Response

    global _gateway
    if gateway is None:
        if _gateway is None:
            from localstack.runtime import get_current_runtime

            _gateway = get_current_runtime().components.gateway
        gateway = _gateway
    host, name, port = _server()
    request = Request(method, path, query_string=query_string, headers={"Host": host, **headers}, body=body,
                      remote_addr="127.0.0.1", server=(name, port))
    if parsed is not None and (key := _parsed_key()) is not None:
        request.environ[key] = parsed
    response = Response()
    gateway.handle(RequestContext(request), response)
    return response.status_code, response.headers, response.data
