"""patches/in_memory_client_models.py: an in-process internal call reaches the gateway with LocalStack's own service
model, the same object for every client, so the gateway's parser and serializer caches (keyed by model) stay
bounded; the client still gets its answer."""

from __future__ import annotations

import boto3
import pytest
from localstack.aws import client as ls_client
from localstack.aws.spec import get_service_catalog

from sandbox.localstack_ext.patches import in_memory_client_models

in_memory_client_models.apply()


class RecordingGateway:
    def __init__(self):
        self.contexts = []

    def handle(self, context, response):
        self.contexts.append(context)
        response.status_code = 200
        response.headers["Content-Type"] = "application/x-amz-json-1.0"
        response.set_data(b'{"QueueUrls": ["http://example/q"]}')


def internal_client(gateway):
    short_circuit = ls_client.GatewayShortCircuit(gateway)
    sqs = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1") \
        .client("sqs", endpoint_url=short_circuit._internal_url)
    sqs.meta.events.register_first("before-send.*.*", short_circuit)
    return sqs


@pytest.fixture
def enriched_requests():
    """What LocalStack does with IN_MEMORY_CLIENT on: each prepared request carries its params and operation."""
    ls_client.botocore_in_memory_endpoint_patch.apply()
    yield
    ls_client.botocore_in_memory_endpoint_patch.undo()


def test_every_internal_client_reaches_the_gateway_with_localstacks_own_model(enriched_requests):
    gateway = RecordingGateway()
    clients = [internal_client(gateway) for _ in range(3)]
    for sqs in clients:
        assert sqs.list_queues()["QueueUrls"] == ["http://example/q"]
    canonical = get_service_catalog().get("sqs", "json")
    assert len(gateway.contexts) == 3
    for context, sqs in zip(gateway.contexts, clients):
        assert context.service is canonical and context.service is not sqs.meta.service_model
        assert context.operation is canonical.operation_model("ListQueues")
