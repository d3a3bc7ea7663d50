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
from types import SimpleNamespace

from sandbox.localstack_ext import gateway_calls

TARGET = "localstack.services.lambda_.invocation.logs"


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


LOG_PARAMETERS = frozenset({"logGroupName", "logStreamName", "logEvents"})


class GatewayLogsClient:
    """The three calls `run_log_loop` makes, as requests handed to LocalStack's gateway in process."""

    exceptions = _Exceptions

    def __init__(self, account: str, region: str, gateway=None):
        self.account, self.region = account, region
        self._gateway = gateway

    def put_log_events(self, **params):
        return self._call("PutLogEvents", params)

    def create_log_group(self, **params):
        return self._call("CreateLogGroup", params)

    def create_log_stream(self, **params):
        return self._call("CreateLogStream", params)

    def _call(self, operation: str, params: dict) -> dict:
        def read_error(status, headers, body):
            code, message, _ = gateway_calls.error_of(status, headers, body)
            return code, _ERRORS.get(code, LogsError)(code, message, status, operation)

        answer = gateway_calls.with_retries(lambda: self._send(operation, params), read_error)
        if answer.error is not None:
            raise answer.error
        return json.loads(answer.body or b"{}")

    def _send(self, operation: str, params: dict):
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"Logs_20140328.{operation}",
            # the account (a 12-digit access key is one); the execution the thread ships for rides along as the
            # recorder's trace header and hop: the shipping stays the execution's child, attributed to the function
            **gateway_calls.internal_headers(self.account, self.region, "logs", operation),
        }
        body = json.dumps(params).encode()
        # the parameters as LocalStack's JSON parser reads this body (LocalStack's log loop sends names, strings and
        # numbers): a copy of their own; anything else is parsed
        plain = params.keys() <= LOG_PARAMETERS and None not in params.values()
        return gateway_calls.handle("POST", "/", headers, body, gateway=self._gateway,
                                    parsed=("logs", operation, json.loads(body)) if plain else None)


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
