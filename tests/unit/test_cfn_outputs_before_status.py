"""The patch cfn_outputs_before_status on LocalStack's own CloudFormation provider, run in this process with its
worker threads run inline: what a client polling DescribeStacks sees at the moment the stack's status turns final.
A live test cannot force that moment (CI hit it once in many runs: `--param Stage=prod` printed `Stage: dev`)."""

from __future__ import annotations

import json

import pytest

from sandbox.localstack_ext.patches import cfn_outputs_before_status as patch

# one resource LocalStack deploys without any service (a wait condition handle), and an output of the parameter
TEMPLATE = json.dumps({
    "Parameters": {"Stage": {"Type": "String", "Default": "prod"}},
    "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
    "Outputs": {"Stage": {"Value": {"Ref": "Stage"}, "Export": {"Name": {"Fn::Sub": "${Stage}-stage"}}}},
})


@pytest.fixture
def provider(monkeypatch, request, no_host_profile):
    """LocalStack's v2 CloudFormation provider with inline workers, and the stack's values at each final status.
    (`no_host_profile`: its resource providers make boto3 clients in this process, which the live tests' stand-in
    host profile failed in CI, "config profile ... could not be found".)"""
    from localstack.aws.api import RequestContext
    from localstack.aws.api.cloudformation import StackStatus
    from localstack.services.cloudformation.engine.v2.change_set_model_executor import ChangeSetModelExecutor
    from localstack.services.cloudformation.v2 import provider as v2_provider
    from localstack.services.cloudformation.v2.entities import Stack
    from localstack.services.cloudformation.v2.types import engine_parameter_value

    final = (StackStatus.CREATE_COMPLETE, StackStatus.UPDATE_COMPLETE)
    seen: list[tuple[str, list[str], str, dict]] = []
    set_status = Stack.set_stack_status

    def recording(stack, status, reason=None):
        if status in final:  # what DescribeStacks would show alongside the final status
            seen.append((status, [o["OutputValue"] for o in stack.resolved_outputs],
                         engine_parameter_value(stack.resolved_parameters["Stage"]) if stack.resolved_parameters else None, dict(stack.resolved_exports)))
        return set_status(stack, status, reason)

    monkeypatch.setattr(Stack, "set_stack_status", recording)
    monkeypatch.setattr(v2_provider, "start_worker_thread", lambda run, *args, **kwargs: run())
    monkeypatch.setattr(ChangeSetModelExecutor, "execute", ChangeSetModelExecutor.execute)
    if request.param:
        patch.apply()
    context = RequestContext(None)
    context.account_id, context.region = "000000000000", "eu-west-3"
    return v2_provider.CloudformationProviderV2(), context, seen


def stage(value: str) -> list[dict]:
    return [{"ParameterKey": "Stage", "ParameterValue": value}]


def created_then_updated(cfn, context, name: str) -> None:
    """The stack created with Stage=dev, then updated to Stage=prod (UpdateStack)."""
    cfn.create_stack(context, {"StackName": name, "TemplateBody": TEMPLATE, "Parameters": stage("dev")})
    cfn.update_stack(context, {"StackName": name, "TemplateBody": TEMPLATE, "Parameters": stage("prod")})


@pytest.mark.parametrize("provider", [True], indirect=True)
def test_update_stack_shows_update_complete_with_its_new_outputs(provider):
    cfn, context, seen = provider
    created_then_updated(cfn, context, "outputs-update")
    assert seen[-1] == ("UPDATE_COMPLETE", ["prod"], "prod", {"prod-stage": "prod"}), seen
    assert seen[0] == ("CREATE_COMPLETE", ["dev"], "dev", {"dev-stage": "dev"}), seen


@pytest.mark.parametrize("provider", [True], indirect=True)
def test_an_executed_change_set_shows_update_complete_with_its_new_outputs(provider):
    cfn, context, seen = provider
    name = "outputs-change-set"
    cfn.create_stack(context, {"StackName": name, "TemplateBody": TEMPLATE, "Parameters": stage("dev")})
    cfn.create_change_set(context, {"StackName": name, "ChangeSetName": "to-prod", "TemplateBody": TEMPLATE,
                                    "Parameters": stage("prod"), "ChangeSetType": "UPDATE"})
    cfn.execute_change_set(context, "to-prod", name)
    assert seen[-1][:2] == ("UPDATE_COMPLETE", ["prod"]), seen


@pytest.mark.parametrize("provider", [False], indirect=True)
def test_without_the_patch_localstack_shows_the_previous_outputs(provider):
    """The bug the patch works around, so that a LocalStack that fixed it is noticed (the patch could go)."""
    cfn, context, seen = provider
    created_then_updated(cfn, context, "outputs-unpatched")
    assert seen[-1][:3] == ("UPDATE_COMPLETE", ["dev"], "dev"), seen  # the outputs and parameters of the create
