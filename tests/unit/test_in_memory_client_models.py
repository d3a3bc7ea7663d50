"""patches/in_memory_client_models.py: an in-process internal call reaches the gateway with LocalStack's own service
model, the same object for every client, so the gateway's parser and serializer caches (keyed by model) stay
bounded; the client still gets its answer."""

from __future__ import annotations

import os

import boto3
import pytest


class RecordingGateway:
    def __init__(self):
        self.contexts = []

    def handle(self, context, response):
        self.contexts.append(context)
        response.status_code = 200
        response.headers["Content-Type"] = "application/x-amz-json-1.0"
        response.set_data(b'{"QueueUrls": ["http://example/q"]}')


@pytest.fixture
def ls_client(monkeypatch):
    """localstack.aws.client as LocalStack runs it with IN_MEMORY_CLIENT on (each prepared request carries its
    params and operation) and with the patch. The session's host-like AWS_PROFILE and config files
    (tests/conftest.py HOST_SECRETS) are kept away from these clients."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(name, os.devnull)
    from localstack.aws import client

    from sandbox.localstack_ext.patches import in_memory_client_models

    in_memory_client_models.apply()
    client.botocore_in_memory_endpoint_patch.apply()
    yield client
    client.botocore_in_memory_endpoint_patch.undo()


def internal_client(ls_client, gateway):
    short_circuit = ls_client.GatewayShortCircuit(gateway)
    sqs = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1") \
        .client("sqs", endpoint_url=short_circuit._internal_url)
    sqs.meta.events.register_first("before-send.*.*", short_circuit)
    return sqs


def test_every_internal_client_reaches_the_gateway_with_localstacks_own_model(ls_client):
    from localstack.aws.spec import get_service_catalog

    gateway = RecordingGateway()
    clients = [internal_client(ls_client, gateway) for _ in range(3)]
    for sqs in clients:
        assert sqs.list_queues()["QueueUrls"] == ["http://example/q"]
    canonical = get_service_catalog().get("sqs", "json")
    assert len(gateway.contexts) == 3
    for context, sqs in zip(gateway.contexts, clients):
        assert context.service is canonical and context.service is not sqs.meta.service_model
        assert context.operation is canonical.operation_model("ListQueues")
