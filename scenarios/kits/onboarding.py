"""Small helpers steps share: talking to the built-in patterns the way their tests do."""

from __future__ import annotations

import json

from scenarios.runner import RunContext


def put_user_created(ctx: RunContext, user_id: str, email: str, correlation_id: str | None = None) -> str:
    detail = {"user_id": user_id, "email": email, "name": user_id.title()}
    if correlation_id:
        detail["correlation_id"] = correlation_id
    resp = ctx.sb.client("events").put_events(Entries=[{
        "EventBusName": ctx.output("user-onboarding", "EventBusName"), "Source": "app.users",
        "DetailType": "user.created", "Detail": json.dumps(detail)}])
    if resp["FailedEntryCount"]:
        raise RuntimeError(f"PutEvents failed: {resp['Entries']}")
    ctx.count("sent")
    return resp["Entries"][0]["EventId"]


def finished_execution(ctx: RunContext, event_id: str, timeout: float = 90) -> dict:
    """The Step Functions execution started for the event (its input is the event), once finished."""
    sfn = ctx.sb.client("stepfunctions")
    arn_of: dict[str, str] = {}

    def started():
        for e in sfn.list_executions(stateMachineArn=ctx.output("user-onboarding", "StateMachineArn"))["executions"]:
            if e["executionArn"] not in arn_of:
                arn_of[e["executionArn"]] = json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]).get("id")
        return next((arn for arn, given in arn_of.items() if given == event_id), None)

    arn = ctx.wait_until(started, timeout=60, what=f"the execution for event {event_id}")
    return ctx.wait_until(lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
                          timeout=timeout, what=f"execution {arn.rsplit(':', 1)[-1]} to finish")


def execution_history(ctx: RunContext, arn: str) -> list[dict]:
    return ctx.sb.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]


def task_failures(events: list[dict], state: str) -> int:
    current, failures = None, 0
    for e in events:
        if e["type"].endswith("StateEntered"):
            current = e["stateEnteredEventDetails"]["name"]
        elif current == state and e["type"] == "TaskFailed":
            failures += 1
    return failures


def state_transitions(events: list[dict]) -> int:
    """Billable transitions of a standard workflow: one per state entered."""
    return sum(1 for e in events if e["type"].endswith("StateEntered"))


def user_exists(ctx: RunContext, user_id: str) -> bool:
    item = ctx.sb.client("dynamodb", observer=True).get_item(TableName=ctx.output("user-onboarding", "UsersTableName"),
                                                             Key={"user_id": {"S": user_id}}, ConsistentRead=True).get("Item")
    return item is not None


def drain(ctx: RunContext, queue_url: str) -> list[dict]:
    sqs = ctx.sb.client("sqs")
    out = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       MessageAttributeNames=["All"]).get("Messages", []):
        out += batch
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
    return out
