"""Lambda's log shipping without botocore and HTTP: each execution's lines reach CloudWatch Logs through LocalStack's
gateway in process.

`localstack.services.lambda_.invocation.logs.LogHandler.run_log_loop` sends every execution's lines with a boto3
logs client (an assumed role) over HTTP to LocalStack itself: botocore serializing and signing, urllib3, then twisted
and werkzeug on the receiving side. Shipping was about a third of LocalStack's CPU in a warm invoke loop (5.5 ms
per invoke, 3.6 ms with no shipping at all), competing for the GIL with the invokes. In process, media-pipeline drains
17 % more files per second at 16 % less CPU per file (bench/pipeline.py, docs/benchmarks.md "Sixth round").

The client here writes the same JSON request and hands it to LocalStack's gateway in the log thread, as LocalStack's
own `IN_MEMORY_CLIENT` does (localstack/aws/client.py `GatewayShortCircuit`) but without botocore. The handler chain
still runs, so what a PutLogEvents did stays: fault rules on CloudWatch Logs, the recorder's span as the execution's
child (lambda_logs_hops), metric and subscription filters. The call is internal (`x-localstack-data`), in the role's
account. What botocore's default (legacy) retry mode retries - 429, 500, 502-504, 509, a 400 throttling code - is
tried 5 times in all with its random exponential back-off; not retried with LocalStack's `DISABLE_BOTO_RETRIES`, nor,
as shutdown_retries makes botocore do, once LocalStack is stopping.

`SANDBOX_LAMBDA_LOGS_DIRECT=0` leaves LocalStack's boto3 client in place (to compare in a benchmark).
"""

from __future__ import annotations

import json
import random
import time
from types import SimpleNamespace
from urllib.parse import urlsplit

from sandbox.observability.engine import propagation

TARGET = "localstack.services.lambda_.invocation.logs"

MAX_ATTEMPTS = 5  # botocore's legacy retry mode (its default, `_retry.json`): the first try and four retries
# what that mode retries: these statuses, and these codes when they come with a 400
RETRIED_STATUS = frozenset({429, 500, 502, 503, 504, 509})
THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
                              "ProvisionedThroughputExceededException"})


def retried(status: int, code: str) -> bool:
    """Whether botocore's legacy retry mode would try this answer again."""
    return status in RETRIED_STATUS or (status == 400 and code in THROTTLING_CODES)


def _attempts() -> int:
    from localstack import config

    return 1 if config.DISABLE_BOTO_RETRIES else MAX_ATTEMPTS


class LogsError(Exception):
    """An error answer of CloudWatch Logs, worded as botocore words a ClientError."""

    def __init__(self, code: str, message: str, status: int, operation: str):
        super().__init__(f"An error occurred ({code}) when calling the {operation} operation: {message}")
        self.code, self.message, self.status, self.operation = code, message, status, operation


class ResourceNotFoundException(LogsError):
    pass


class ResourceAlreadyExistsException(LogsError):
    pass


class _Exceptions:
    """What `run_log_loop` catches, by the names botocore's `client.exceptions` gives them."""

    ResourceNotFoundException = ResourceNotFoundException
    ResourceAlreadyExistsException = ResourceAlreadyExistsException


_ERRORS = {cls.__name__: cls for cls in (ResourceNotFoundException, ResourceAlreadyExistsException)}


def _stopping() -> bool:
    from localstack.runtime import events

    return events.infra_stopping.is_set()


class GatewayLogsClient:
    """The three calls `run_log_loop` makes, as requests handed to LocalStack's gateway in process."""

    exceptions = _Exceptions

    def __init__(self, account: str, region: str, gateway=None):
        from localstack import config

        self.account, self.region = account, region
        self._gateway = gateway
        self._host = urlsplit(config.internal_service_url()).netloc

    def put_log_events(self, **params):
        return self._call("PutLogEvents", params)

    def create_log_group(self, **params):
        return self._call("CreateLogGroup", params)

    def create_log_stream(self, **params):
        return self._call("CreateLogStream", params)

    def _call(self, operation: str, params: dict) -> dict:
        attempts = _attempts()
        for attempt in range(attempts):
            status, body = self._send(operation, params)
            if status < 400:
                return json.loads(body or b"{}")
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                data = {}
            code = str(data.get("__type") or data.get("code") or f"HTTP{status}").rpartition("#")[2]
            error = _ERRORS.get(code, LogsError)(code, str(data.get("message") or data.get("Message") or ""),
                                                 status, operation)
            if not retried(status, code) or attempt == attempts - 1 or _stopping():
                raise error
            time.sleep(random.random() * 2**attempt)  # botocore: base `rand`, growth factor 2
        raise AssertionError("unreachable")

    def _send(self, operation: str, params: dict) -> tuple[int, bytes]:
        from localstack.aws.api import RequestContext
        from localstack.aws.connect import INTERNAL_REQUEST_PARAMS_HEADER
        from localstack.http import Request, Response

        now = time.gmtime()
        headers = {
            "Host": self._host,
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"Logs_20140328.{operation}",
            "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", now),
            # LocalStack reads the account (a 12-digit access key is one) and the region from here; nothing checks
            # the signature of a request that never left the process
            "Authorization": f"AWS4-HMAC-SHA256 Credential={self.account}/{time.strftime('%Y%m%d', now)}/"
                             f"{self.region}/logs/aws4_request, SignedHeaders=content-type;host;x-amz-date;"
                             f"x-amz-target, Signature={'0' * 64}",
            INTERNAL_REQUEST_PARAMS_HEADER: "{}",  # what LocalStack's internal clients send: an internal call
        }
        # the trace header and hop the recorder's botocore hook adds to every internal client's call: the shipping
        # stays the execution's child, attributed to the function
        propagation.inject_headers({"headers": headers}, model=SimpleNamespace(name=operation))
        host, _, port = self._host.partition(":")
        request = Request("POST", "/", headers=headers, body=json.dumps(params).encode(), remote_addr="127.0.0.1",
                          server=(host, int(port) if port.isdigit() else None))
        response = Response()
        self._gateway_instance().handle(RequestContext(request), response)
        return response.status_code, response.data

    def _gateway_instance(self):
        if self._gateway is None:
            from localstack.runtime import get_current_runtime

            self._gateway = get_current_runtime().components.gateway
        return self._gateway


class _ConnectTo:
    """`connect_to` as `localstack.services.lambda_.invocation.logs` uses it (only `with_assumed_role(...).logs`)."""

    def __init__(self, original):
        self._original = original

    def with_assumed_role(self, *, role_arn: str, region_name: str | None = None, **kwargs):
        from localstack.utils.aws.arns import extract_account_id_from_arn

        account = extract_account_id_from_arn(role_arn)
        if not account or not region_name:
            return self._original.with_assumed_role(role_arn=role_arn, region_name=region_name, **kwargs)
        return SimpleNamespace(logs=GatewayLogsClient(account, region_name))  # all the module uses of a factory

    def __getattr__(self, name):
        return getattr(self._original, name)


def apply() -> None:
    import os

    from localstack.services.lambda_.invocation import logs

    if (os.environ.get("SANDBOX_LAMBDA_LOGS_DIRECT") or "1") in ("0", "false", "no"):
        return
    if not isinstance(logs.connect_to, _ConnectTo):
        logs.connect_to = _ConnectTo(logs.connect_to)
