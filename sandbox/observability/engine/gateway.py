"""Gateway handlers that turn every AWS request (and every API Gateway invocation) into a span.

Three handlers in LocalStack's handler chain (localstack.aws.app.LocalstackAwsGateway):

    mark_start  first of `preprocess_request`: start time. An API Gateway or function URL invocation (routed before
                the AWS handlers run, so it never gets a parsed service request) opens its span here.
    enter       first of `serve_custom_service_request_handlers` (after LocalStack parsed the request and its
                X-Amzn-Trace-Id into `context.trace_context["aws_trace_header"]`): opens the span. Trace id = the
                header's Root (LocalStack makes one up when absent), parent = its Parent. Then the header is
                rewritten so that Parent is *this* span, in the trace context and, when the client sent the
                header, in the raw request too. Everything LocalStack derives from it - the payload header of a
                Lambda invocation, the AWSTraceHeader of an SQS message, the trace header of EventBridge targets
                and of S3 events - now names this span as the cause. The thread is bound to the span
                (propagation.Current) so internal calls it makes carry it too.
    finalize    in `run_custom_finalizers`: reads what the span needs from the request and records it, to be
                built after the answer by the span writer (store.Deferred) when the service's answers are
                fresh objects and the bodies small (DEFERRED_SERVICES, DEFER_MAX_BODY); else builds it at once.

Noise, resource, caller, correlation id, previews and cost units: see the modules of the same names.
"""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Mapping
from time import perf_counter, perf_counter_ns

from localstack.utils.xray.trace_header import TraceHeader

from sandbox.observability import callers, correlation, noise, probes, resources, units
from sandbox.observability.engine import propagation
from sandbox.observability import recorder as recorder_mod
from sandbox.observability.preview import preview
from sandbox.observability.spans import new_span_id, new_trace_id, parse_trace_header

EXECUTE_API_PREFIX = "/_aws/execute-api/"
HTTP_API_ENVIRON_KEY = "sandbox.http_api"
REST_INTEGRATION_ENVIRON_KEY = "sandbox.rest_integration"  # set by apigw_hops when a REST request reaches its integration
HTTP_API_METER = 512 * 1024  # HTTP API requests are metered in 512 KB increments (AWS pricing page)
# Calls an event source mapping's poller makes on behalf of its function (marked hop "esm-poll")
POLL_OPERATIONS = frozenset({"ReceiveMessage", "DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility",
                             "ChangeMessageVisibilityBatch", "GetQueueAttributes", "GetQueueUrl", "GetRecords",
                             "GetShardIterator", "DescribeStream", "ListShards", "ListStreams"})
ATTR = "sandbox_span"
# Services whose parsed requests and answers nothing changes after the answer (read in their providers, 2026.3.0):
# moto's DynamoDB parses the raw body itself and answers with bytes; SQS answers with deep copies of its messages;
# S3 answers with dicts made per request (a body is a stream the preview never reads); Lambda's Invoke reads its
# payload and answers with bytes; CloudWatch Logs' PutLogEvents with a fresh dict. Their spans are built after the
# answer. Others may answer with their live state (SNS GetTopicAttributes returns the topic's attribute dict,
# CloudFormation DescribeStackEvents the stack's event list, both changed in place later): built at once, or a span
# could show what the client never got.
DEFERRED_SERVICES = frozenset({"dynamodb", "sqs", "s3", "logs"})
DEFER_MAX_BODY = 256 * 1024  # a larger request or answer is built at once instead of being held for the writer


class RequestState:
    __slots__ = ("t0", "ts", "span_id", "trace_id", "parent_id", "hop", "corr", "caller", "prev", "apigw", "url")

    def __init__(self):
        self.t0 = perf_counter()
        self.ts = time.time()
        self.span_id = None
        self.trace_id = None
        self.parent_id = None
        self.hop = None
        self.corr = None
        self.caller = None
        self.prev = None
        self.apigw = None
        self.url = None


# --- handlers ---------------------------------------------------------------------------------------------


def mark_start(chain, context, response) -> None:
    rec = recorder_mod._recorder
    if rec is None or not rec.enabled:
        return
    t0 = perf_counter_ns()
    state = RequestState()
    context.__dict__[ATTR] = state
    environ = context.request.environ
    path = environ.get("PATH_INFO") or ""
    host = environ.get("HTTP_HOST") or ""
    if path.startswith(EXECUTE_API_PREFIX) or "/_user_request_" in path or ".execute-api." in host:
        _open_apigw(rec, state, context)
    elif ".lambda-url." in host and _routed_to_function_url(path, host):
        _open_function_url(rec, state, context, host)
    rec.self_ns += perf_counter_ns() - t0


def enter(chain, context, response) -> None:
    state = context.__dict__.get(ATTR)
    if state is None or state.span_id is not None:
        return
    rec = recorder_mod._recorder
    if rec is None:
        return
    t0 = perf_counter_ns()
    _open_service_span(rec, state, context, rewrite=True)
    rec.self_ns += perf_counter_ns() - t0


def finalize(chain, context, response) -> None:
    state = context.__dict__.pop(ATTR, None)
    if state is None:
        return
    opened = state.span_id is not None
    t0 = perf_counter_ns()
    rec = recorder_mod._recorder
    try:
        if rec is None:
            return
        if state.apigw is not None:
            rec.record(_apigw_span(state, context, response))
        elif state.url is not None:
            rec.record(_function_url_span(state, context, response))
        elif context.service is not None:
            if not opened:
                _open_service_span(rec, state, context, rewrite=False)
                opened = True
            args = _service_span_args(rec, state, context, response)
            if _deferrable(context, response):
                # built by the span writer, off the request's path: halves the recorder's time in the request
                # (bench/recorder.py: 85-90 -> 42-59 us), not its CPU (docs/benchmarks.md, eighteenth round)
                rec.record_later(service_span, args, state.ts, context.service.service_name, unbuilt_service_span)
            else:
                rec.record(service_span(*args))
    finally:
        if opened:
            propagation.set_current(state.prev)
        if rec is not None:
            rec.self_ns += perf_counter_ns() - t0
            rec.requests += 1


# --- service requests -------------------------------------------------------------------------------------


def _open_service_span(rec, state: RequestState, context, rewrite: bool) -> None:
    hdr = context.trace_context.get("aws_trace_header")
    trace_id = (hdr.root if hdr is not None else None) or new_trace_id()
    parent_id = hdr.parent if hdr is not None else None
    span_id = new_span_id()
    state.span_id, state.trace_id, state.parent_id = span_id, trace_id, parent_id
    environ = context.request.environ
    hop_raw = environ.get(propagation.HOP_ENVIRON_KEY)
    if hop_raw:
        try:
            state.hop = json.loads(hop_raw)
        except ValueError:
            state.hop = None
    service = context.service.service_name
    operation = context.operation.name if context.operation is not None else None
    caller = callers.caller_of(environ, context.internal_request_params, context.account_id, context.region)
    hop = state.hop
    if hop:
        hop_caller = hop.get("caller")
        if hop_caller == "inherit":
            info = rec.info(parent_id)
            if info is not None and info.caller:
                caller = info.caller
        elif isinstance(hop_caller, dict):
            caller = hop_caller
    if parent_id is not None and caller.get("kind") == "lambda" and rec.info(parent_id) is None:
        # a parent never recorded: with `Tracing: Active` the X-Ray SDK (Powertools' Tracer) sends the id of its own
        # subsegment; the call is the function's, a child of its execution running in this trace - when only one
        # runs there (two at once, a Map state's, cannot be told apart: the call stays where it said)
        running = rec.running.get((trace_id, caller.get("name")))
        if running is not None and len(running) == 1:
            parent_id = state.parent_id = running[0]
    state.caller = caller
    params = context.service_request
    if service == "lambda" and operation == "Invoke" and isinstance(params, dict):
        payload = params.get("Payload")
        if payload is not None and hasattr(payload, "read") and not hasattr(payload, "getvalue"):
            # the provider reads this stream once; read it here instead (the payload is at most 6 MB) so that
            # the span can show it and find a correlation id in it
            params["Payload"] = io.BytesIO(payload.read())
    corr = None
    if operation is not None:
        try:
            corr = correlation.from_request(service, operation, params, environ)
        except Exception:  # noqa: BLE001 - a malformed request must still be recorded
            corr = None
    if corr is None and hop:
        corr = hop.get("correlation_id")
    if corr is None and parent_id:
        corr = rec.inherited_correlation(parent_id)
    state.corr = corr
    rec.open(span_id, trace_id, corr, caller)
    if rewrite and hdr is not None:
        new = TraceHeader(root=trace_id, parent=span_id, sampled=hdr.sampled if hdr.sampled is not None else 1,
                          lineage=hdr.lineage, data=hdr.data)
        context.trace_context["aws_trace_header"] = new
        if "HTTP_X_AMZN_TRACE_ID" in environ:
            environ["HTTP_X_AMZN_TRACE_ID"] = value = new.to_header_str()
            # the request's headers are a copy made when it was parsed (rolo.Request), not a view of the
            # environ; SQS reads the AWSTraceHeader of a message from them
            context.request.headers["X-Amzn-Trace-Id"] = value
    state.prev = propagation.set_current(propagation.Current(trace_id, span_id))


def _function_error(payload) -> str | None:
    if isinstance(payload, (bytes, bytearray)) and len(payload) < 65536:
        try:
            body = json.loads(payload)
        except ValueError:
            return None
        if isinstance(body, dict):
            kind, message = body.get("errorType"), body.get("errorMessage")
            return f"{kind}: {message}" if kind else (str(message) if message else None)
    return None


JSON_PROTOCOLS = frozenset({"json", "rest-json"})


def _json_body_bytes(context, length: int | None) -> int | None:
    """`length` of a request's or answer's body when it is JSON (the previews' fast path, preview.py): not XML (its
    entities expand a small body into megabytes), CBOR or query, and not compressed."""
    if context.protocol not in JSON_PROTOCOLS or context.request.environ.get("HTTP_CONTENT_ENCODING"):
        return None
    return length


def _deferrable(context, response) -> bool:
    service = context.service.service_name
    if service not in DEFERRED_SERVICES and not (service == "lambda" and context.operation is not None
                                                 and context.operation.name == "Invoke"):
        return False
    return (context.request.content_length or 0) <= DEFER_MAX_BODY and \
        (response.content_length or 0) <= DEFER_MAX_BODY


def _service_span_args(rec, state: RequestState, context, response) -> tuple:
    """What the span of a service request needs from the request's context, read while it is live: the values
    themselves, and the parsed request and answer (which DEFERRED_SERVICES do not change after the answer). Cheap:
    the rest of the work is `service_span`'s, later for those."""
    service = context.service.service_name
    operation = context.operation.name if context.operation is not None else None
    params = context.service_request
    status = response.status_code
    error = None
    exc = context.service_exception
    if exc is not None:
        message = getattr(exc, "message", None) or str(exc)
        error = {"code": getattr(exc, "code", None) or type(exc).__name__, "message": str(message)[:1000]}
    elif status >= 400:
        error = {"code": f"HTTP{status}", "message": None}
    function_error = None
    if service == "lambda" and operation == "Invoke":
        function_error = response.headers.get("X-Amz-Function-Error")
    stored = None
    if status >= 400 and units.billed_error(service, error):  # read now: the table may change before the build
        stored = _stored_item(context, params)
    trace_id, parent_id, corr = state.trace_id, state.parent_id, state.corr
    result = context.service_response if exc is None else None
    if service == "sqs" and operation == "ReceiveMessage" and parent_id is None and isinstance(result, dict) \
            and result.get("Messages"):
        # A poll that starts its own trace (the event source mapping's) belongs to the trace of the request that
        # produced the message: looked up now (a reset empties the index)
        producer = rec.producers.get(result["Messages"][0].get("MessageId"))
        if producer is not None:
            trace_id, parent_id = producer.trace_id, producer.span_id
            corr = corr or producer.correlation_id
    environ = context.request.environ
    return (state.ts, round((perf_counter() - state.t0) * 1000, 3), state.span_id, trace_id, parent_id, corr,
            state.caller, state.hop, service, operation, params, result, context.account_id, context.region, status,
            error, context.internal_request_params is not None, function_error, context.request_id,
            _json_body_bytes(context, context.request.content_length),
            _json_body_bytes(context, response.content_length), environ.get("HTTP_USER_AGENT"),
            context.__dict__.get("sandbox_fault"), stored)


def service_span(ts, duration_ms, span_id, trace_id, parent_id, corr, caller, hop, service, operation, params,
                 result, account, region, status, error, internal, function_error, request_id, request_bytes,
                 response_bytes, user_agent, injected, stored) -> dict:
    """The span of a service request, from what `_service_span_args` read."""
    if not isinstance(result, dict) and isinstance(result, Mapping):  # the cheap check first: most are dicts
        # parsed when first read (moto's DynamoDB answers, sandbox/dynamodb_moto/passthrough.py): the previews and
        # the cost units (read/write units from the items) read a dict
        result = dict(result)
    resource, resource_name = resources.resource_of(service, operation, params, account, region)
    attrs = None
    if service == "lambda" and operation == "Invoke" and isinstance(params, dict):
        attrs = {"invocation_type": params.get("InvocationType") or "RequestResponse"}
        if function_error:
            error = {"code": function_error,
                     "message": _function_error(result.get("Payload") if isinstance(result, dict) else None)}
    elif service == "sqs" and isinstance(result, dict):
        if operation == "SendMessage" and result.get("MessageId"):
            attrs = {"message_id": result["MessageId"]}
        elif operation == "ReceiveMessage" and result.get("Messages"):
            ids = [m.get("MessageId") for m in result["Messages"]]
            attrs = {"message_ids": ids[:10], "count": len(ids)}
        elif operation == "SendMessageBatch" and result.get("Successful"):
            attrs = {"message_ids": [e.get("MessageId") for e in result["Successful"]][:10]}
    hop_kind = links = None
    if hop:
        hop_kind = hop.get("hop")
        links = hop.get("links") or None
        if hop.get("attrs"):
            attrs = {**(attrs or {}), **hop["attrs"]}
        if hop_kind == "esm" and service == "lambda" and isinstance(result, dict) and not error:
            failed = batch_item_failures(result.get("Payload"))
            if failed:
                attrs = {**(attrs or {}), "batch_item_failures": failed}
    elif internal and operation in POLL_OPERATIONS and caller.get("name") == "lambda":
        hop_kind = "esm-poll"
    return {
        "seq": None,
        "ts": ts,
        "duration_ms": duration_ms,
        "kind": "request",
        "hop": hop_kind,
        "account": account,
        "region": region,
        "service": service,
        "operation": operation,
        "resource": resource,
        "resource_name": resource_name,
        "status": status,
        "error": error,
        "caller": caller,
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_id": parent_id,
        "links": links,
        "request_id": request_id,
        "correlation_id": corr,
        "request": preview(params, json_body_bytes=request_bytes),
        "response": preview(result, json_body_bytes=response_bytes),  # None after an error: no answer
        # what a stack operation does to its resources is CloudFormation's (cfn_hops): shown with --all, unless it
        # failed other than as an existence probe (what made a deploy fail stays in `events --errors`)
        "noise": (hop_kind == "cfn-deploy" and (status < 400 or probes.is_expected_probe(
            {"kind": "request", "error": error, "service": service, "operation": operation, "injected": injected}))) or
        noise.is_noise(service, operation, internal, resource_name, params, result, user_agent=user_agent),
        "injected": injected,
        "attrs": attrs,
        "units": units.units_for(service, operation, params, result) if status < 400 else
        units.failed_write_units(operation, params, stored) if units.billed_error(service, error) else None,
    }


def unbuilt_service_span(ts, duration_ms, span_id, trace_id, parent_id, corr, caller, hop, service, operation, params,
                         result, account, region, status, error, internal, function_error, request_id, *_) -> dict:
    """What the request knew of its span, when `service_span` fails (store.Deferred adds the recorder's error): its
    trace and map stay whole."""
    return {
        "seq": None, "ts": ts, "duration_ms": duration_ms, "kind": "request",
        "hop": hop.get("hop") if isinstance(hop, dict) else None, "account": account, "region": region,
        "service": service, "operation": operation, "resource": None, "resource_name": None, "status": status,
        "error": error, "caller": caller, "trace_id": trace_id, "span_id": span_id, "parent_id": parent_id,
        "links": None, "request_id": request_id, "correlation_id": corr, "request": None, "response": None,
        "noise": False, "injected": None, "attrs": None, "units": None,
    }


def batch_item_failures(payload) -> int:
    """How many records a function's answer to an event source mapping's batch lists as failed (`batchItemFailures`):
    a successful invocation to Lambda; with the mapping's ReportBatchItemFailures those records are retried (then go
    to the DLQ), without it Lambda deletes them all (esm_hops tells the span which)."""
    if not isinstance(payload, (bytes, bytearray)) or b"batchItemFailures" not in payload or len(payload) > 262144:
        return 0
    try:
        failures = json.loads(payload).get("batchItemFailures")
    except (ValueError, AttributeError):
        return 0
    return len(failures) if isinstance(failures, list) else 0


def _stored_item(context, params) -> dict | None:
    """The item a DynamoDB write whose condition failed was about, as the table holds it (its write units are counted
    from it): read from moto's backend in process, only on that path."""
    try:
        from sandbox.dynamodb_moto.streams import backend

        keys = params.get("Key") or params.get("Item")
        item = backend(context.account_id, context.region).get_item(params["TableName"], keys)
        return item.to_json()["Attributes"] if item is not None else None
    except Exception:  # noqa: BLE001 - a table name as an ARN, a table gone meanwhile: the request's own size
        return None


# --- API Gateway invocations ------------------------------------------------------------------------------


def _apigw_target(request) -> tuple[str | None, str | None, str]:
    """(api id, stage, resource path) of an execute-api request, in any of LocalStack's URL styles."""
    path = request.path
    if path.startswith(EXECUTE_API_PREFIX):
        parts = path[len(EXECUTE_API_PREFIX):].split("/", 2)
        return parts[0].lower(), parts[1] if len(parts) > 1 else None, "/" + (parts[2] if len(parts) > 2 else "")
    if "/_user_request_" in path:
        head, _, rest = path.partition("/_user_request_")
        parts = head.strip("/").split("/")
        return (parts[1].lower() if len(parts) > 1 else None), (parts[2] if len(parts) > 2 else None), rest or "/"
    api_id = request.host.split(".execute-api.", 1)[0].split("-vpce-", 1)[0].lower()
    parts = path.lstrip("/").split("/", 1)
    return api_id, parts[0] or None, "/" + (parts[1] if len(parts) > 1 else "")


def _open_apigw(rec, state: RequestState, context) -> None:
    state.apigw = _apigw_target(context.request)
    # API Gateway reads the trace header itself and passes it to the integration (Lambda: as its X-Ray header)
    _open_external(rec, state, context)


def _open_external(rec, state: RequestState, context) -> None:
    """The span of a request from outside that LocalStack routes before its AWS handlers (an API Gateway or function
    URL invocation): its trace from the client's header, the thread bound to it so that what it invokes is its
    child."""
    environ = context.request.environ
    root, parent = parse_trace_header(environ.get("HTTP_X_AMZN_TRACE_ID"))
    state.trace_id = root or new_trace_id()
    state.parent_id = parent
    state.span_id = new_span_id()
    caller = callers.caller_of(environ, None, None, None)
    state.caller = caller
    corr = environ.get(correlation.ENVIRON_KEY) or rec.inherited_correlation(parent)
    state.corr = corr
    rec.open(state.span_id, state.trace_id, corr, caller)
    environ["HTTP_X_AMZN_TRACE_ID"] = f"Root={state.trace_id};Parent={state.span_id};Sampled=1"
    state.prev = propagation.set_current(propagation.Current(state.trace_id, state.span_id))


def _routed_to_function_url(path: str, host: str) -> bool:
    """Whether LocalStack's URL router takes this request (the request guard's reading of its routes): a host that
    merely contains `.lambda-url.` goes to the control plane, and so do LocalStack's own paths."""
    from sandbox.security import policy

    return not path.startswith(policy.RESERVED_PATH_PREFIXES) and \
        policy.DATA_PLANE_HOST.match(policy.split_host(host)) is not None


def _open_function_url(rec, state: RequestState, context, host: str) -> None:
    """A function URL invocation (`<id>.lambda-url.<region>.<host>`): LocalStack's URL router invokes the function
    itself, so without a span of its own the request was "lambda None" and its execution another trace's."""
    url_id, _, rest = host.partition(".lambda-url.")
    state.url = (url_id.lower(), rest.split(".", 1)[0])
    _open_external(rec, state, context)


def _function_url_target(environ: dict, url_id: str, region: str) -> tuple[str | None, str | None]:
    """(function ARN, auth type) of the function URL `url_id`: the config the URL router's patch found for this
    request (lambda_function_url_payload), or looked up as it looks it up (a request the router never reached)."""
    from sandbox.localstack_ext.patches.lambda_function_url_payload import CONFIG_ENVIRON_KEY, url_config

    config = environ[CONFIG_ENVIRON_KEY] if CONFIG_ENVIRON_KEY in environ else url_config(url_id, region)
    return (config.function_arn, config.auth_type) if config is not None else (None, None)


def _function_url_span(state: RequestState, context, response) -> dict:
    url_id, region = state.url
    arn, auth_type = _function_url_target(context.request.environ, url_id, region)
    parts = arn.split(":") if arn else []
    account = parts[4] if len(parts) > 6 else None
    request = context.request
    status = response.status_code
    body = request.get_data(cache=True) if (request.content_length or 0) <= 1024 * 1024 else b"<large body>"
    out = None if response.is_streamed else response.get_data()
    return {
        "seq": None, "ts": state.ts, "duration_ms": round((perf_counter() - state.t0) * 1000, 3),
        "kind": "request", "hop": None, "account": account, "region": region, "service": "lambda",
        "operation": "InvokeFunctionUrl", "resource": arn, "resource_name": parts[6] if len(parts) > 6 else url_id,
        "status": status, "error": {"code": f"HTTP{status}", "message": None} if status >= 400 else None,
        "caller": state.caller, "trace_id": state.trace_id, "span_id": state.span_id, "parent_id": state.parent_id,
        "links": None, "request_id": response.headers.get("x-amzn-RequestId"), "correlation_id": state.corr,
        "request": preview(body) if body else None, "response": preview(out) if out else None,
        "noise": False, "injected": context.__dict__.get("sandbox_fault"),
        "attrs": {"method": request.method, "path": request.path, "url_id": url_id, "auth_type": auth_type},
        "units": None,  # a function URL costs its invocation only (billed on the execution's span)
    }


def _apigw_location(api_id: str | None, stage: str | None) -> tuple[str, str]:
    try:
        from localstack.constants import AWS_REGION_US_EAST_1, DEFAULT_AWS_ACCOUNT_ID
        from localstack.services.apigateway.models import apigateway_stores

        store = apigateway_stores[DEFAULT_AWS_ACCOUNT_ID][AWS_REGION_US_EAST_1]
        deployment_id = store.active_deployments.get(api_id, {}).get(stage)
        deployment = store.internal_deployments.get(api_id, {}).get(deployment_id)
        if deployment is not None:
            return deployment.account_id, deployment.region
    except Exception:  # noqa: BLE001
        pass
    return "000000000000", "us-east-1"


def _apigw_span(state: RequestState, context, response) -> dict:
    api_id, stage, path = state.apigw
    request = context.request
    http_api = request.environ.get(HTTP_API_ENVIRON_KEY)  # set by sandbox/http_api/engine/gateway.py
    if http_api:  # an HTTP API: its stage may be `$default`, with no stage segment in the path
        stage, path, account, region = http_api["stage"], http_api["path"], http_api["account"], http_api["region"]
    else:
        account, region = _apigw_location(api_id, stage)
    # API Gateway answers with the trace id it recorded, so `sandbox trace <id>` finds the request
    response.headers["X-Amzn-Trace-Id"] = f"Root={state.trace_id}"
    status = response.status_code
    body = request.get_data(cache=True) if (request.content_length or 0) <= 1024 * 1024 else b"<large body>"
    out = None if response.is_streamed else response.get_data()
    error = {"code": f"HTTP{status}", "message": None} if status >= 400 else None
    return {
        "seq": None, "ts": state.ts, "duration_ms": round((perf_counter() - state.t0) * 1000, 3),
        "kind": "request", "hop": None, "account": account, "region": region, "service": "apigateway",
        "operation": "Execute", "resource": f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}",
        "resource_name": f"{api_id}/{stage}", "status": status, "error": error, "caller": state.caller,
        "trace_id": state.trace_id, "span_id": state.span_id, "parent_id": state.parent_id, "links": None,
        "request_id": response.headers.get("x-amzn-RequestId"), "correlation_id": state.corr,
        "request": preview(body) if body else None, "response": preview(out) if out else None,
        "noise": False, "injected": context.__dict__.get("sandbox_fault"),
        "attrs": {"method": request.method, "path": path, "api_id": api_id, "stage": stage,
                  "api_type": "http" if http_api else "rest",
                  **({"route_key": http_api.get("route_key")} if http_api else {}),
                  # handed to its integration (what API Gateway bills when it fails: cost.py)
                  "integration": bool(http_api.get("integration")) if http_api
                  else bool(request.environ.get(REST_INTEGRATION_ENVIRON_KEY))},
        "units": {"requests": max(1, math.ceil((request.content_length or 0) / HTTP_API_METER))} if http_api else {"requests": 1},
    }
