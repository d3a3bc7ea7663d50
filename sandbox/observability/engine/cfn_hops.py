"""CloudFormation: the calls a stack operation makes to create, update and delete its resources.

Patched LocalStack behaviour (localstack-core 2026.3.0,
`localstack.services.cloudformation.resource_provider.ResourceProviderExecutor.deploy_loop`): each resource of a
stack operation is created, updated or deleted by its resource provider through LocalStack's internal clients, in
the engine's own thread. Nothing was bound there, so each call began a trace of its own, its caller an anonymous
"service:localstack": a deploy filled the service map with ~30 edges to roles and functions before the first one
the app made, and `sandbox events` with GetFunction/DeleteFunction.

While a resource is deployed, its thread is bound to a hop "cfn-deploy" (caller: cloudformation, with the stack's
ARN), so those calls are CloudFormation's and platform noise: hidden by default like log shipping and polls, shown
with `--all`. One that fails is not noise: what made a deploy fail stays in `events --errors`.
"""

from __future__ import annotations

from sandbox.observability import recorder as recorder_mod
from sandbox.observability.engine import propagation
from sandbox.observability.spans import new_trace_id

HOP = "cfn-deploy"


def deploy_hop(payload: dict) -> propagation.Current:
    """The hop of one resource's deployment (`payload`: LocalStack's resource provider payload)."""
    stack, data = payload.get("stackId"), payload.get("requestData") or {}
    arn = f"arn:aws:cloudformation:{payload.get('region')}:{payload.get('awsAccountId')}:stack/{stack}" \
        if stack and not str(stack).startswith("arn:") else stack
    return propagation.Current(new_trace_id(), None, hop={
        "hop": HOP, "caller": {"kind": "service", "name": "cloudformation", "source_arn": arn},
        "attrs": {"stack": stack, "logical_id": data.get("logicalResourceId"), "action": payload.get("action")}})


def install() -> None:
    from localstack.services.cloudformation.resource_provider import ResourceProviderExecutor

    original = ResourceProviderExecutor.deploy_loop
    if getattr(original, "_sandbox_observability", False):
        return

    def deploy_loop(self, resource_provider, resource, raw_payload, *args, **kwargs):
        rec = recorder_mod._recorder
        if rec is None or not rec.enabled or not isinstance(raw_payload, dict):
            return original(self, resource_provider, resource, raw_payload, *args, **kwargs)
        with propagation.bound(deploy_hop(raw_payload)):
            return original(self, resource_provider, resource, raw_payload, *args, **kwargs)

    deploy_loop._sandbox_observability = True
    ResourceProviderExecutor.deploy_loop = deploy_loop
