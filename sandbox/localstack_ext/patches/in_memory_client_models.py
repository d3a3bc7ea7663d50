"""In-process internal calls use LocalStack's own service models, as HTTP requests do (memory).

localstack/aws/client.py `GatewayShortCircuit` (LocalStack's IN_MEMORY_CLIENT, `SANDBOX_IN_MEMORY_CLIENT=1`) puts
the calling boto3 client's own botocore `ServiceModel` and `OperationModel` into the request context. The gateway
then builds its parser and serializer for that model (`create_parser`, `create_serializer`: `functools.cache`,
keyed by the model object, never emptied), and every internal client has a model object of its own: each one made
after a reset (which drops the clients) or for a new event source mapping added a parser, a serializer and their
operation routers for good. A gc census between runs 2 and 4 of 1,000 uploads (reset after each): +34 ServiceModel,
+2,206 OperationModel and +660 routing rules, ~4 MB of LocalStack's PSS a run with the recorder off, 7-12 MB with
it on (bench/memory.py, docs/benchmarks.md seventh round). Here the context gets the model the gateway itself uses
for that service and protocol (`ServiceCatalog.get`, one per service), so those caches stay bounded; a service the
catalog does not know keeps the client's model, as before.
"""

from __future__ import annotations

TARGET = "localstack.aws.client"


def apply() -> None:
    from localstack.aws import client
    from localstack.aws.spec import get_service_catalog

    original = client.GatewayShortCircuit.__call__
    if getattr(original, "_sandbox_patched", False):
        return

    def canonical(operation):
        """LocalStack's own operation model for the client's, or the client's own if LocalStack has none."""
        model = operation.service_model
        try:
            service = get_service_catalog().get(model.service_name, model.protocol)
            return service.operation_model(operation.name) if service is not None else operation
        except Exception:  # noqa: BLE001 - an unknown service or operation: the client's model, as LocalStack did
            return operation

    def __call__(self, event_name, request, **kwargs):
        # the attribute LocalStack's enriched request carries for GatewayShortCircuit alone (client.py
        # _create_and_enrich_aws_request); botocore parses the answer with the operation model it holds itself
        operation = getattr(request, "operation_model", None)
        if operation is not None:
            request.operation_model = canonical(operation)
        return original(self, event_name, request, **kwargs)

    __call__._sandbox_patched = True
    client.GatewayShortCircuit.__call__ = __call__
