"""What a deployed stack holds, read live: its resources, and the gauges of those that queue or run work.

Observer reads (sandbox/observability/noise.py): the recorder files them as platform noise, not your traffic.
Used by the TUI's Patterns tab; as functions of the Sandbox API the CLI and benches can use them too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.api import Sandbox


def stack_resources(sb: Sandbox, stack: str) -> list[dict]:
    """{"logical_id", "type", "physical_id", "status"} of each resource of `stack`."""
    cfn = sb.client("cloudformation", observer=True)
    found = cfn.describe_stack_resources(StackName=stack)["StackResources"]
    return [{"logical_id": r["LogicalResourceId"], "type": r["ResourceType"],
             "physical_id": r.get("PhysicalResourceId") or "", "status": r.get("ResourceStatus", "")}
            for r in found]


def gauges(sb: Sandbox, resources: list[dict]) -> dict[str, dict]:
    """Per logical id: queue depth and messages in flight (SQS), running executions (Step Functions)."""
    out: dict[str, dict] = {}
    for r in resources:
        pid = r.get("physical_id")
        try:
            if r.get("type") == "AWS::SQS::Queue" and pid:
                attrs = sb.client("sqs", observer=True).get_queue_attributes(
                    QueueUrl=pid, AttributeNames=["ApproximateNumberOfMessages",
                                                  "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
                out[r["logical_id"]] = {"depth": int(attrs.get("ApproximateNumberOfMessages", 0)),
                                        "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))}
            elif r.get("type") == "AWS::StepFunctions::StateMachine" and pid:
                running = sb.client("stepfunctions", observer=True).list_executions(
                    stateMachineArn=pid, statusFilter="RUNNING", maxResults=100)["executions"]
                out[r["logical_id"]] = {"in_flight": len(running)}
        except Exception:  # noqa: BLE001 - a resource being deleted: no gauge this time
            continue
    return out


def api_urls(sb: Sandbox, resources: list[dict]) -> dict[str, str]:
    """The local URL of every stage of every REST and HTTP API among `resources` ("LogicalId" or
    "LogicalId/stage" when an API has several stages), so a deploy can print them without template Outputs."""
    base = f"{sb.endpoint}/_aws/execute-api"
    out: dict[str, str] = {}
    for r in resources:
        pid = r.get("physical_id")
        try:
            if r.get("type") == "AWS::ApiGateway::RestApi" and pid:
                stages = [s["stageName"] for s in
                          sb.client("apigateway", observer=True).get_stages(restApiId=pid)["item"]]
            elif r.get("type") == "AWS::ApiGatewayV2::Api" and pid:
                stages = [s["StageName"] for s in
                          sb.client("apigatewayv2", observer=True).get_stages(ApiId=pid)["Items"]]
            else:
                continue
        except Exception:  # noqa: BLE001 - a URL list must not fail a deploy
            continue
        for stage in sorted(stages):
            key = r["logical_id"] if len(stages) == 1 else f"{r['logical_id']}/{stage}"
            out[key] = f"{base}/{pid}/" if stage == "$default" else f"{base}/{pid}/{stage}/"
    return out
