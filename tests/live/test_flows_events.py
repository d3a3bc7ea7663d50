"""Event-driven flows end to end: EventBridge rules to Lambda and Step Functions, Step Functions Retry and Catch."""

import json

import pytest

# Records every event it receives in S3 (bucket from the environment), then returns it.
RECORDER = '''
import json, os, boto3
s3 = boto3.client("s3")
def handler(event, context):
    key = "events/" + context.aws_request_id
    s3.put_object(Bucket=os.environ["BUCKET"], Key=key, Body=json.dumps(event).encode())
    return event
'''

# Fails with FlakyError until it has been called FAILURES times for a key; the count lives in SSM.
FLAKY = '''
import os, boto3
ssm = boto3.client("ssm")
class FlakyError(Exception):
    pass
def handler(event, context):
    name = "/counters/" + event["key"]
    try:
        count = int(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        count = 0
    count += 1
    ssm.put_parameter(Name=name, Value=str(count), Type="String", Overwrite=True)
    if count <= int(os.environ["FAILURES"]):
        raise FlakyError(f"attempt {count} failed")
    return {"key": event["key"], "attempts": count}
'''

BROKEN = '''
def handler(event, context):
    raise ValueError("inventory service is gone for good")
'''


def recorded_events(sb, bucket):
    s3 = sb.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return [json.loads(s3.get_object(Bucket=bucket, Key=k)["Body"].read()) for k in keys]


def function_arn(sb, name):
    return sb.client("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]


def wait_execution(sb, helpers, execution_arn, timeout=60):
    sfn = sb.client("stepfunctions")
    return helpers.wait_for(
        lambda: (d := sfn.describe_execution(executionArn=execution_arn))["status"] != "RUNNING" and d,
        timeout=timeout, message=f"execution {execution_arn} to finish")


def history(sb, execution_arn):
    return sb.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]


@pytest.fixture
def bucket(sb, helpers):
    name = helpers.unique("flows")
    sb.client("s3").create_bucket(Bucket=name)
    return name


def test_eventbridge_rule_invokes_lambda_with_the_event(sb, helpers, bucket):
    events, lam = sb.client("events"), sb.client("lambda")
    fn = helpers.create_function(sb, RECORDER, Environment={"Variables": {"BUCKET": bucket}})
    rule_arn = events.put_rule(Name="new-orders", EventPattern=json.dumps(
        {"source": ["shop.orders"], "detail-type": ["OrderPlaced"], "detail": {"amount": [{"numeric": [">", 10]}]}}))["RuleArn"]
    lam.add_permission(FunctionName=fn, StatementId="events", Action="lambda:InvokeFunction",
                       Principal="events.amazonaws.com", SourceArn=rule_arn)
    events.put_targets(Rule="new-orders", Targets=[{"Id": "fn", "Arn": function_arn(sb, fn)}])

    resp = events.put_events(Entries=[
        {"Source": "shop.orders", "DetailType": "OrderPlaced", "Detail": json.dumps({"order_id": "small", "amount": 5})},
        {"Source": "shop.orders", "DetailType": "OrderPlaced", "Detail": json.dumps({"order_id": "big", "amount": 99})},
        {"Source": "shop.returns", "DetailType": "OrderPlaced", "Detail": json.dumps({"order_id": "other", "amount": 99})},
    ])
    assert resp["FailedEntryCount"] == 0
    [event] = helpers.wait_for(lambda: recorded_events(sb, bucket), message="the event to reach the handler")
    assert event["id"] == resp["Entries"][1]["EventId"]
    assert event["source"] == "shop.orders" and event["detail-type"] == "OrderPlaced"
    assert event["detail"] == {"order_id": "big", "amount": 99}
    assert event["resources"] == [] and event["account"] == "000000000000"
    # a later matching event arrives too, and still nothing of the two events the rule did not match
    events.put_events(Entries=[{"Source": "shop.orders", "DetailType": "OrderPlaced",
                                "Detail": json.dumps({"order_id": "later", "amount": 11})}])
    got = helpers.wait_for(lambda: len(r := recorded_events(sb, bucket)) == 2 and r, message="the second event")
    assert sorted(e["detail"]["order_id"] for e in got) == ["big", "later"]


def test_eventbridge_rule_starts_state_machine_with_input_path(sb, helpers, bucket):
    events, sfn = sb.client("events"), sb.client("stepfunctions")
    fn = helpers.create_function(sb, RECORDER, Environment={"Variables": {"BUCKET": bucket}})
    definition = {
        "StartAt": "Record",
        "States": {
            "Record": {"Type": "Task", "Resource": function_arn(sb, fn), "ResultPath": "$.recorded", "Next": "Shape"},
            "Shape": {"Type": "Pass", "Parameters": {"order.$": "$.order_id", "total.$": "$.amount"}, "End": True},
        },
    }
    machine = sfn.create_state_machine(name=helpers.unique("orders"), definition=json.dumps(definition),
                                       roleArn=helpers.ROLE)["stateMachineArn"]
    bus = helpers.unique("orders-bus")
    events.create_event_bus(Name=bus)
    events.put_rule(Name="to-sfn", EventBusName=bus, EventPattern=json.dumps({"detail-type": ["OrderPlaced"]}))
    events.put_targets(Rule="to-sfn", EventBusName=bus, Targets=[
        {"Id": "sm", "Arn": machine, "RoleArn": helpers.ROLE, "InputPath": "$.detail"}])

    events.put_events(Entries=[{"EventBusName": bus, "Source": "shop", "DetailType": "OrderPlaced",
                                "Detail": json.dumps({"order_id": "o-42", "amount": 17})}])
    [execution] = helpers.wait_for(lambda: sfn.list_executions(stateMachineArn=machine)["executions"],
                                   message="the rule to start an execution")
    done = wait_execution(sb, helpers, execution["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["input"]) == {"order_id": "o-42", "amount": 17}
    assert json.loads(done["output"]) == {"order": "o-42", "total": 17}
    assert recorded_events(sb, bucket) == [{"order_id": "o-42", "amount": 17}]  # the Lambda task got the detail


def test_state_machine_retries_flaky_task_and_catches_permanent_failure(sb, helpers):
    sfn = sb.client("stepfunctions")
    flaky = helpers.create_function(sb, FLAKY, Environment={"Variables": {"FAILURES": "2"}})
    broken = helpers.create_function(sb, BROKEN)
    definition = {
        "StartAt": "Flaky",
        "States": {
            "Flaky": {
                "Type": "Task", "Resource": function_arn(sb, flaky), "ResultPath": "$.flaky", "Next": "Broken",
                "Retry": [{"ErrorEquals": ["FlakyError"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1.0}],
            },
            "Broken": {
                "Type": "Task", "Resource": function_arn(sb, broken), "Next": "Unreachable",
                "Retry": [{"ErrorEquals": ["ValueError"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Compensate"}],
            },
            "Unreachable": {"Type": "Fail", "Error": "ShouldNotGetHere"},
            "Compensate": {"Type": "Pass", "Result": "compensated", "ResultPath": "$.outcome", "End": True},
        },
    }
    machine = sfn.create_state_machine(name=helpers.unique("retry"), definition=json.dumps(definition),
                                       roleArn=helpers.ROLE)["stateMachineArn"]
    key = helpers.unique("order")
    execution_arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"key": key}))["executionArn"]
    done = wait_execution(sb, helpers, execution_arn)
    assert done["status"] == "SUCCEEDED", done

    output = json.loads(done["output"])
    assert output["key"] == key
    assert output["flaky"] == {"key": key, "attempts": 3}  # failed twice, succeeded on the second retry
    assert output["outcome"] == "compensated"
    assert output["error"]["Error"] == "ValueError"
    assert "inventory service is gone for good" in output["error"]["Cause"]
    assert sb.client("ssm").get_parameter(Name=f"/counters/{key}")["Parameter"]["Value"] == "3"

    events = history(sb, execution_arn)
    failed = [e for e in events if e["type"] == "LambdaFunctionFailed"]
    succeeded = [e for e in events if e["type"] == "LambdaFunctionSucceeded"]
    assert [e["lambdaFunctionFailedEventDetails"]["error"] for e in failed] == ["FlakyError"] * 2 + ["ValueError"] * 2
    assert len(succeeded) == 1
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    assert entered == ["Flaky", "Broken", "Compensate"]
    assert events[-1]["type"] == "ExecutionSucceeded"


def test_state_machine_without_catch_fails_with_task_error(sb, helpers):
    sfn = sb.client("stepfunctions")
    broken = helpers.create_function(sb, BROKEN)
    definition = {"StartAt": "Broken", "States": {"Broken": {"Type": "Task", "Resource": function_arn(sb, broken),
                                                             "End": True}}}
    machine = sfn.create_state_machine(name=helpers.unique("nocatch"), definition=json.dumps(definition),
                                       roleArn=helpers.ROLE)["stateMachineArn"]
    execution_arn = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    done = wait_execution(sb, helpers, execution_arn)
    assert done["status"] == "FAILED"
    assert done["error"] == "ValueError"
    assert "inventory service is gone for good" in done["cause"]
    assert history(sb, execution_arn)[-1]["type"] == "ExecutionFailed"
