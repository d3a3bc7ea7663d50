"""cfn_create_only_replacement: a create-only property (a resource's NAME) changed in a stack update replaces the
resource, as on AWS: the new one is made, references and outputs follow it, the old one is deleted in the cleanup."""

import json
import time

import pytest
from botocore.exceptions import ClientError

RENAMED_APP = """Transform: AWS::Serverless-2016-10-31
Parameters: {Suffix: {Type: String, Default: a}}
Resources:
  Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub "rq-${Suffix}"}}
  Topic: {Type: AWS::SNS::Topic, Properties: {TopicName: !Sub "rtopic-${Suffix}"}}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "rtab-${Suffix}"
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  Rule:
    Type: AWS::Events::Rule
    Properties:
      Name: !Sub "rule-${Suffix}"
      EventPattern: {source: [x]}
      Targets: [{Id: t, Arn: !GetAtt Queue.Arn}]
  Param: {Type: AWS::SSM::Parameter, Properties: {Name: !Sub "/app/${Suffix}/p", Type: String, Value: v}}
  Bucket: {Type: AWS::S3::Bucket, Properties: {BucketName: !Sub "rbucket-${Suffix}-x"}}
  Schedule:
    Type: AWS::Scheduler::Schedule
    Properties:
      Name: !Sub "sched-${Suffix}"
      ScheduleExpression: rate(1 hour)
      FlexibleTimeWindow: {Mode: "OFF"}
      Target: {Arn: !GetAtt Queue.Arn, RoleArn: arn:aws:iam::000000000000:role/scheduler}
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: !Sub "sm-${Suffix}"
      Definition: {StartAt: Done, States: {Done: {Type: Pass, End: true}}}
      Policies: []
"""
OUTPUTS = """Outputs:
  QueueUrl: {Value: !Ref Queue}
  QueueArn: {Value: !GetAtt Queue.Arn}
  TopicName: {Value: !GetAtt Topic.TopicName}
  TableArn: {Value: !GetAtt Table.Arn}
  RuleArn: {Value: !GetAtt Rule.Arn}
  Param: {Value: !Ref Param}
  Bucket: {Value: !Ref Bucket}
  ScheduleArn: {Value: !GetAtt Schedule.Arn}
  MachineName: {Value: !GetAtt Machine.Name}
  MachineArn: {Value: !Ref Machine}
"""
# runs after every renamed resource is replaced, and fails (a FIFO queue's name must end in .fifo)
BROKEN = """  Broken:
    Type: AWS::SQS::Queue
    DependsOn: [Queue, Topic, Table, Rule, Param, Bucket, Schedule, Machine]
    Properties: {FifoQueue: true, QueueName: not-a-fifo-name}
"""


def named(sb) -> dict[str, set[str]]:
    """The names of what the app makes (of either suffix) that exist."""
    sqs, ddb, events, s3 = (sb.client(s) for s in ("sqs", "dynamodb", "events", "s3"))
    ssm, scheduler, sfn, sns = (sb.client(s) for s in ("ssm", "scheduler", "stepfunctions", "sns"))
    params = set()
    for name in ("/app/a/p", "/app/b/p"):
        try:
            params.add(ssm.get_parameter(Name=name)["Parameter"]["Name"])
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ParameterNotFound"
    return {
        "queues": {u.rsplit("/", 1)[-1] for u in sqs.list_queues(QueueNamePrefix="rq-").get("QueueUrls", [])},
        "topics": {t["TopicArn"].rsplit(":", 1)[-1] for t in sns.list_topics()["Topics"]
                   if t["TopicArn"].rsplit(":", 1)[-1].startswith("rtopic-")},
        "tables": {t for t in ddb.list_tables()["TableNames"] if t.startswith("rtab-")},
        "rules": {r["Name"] for r in events.list_rules(NamePrefix="rule-")["Rules"]},
        "params": params,
        "buckets": {b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("rbucket-")},
        "schedules": {s["Name"] for s in scheduler.list_schedules(NamePrefix="sched-")["Schedules"]},
        "machines": {m["name"] for m in sfn.list_state_machines()["stateMachines"] if m["name"].startswith("sm-")},
    }


def expected(suffix: str) -> dict[str, set[str]]:
    return {"queues": {f"rq-{suffix}"}, "topics": {f"rtopic-{suffix}"}, "tables": {f"rtab-{suffix}"},
            "rules": {f"rule-{suffix}"}, "params": {f"/app/{suffix}/p"}, "buckets": {f"rbucket-{suffix}-x"},
            "schedules": {f"sched-{suffix}"}, "machines": {f"sm-{suffix}"}}


NOTHING = {k: set() for k in expected("a")}


def routed_to(sb, queue_url: str, marker: str) -> bool:
    """An event of source x put on the default bus reaches the queue."""
    sb.client("events").put_events(Entries=[{"Source": "x", "DetailType": "t", "Detail": json.dumps({"m": marker})}])
    sqs = sb.client("sqs")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", []):
            if marker in message["Body"]:
                return True
    return False


def test_a_renamed_resource_is_replaced_and_the_old_one_deleted(sb, tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(RENAMED_APP + OUTPUTS)
    first = sb.deploy(str(path), stack_name="renamed")
    assert named(sb) == expected("a")
    ddb = sb.client("dynamodb")
    ddb.put_item(TableName="rtab-a", Item={"pk": {"S": "kept?"}})

    second = sb.deploy(str(path), stack_name="renamed", parameters={"Suffix": "b"})
    assert named(sb) == expected("b")  # the new ones made, the old ones deleted in the cleanup
    assert not [w for w in second.warnings if "NOT APPLIED" in w or "not applied" in w], second.warnings
    out = second.outputs
    assert out["QueueUrl"].rstrip("/").endswith("/rq-b") and out["QueueArn"].endswith(":rq-b")
    assert out["TopicName"] == "rtopic-b"
    assert out["TableArn"].endswith(":table/rtab-b")
    assert out["RuleArn"].endswith(":rule/rule-b")
    assert out["Param"] == "/app/b/p"
    assert out["Bucket"] == "rbucket-b-x"
    assert out["ScheduleArn"].endswith("/sched-b")
    assert out["MachineName"] == "sm-b" and out["MachineArn"].endswith(":stateMachine:sm-b")
    assert out["MachineArn"] != first.outputs["MachineArn"]
    # the table is a new one: the data went with the old one, as on AWS
    assert ddb.scan(TableName="rtab-b")["Items"] == []
    # references follow: the new rule routes to the new queue, the schedule targets it
    assert routed_to(sb, out["QueueUrl"], "after-rename")
    assert sb.client("events").list_targets_by_rule(Rule="rule-b")["Targets"][0]["Arn"] == out["QueueArn"]
    assert sb.client("scheduler").get_schedule(Name="sched-b")["Target"]["Arn"] == out["QueueArn"]
    # the stack lists each resource once, with the new physical id
    resources = {r["LogicalResourceId"]: r for r in sb.client("cloudformation").describe_stack_resources(
        StackName="renamed")["StackResources"]}
    assert resources["Table"]["PhysicalResourceId"] == "rtab-b"
    assert resources["Rule"]["PhysicalResourceId"].endswith("rule-b")
    assert resources["Param"]["PhysicalResourceId"] == "/app/b/p"
    assert resources["Bucket"]["PhysicalResourceId"] == "rbucket-b-x"

    sb.destroy("renamed")
    assert named(sb) == NOTHING
    # nothing leaked blocks the original app (the name-clash check, a leaked rule-a, said "taken")
    again = sb.deploy(str(path), stack_name="renamed", parameters={"Suffix": "a"})
    assert named(sb) == expected("a") and again.outputs["MachineName"] == "sm-a"
    assert routed_to(sb, again.outputs["QueueUrl"], "redeployed")
    sb.destroy("renamed")
    assert named(sb) == NOTHING


def test_a_failed_update_after_a_rename_keeps_the_old_resources(sb, tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(RENAMED_APP + OUTPUTS)
    first = sb.deploy(str(path), stack_name="renamed-rollback")
    assert named(sb) == expected("a")

    path.write_text(RENAMED_APP + BROKEN + OUTPUTS)
    with pytest.raises(Exception, match="rolled back"):
        sb.deploy(str(path), stack_name="renamed-rollback", parameters={"Suffix": "b"})
    assert named(sb) == expected("a")  # the replacements made before the failure are deleted, the old ones kept
    stack = sb.client("cloudformation").describe_stacks(StackName="renamed-rollback")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["MachineName"] == "sm-a"
    assert routed_to(sb, first.outputs["QueueUrl"], "rolled-back")

    sb.destroy("renamed-rollback")
    assert named(sb) == NOTHING
