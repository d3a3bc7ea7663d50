"""Requests LocalStack makes to itself in process arrive parsed (speed).

The in-process callers (`gateway_calls`: Lambda's log shipping, the S3 notifications' and async invocations' Lambda
Invoke) know the operation and its parameters; they wrote the HTTP request from them, and LocalStack's
`ServiceRequestParser` (localstack/aws/handlers/service.py) parsed it back: 108 us a PutLogEvents, 148 us an
Invoke, 3.2 of a media-pipeline file's requests (docs/benchmarks.md, thirteenth round). Such a request now carries
its parameters with it - in the WSGI environ, where no HTTP client can put anything - and the parser takes them
instead, when the service the chain found is the one they name. Every other handler runs as before on the same
request (the recorder's spans, fault rules, the provider's checks).

The parameters are exactly what the parser makes of the same request (`tests/unit/test_in_process_parsed_requests.py`
parses every shape the callers send both ways): an Invoke's Payload a BytesIO and absent when empty, the keys in
the parser's order.

`SANDBOX_IN_PROCESS_PARSED=0` parses them as any other request (to compare in a benchmark).
"""

from __future__ import annotations

import os

TARGET = "localstack.aws.handlers.service"
ENVIRON_KEY = "sandbox.parsed_request"  # (service name, operation name, parameters)


def enabled() -> bool:
    return (os.environ.get("SANDBOX_IN_PROCESS_PARSED") or "1") not in ("0", "false", "no")


def apply() -> None:
    from localstack.aws.handlers.service import ServiceRequestParser

    if getattr(ServiceRequestParser, "_sandbox_parsed_in_process", False):
        return
    parse_and_enrich = ServiceRequestParser.parse_and_enrich

    def parse_or_take(self, context):
        given = context.request.environ.pop(ENVIRON_KEY, None)
        if given is not None and context.service is not None and context.service.service_name == given[0]:
            context.operation = context.service.operation_model(given[1])
            context.service_request = given[2]
            return None
        return parse_and_enrich(self, context)

    ServiceRequestParser.parse_and_enrich = parse_or_take
    ServiceRequestParser._sandbox_parsed_in_process = True
