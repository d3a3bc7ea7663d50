"""Lambda Invoke calls LocalStack makes to itself, without botocore: each S3 notification's Event invoke, and each
attempt of an asynchronous invocation.

An S3 upload with a Lambda notification crossed LocalStack's gateway twice before the function ran:
`localstack.services.s3.notifications.LambdaNotifier.notify` invokes the function (InvocationType Event) with an
internal boto3 client, and `localstack.services.lambda_.invocation.event_manager.Poller.handle_message` runs the
queued event with another one (RequestResponse). In a media-pipeline drain those two calls were 2.7 per file at 2.8 ms
of LocalStack CPU each, 1.9 ms of it in the gateway: botocore's serializing, signing, event hooks and parsing were
most of the rest (bench/pipeline.py, docs/benchmarks.md "Twelfth round").

`DirectLambdaClient` writes the request botocore writes (path, query, headers, the internal call's metadata and
custom headers, the recorder's trace header) and hands it to the gateway in process (`gateway_calls`). The whole
handler chain still runs: the Invoke span and its trace links, fault rules on Invoke, the provider's checks. It
answers as botocore does - StatusCode, FunctionError, LogResult, ExecutedVersion, Payload as a StreamingBody,
ResponseMetadata - and raises the botocore client's own exception classes (`Poller` tests `isinstance(error,
client.exceptions.TooManyRequestsException)`) for an error answer parsed by botocore's own parser, after retrying
what botocore's legacy mode retries. It does so with `SANDBOX_IN_MEMORY_CLIENT=0` too (LocalStack's other clients
then go over HTTP). Anything else the modules call on their client (GetFunction when a notification is set up, an
Invoke with other parameters) is botocore's, unchanged.

`SANDBOX_LAMBDA_INVOKE_DIRECT=0` leaves LocalStack's boto3 clients in place (to compare in a benchmark).
"""

from __future__ import annotations

import io
import json
import os
from urllib.parse import quote, urlencode

from sandbox.localstack_ext import gateway_calls

# the modules whose Lambda clients are made direct, each when it is imported
TARGET = ("localstack.services.s3.notifications", "localstack.services.lambda_.invocation.event_manager")
INVOKE_PARAMS = frozenset({"FunctionName", "InvocationType", "LogType", "ClientContext", "Payload", "Qualifier"})
REQUEST_HEADERS = (("InvocationType", "X-Amz-Invocation-Type"), ("LogType", "X-Amz-Log-Type"),
                   ("ClientContext", "X-Amz-Client-Context"))
ANSWER_HEADERS = (("FunctionError", "X-Amz-Function-Error"), ("LogResult", "X-Amz-Log-Result"),
                  ("ExecutedVersion", "X-Amz-Executed-Version"))
# `MetadataRequestInjector.request_metadata` arguments -> the internal call's metadata (`InternalRequestParameters`,
# in its order)
METADATA = (("_SourceArn", "source_arn"), ("_ServicePrincipal", "service_principal"),
            ("_TraceVisibility", "trace_visibility"))


def enabled() -> bool:
    return (os.environ.get("SANDBOX_LAMBDA_INVOKE_DIRECT") or "1") not in ("0", "false", "no")


def invoke_request(kwargs: dict, body: bytes) -> dict | None:
    """The parameters LocalStack's parser makes of the Invoke request `invoke` writes (a new Payload stream each
    time: the provider reads it); None for a shape not checked against the parser (then it parses)."""
    qualifier = kwargs.get("Qualifier")
    if not kwargs["FunctionName"] or qualifier == "" or (qualifier is not None and not isinstance(qualifier, str)):
        return None
    request = {"FunctionName": kwargs["FunctionName"]}
    for param, _ in REQUEST_HEADERS:
        value = kwargs.get(param)
        if value == "":
            return None
        if value is not None:
            request[param] = str(value)
    if qualifier:
        request["Qualifier"] = qualifier
    if body:
        request["Payload"] = io.BytesIO(body)
    return request


class DirectLambdaClient:
    """A LocalStack internal Lambda client (a `MetadataRequestInjector` around boto3's) whose Invoke skips botocore."""

    def __init__(self, injector, params: dict | None = None, custom_headers: dict | None = None, gateway=None):
        self._injector = injector  # what connect_to gave: kept whole for everything but invoke
        self._client = getattr(injector, "_client", injector)
        self._params = dict(params if params is not None else getattr(injector, "_params", None) or {})
        self._custom = dict(custom_headers if custom_headers is not None
                            else getattr(injector, "_custom_headers", None) or {})
        self._gateway = gateway

    @property
    def exceptions(self):
        return self._client.exceptions

    def request_metadata(self, source_arn=None, service_principal=None, trace_visibility=None) -> DirectLambdaClient:
        params = dict(self._params)
        if source_arn:
            params["_SourceArn"] = source_arn
        if service_principal:
            params["_ServicePrincipal"] = service_principal
        if trace_visibility:
            params["_TraceVisibility"] = getattr(trace_visibility, "value", trace_visibility)
        # as LocalStack's MetadataRequestInjector.request_metadata: the custom headers are not carried over
        return DirectLambdaClient(self._injector, params, {}, self._gateway)

    def custom_headers(self, custom_headers: dict) -> DirectLambdaClient:
        return DirectLambdaClient(self._injector, self._params, {**self._custom, **custom_headers}, self._gateway)

    def __getattr__(self, name):
        return getattr(self._botocore(), name)

    def _botocore(self):
        from localstack.aws.connect import MetadataRequestInjector

        return MetadataRequestInjector(self._client, dict(self._params) or None, dict(self._custom) or None)

    def invoke(self, **kwargs) -> dict:
        payload = kwargs.get("Payload", b"")
        if (not kwargs.keys() <= INVOKE_PARAMS or not isinstance(kwargs.get("FunctionName"), str)
                or not isinstance(payload, (str, bytes, bytearray)) or not self._internal()):
            return self._botocore().invoke(**kwargs)
        body = payload.encode() if isinstance(payload, str) else bytes(payload)
        path = f"/2015-03-31/functions/{quote(kwargs['FunctionName'], safe='-_.~')}/invocations"
        query = urlencode({"Qualifier": kwargs["Qualifier"]}, quote_via=quote) if kwargs.get("Qualifier") else ""
        headers = {header: str(kwargs[param]) for param, header in REQUEST_HEADERS if kwargs.get(param) is not None}
        credentials = self._client._request_signer._credentials.get_frozen_credentials()
        if credentials.token:
            headers["X-Amz-Security-Token"] = credentials.token
        metadata = {name: self._params[param] for param, name in METADATA if param in self._params}
        headers.update(gateway_calls.internal_headers(
            credentials.access_key, self._client.meta.region_name, "lambda", "Invoke",
            dto=json.dumps(metadata, separators=(",", ":")), custom=self._custom))

        def send():
            request = invoke_request(kwargs, body)
            return gateway_calls.handle("POST", path, headers, body, query, gateway=self._gateway,
                                        parsed=None if request is None else ("lambda", "Invoke", request))

        answer = gateway_calls.with_retries(send, self._read_error)
        if answer.error is None:
            return self._answer(answer.status, answer.headers, answer.body, answer.attempt)
        error = answer.error
        error["ResponseMetadata"]["RetryAttempts"] = answer.attempt
        if answer.exhausted:
            error["ResponseMetadata"]["MaxAttemptsReached"] = True
        code = error.get("Error", {}).get("QueryErrorCode") or error.get("Error", {}).get("Code")
        raise self._client.exceptions.from_code(code)(error, "Invoke")

    def _internal(self) -> bool:
        """Whether boto3 would call this LocalStack (an endpoint of another, as the DynamoDB Local days had, is not)."""
        return self._client.meta.endpoint_url.rstrip("/") == gateway_calls.internal_url()

    def _answer(self, status: int, headers, data: bytes, retries: int) -> dict:
        from botocore.response import StreamingBody

        answer = {"ResponseMetadata": self._metadata(status, headers, retries), "StatusCode": status}
        for key, header in ANSWER_HEADERS:
            value = headers.get(header)
            if value is not None:
                answer[key] = value
        answer["Payload"] = StreamingBody(io.BytesIO(data), len(data))
        return answer

    def _read_error(self, status: int, headers, data: bytes) -> tuple[str, dict]:
        """(code, the answer as botocore parses it): botocore's own parser reads the code that decides a retry
        (errors are rare: no hurry)."""
        from botocore.awsrequest import HTTPHeaders

        operation = self._client.meta.service_model.operation_model("Invoke")
        parser = self._client._response_parser
        answer = {"status_code": status, "headers": HTTPHeaders.from_pairs(list(headers.items())), "body": data,
                  "context": {"operation_name": "Invoke"}}
        parsed = parser.parse(answer, operation.output_shape)
        self._client._endpoint._add_modeled_error_fields(answer, parsed, operation, parser)
        return parsed.get("Error", {}).get("Code") or "", parsed

    @staticmethod
    def _metadata(status: int, headers, retries: int) -> dict:
        lowered = {key.lower(): value for key, value in headers.items()}
        # as botocore's rest-json parser: RequestId only when the answer names one
        metadata = {"RequestId": lowered["x-amzn-requestid"]} if "x-amzn-requestid" in lowered else {}
        return {**metadata, "HTTPStatusCode": status, "HTTPHeaders": lowered, "RetryAttempts": retries}


class _ServiceClients:
    """What `connect_to(...)` returns (`ServiceLevelClientFactory`), with `.lambda_` direct."""

    def __init__(self, factory):
        self._factory = factory

    @property
    def lambda_(self) -> DirectLambdaClient:
        return DirectLambdaClient(self._factory.lambda_)

    def __getattr__(self, name):
        return getattr(self._factory, name)


class _ConnectTo:
    """`connect_to` for the modules that invoke functions: their Lambda clients are direct, the rest is LocalStack's."""

    def __init__(self, original):
        self._original = original

    def __call__(self, *args, **kwargs) -> _ServiceClients:
        return _ServiceClients(self._original(*args, **kwargs))

    def __getattr__(self, name):
        return getattr(self._original, name)


def apply(module_name: str | None = None) -> None:
    """Makes the Lambda clients of `module_name` (of every TARGET if None) direct."""
    import importlib

    if not enabled():
        return
    for name in (module_name,) if module_name else TARGET:
        module = importlib.import_module(name)
        if not isinstance(module.connect_to, _ConnectTo):
            module.connect_to = _ConnectTo(module.connect_to)
