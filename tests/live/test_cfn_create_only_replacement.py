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
  Subscription:
    Type: AWS::SNS::Subscription
    Properties: {TopicArn: !Ref Topic, Protocol: sqs, Endpoint: !GetAtt Queue.Arn}
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
    DependsOn: [Queue, Topic, Subscription, Table, Rule, Param, Bucket, Schedule, Machine]
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
    subscriptions = sb.client("sns").list_subscriptions()["Subscriptions"]  # replaced with the topic and the queue
    assert [(s["TopicArn"].rsplit(":", 1)[-1], s["Endpoint"]) for s in subscriptions] == [("rtopic-b", out["QueueArn"])]
    # the stack lists each resource once, with the new physical id
    resources = {r["LogicalResourceId"]: r for r in sb.client("cloudformation").describe_stack_resources(
        StackName="renamed")["StackResources"]}
    assert resources["Table"]["PhysicalResourceId"] == "rtab-b"
    assert resources["Rule"]["PhysicalResourceId"].endswith("rule-b")
    assert resources["Param"]["PhysicalResourceId"] == "/app/b/p"
    assert resources["Bucket"]["PhysicalResourceId"] == "rbucket-b-x"

    sb.destroy("renamed")
    assert named(sb) == NOTHING and sb.client("sns").list_subscriptions()["Subscriptions"] == []
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


FUNCTION_APP = """Transform: AWS::Serverless-2016-10-31
Parameters: {Suffix: {Type: String, Default: a}}
Resources:
  Work: {Type: AWS::SQS::Queue}
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub "rrole-${Suffix}"
      AssumeRolePolicyDocument:
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]
      ManagedPolicyArns: [arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]
      Policies:
        - PolicyName: queue
          PolicyDocument: {Statement: [{Effect: Allow, Action: "sqs:*", Resource: !GetAtt Work.Arn}]}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "rfn-${Suffix}"
      Role: !GetAtt Role.Arn
      Runtime: python3.13
      Handler: index.handler
      InlineCode: "def handler(event, context):\\n    return 'ok'\\n"
      FunctionUrlConfig: {AuthType: NONE}
      Events:
        Jobs: {Type: SQS, Properties: {Queue: !GetAtt Work.Arn}}
Outputs:
  FunctionArn: {Value: !GetAtt Fn.Arn}
  RoleArn: {Value: !GetAtt Role.Arn}
"""


def test_a_renamed_function_and_role_are_replaced_with_what_refers_to_them(sb, tmp_path):
    """SNS topics, functions and roles were renamed by their providers' own update (deleted and created at once);
    now the engine's replacement: the mapping and the URL follow the new function, the old function and role go."""
    lam, iam = sb.client("lambda"), sb.client("iam")

    def functions() -> set[str]:
        return {f["FunctionName"] for f in lam.list_functions()["Functions"] if f["FunctionName"].startswith("rfn-")}

    def roles() -> set[str]:
        return {r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("rrole-")}

    def mappings() -> list[str]:
        return [m["FunctionArn"] for m in lam.list_event_source_mappings()["EventSourceMappings"]
                if m.get("State") != "Deleting"]

    path = tmp_path / "template.yaml"
    path.write_text(FUNCTION_APP)
    sb.deploy(str(path), stack_name="renamed-fn")
    assert functions() == {"rfn-a"} and roles() == {"rrole-a"}
    out = sb.deploy(str(path), stack_name="renamed-fn", parameters={"Suffix": "b"}).outputs
    assert functions() == {"rfn-b"} and roles() == {"rrole-b"}
    assert out["FunctionArn"].endswith(":function:rfn-b") and out["RoleArn"].endswith("/rrole-b")
    assert lam.get_function(FunctionName="rfn-b")["Configuration"]["Role"] == out["RoleArn"]
    assert iam.list_role_policies(RoleName="rrole-b")["PolicyNames"] == ["queue"]
    assert mappings() == [out["FunctionArn"]]
    assert lam.get_function_url_config(FunctionName="rfn-b")["FunctionUrl"]
    sb.destroy("renamed-fn")
    assert functions() == set() and roles() == set() and mappings() == []


def test_changed_create_only_compares_resolved_values():
    from sandbox.localstack_ext.patches.cfn_create_only_replacement import changed_create_only

    schema = {"createOnlyProperties": ["/properties/Name", "/properties/Encryption/Type", "/properties/Fifo"]}
    assert changed_create_only(schema, {"Name": "a", "Other": 1}, {"Name": "a", "Other": 2}) == []
    assert changed_create_only(schema, {"Name": "a"}, {"Name": "b"}) == ["Name"]
    assert changed_create_only(schema, {"Name": "a"}, {}) == ["Name"]  # a name left out: a generated one
    assert changed_create_only(schema, {"Fifo": "true"}, {"Fifo": True}) == []
    assert changed_create_only(schema, {"Fifo": 5}, {"Fifo": "5"}) == []
    # names are case-sensitive: a case-only change is a rename (a review found it taken for the same name)
    assert changed_create_only(schema, {"Name": "Jobs-Dev"}, {"Name": "jobs-dev"}) == ["Name"]
    assert changed_create_only(schema, {"Encryption": {"Type": "KMS", "Key": "k1"}},
                               {"Encryption": {"Type": "KMS", "Key": "k2"}}) == []
    assert changed_create_only(schema, {"Encryption": {"Type": "KMS"}}, {"Encryption": {"Type": "AES"}}) == \
        ["Encryption/Type"]
