"""`sandbox deploy`: user SAM templates with local code, failures that leave nothing behind, redeploys."""

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests

from sandbox.deploy import DeployError

BIN = Path(sys.executable).parent

ARTICLE_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Description: The article's first pattern, as a user would write it.
Parameters:
  Greeting:
    Type: String
    Default: hello
Resources:
  ItemsTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
  CreateItemFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.lambda_handler
      CodeUri: src/
      Environment:
        Variables:
          TABLE_NAME: !Ref ItemsTable
          GREETING: !Ref Greeting
      Policies:
        - DynamoDBCrudPolicy: {TableName: !Ref ItemsTable}
      Events:
        CreateItem:
          Type: Api
          Properties: {Path: /items, Method: post}
Outputs:
  ApiUrl:
    Value: !Sub "https://${ServerlessRestApi}.execute-api.${AWS::Region}.amazonaws.com/Prod/"
  TableName:
    Value: !Ref ItemsTable
"""

ARTICLE_HANDLER = """
import json, os, uuid
import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def lambda_handler(event, context):
    body = json.loads(event["body"])
    item = {"id": str(uuid.uuid4()), "payload": body}
    table.put_item(Item=item)
    return {"statusCode": 201, "body": json.dumps({"id": item["id"], "greeting": os.environ["GREETING"]})}
"""


def write_app(root: Path, template: str = ARTICLE_TEMPLATE, handler: str = ARTICLE_HANDLER) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "template.yaml").write_text(textwrap.dedent(template))
    (root / "src" / "app.py").write_text(textwrap.dedent(handler))
    return root


def post_item(api_url: str, payload: dict) -> requests.Response:
    return requests.post(api_url.rstrip("/") + "/items", json=payload, timeout=30)


def test_user_sam_template_with_local_code_deploys_and_works(sb, tmp_path):
    app = write_app(tmp_path / "my-app")
    events = []
    result = sb.deploy(str(app), on_event=events.append)
    assert result.stack_name == "my-app" and result.status == "CREATE_COMPLETE"
    api = result.outputs["ApiUrl"]
    assert api.startswith(f"{sb.endpoint}/_aws/execute-api/") and api.endswith("/Prod/")
    assert any(e.resource_type == "AWS::Lambda::Function" and e.status == "CREATE_COMPLETE" for e in events)

    resp = post_item(api, {"name": "widget"})
    assert resp.status_code == 201, resp.text
    item_id = resp.json()["id"]
    stored = sb.client("dynamodb").get_item(TableName=result.outputs["TableName"], Key={"id": {"S": item_id}})
    assert stored["Item"]["payload"]["M"]["name"]["S"] == "widget"


def test_redeploy_with_changed_code_changes_behaviour(sb, tmp_path):
    app = write_app(tmp_path / "app")
    first = sb.deploy(str(app), stack_name="redeploy")
    assert post_item(first.outputs["ApiUrl"], {}).json()["greeting"] == "hello"
    (app / "src" / "app.py").write_text(ARTICLE_HANDLER.replace('os.environ["GREETING"]', '"changed"'))
    second = sb.deploy(str(app), stack_name="redeploy")
    assert second.status == "UPDATE_COMPLETE"
    assert post_item(second.outputs["ApiUrl"], {}).json()["greeting"] == "changed"


def test_parameters_are_passed_and_unknown_ones_refused(sb, tmp_path):
    app = write_app(tmp_path / "app")
    result = sb.deploy(str(app), stack_name="params", parameters={"Greeting": "ahoy"})
    assert post_item(result.outputs["ApiUrl"], {}).json()["greeting"] == "ahoy"
    with pytest.raises(DeployError, match=r"unknown parameter\(s\) Nope. Valid: Greeting"):
        sb.deploy(str(app), stack_name="params", parameters={"Nope": "x"})


def test_failing_resource_is_named_and_nothing_is_left_behind(sb, tmp_path):
    template = """
    AWSTemplateFormatVersion: "2010-09-09"
    Resources:
      Queue:
        Type: AWS::SQS::Queue
        Properties: {QueueName: survives-if-leaky}
      BrokenTable:
        Type: AWS::DynamoDB::Table
        DependsOn: Queue
        Properties:
          BillingMode: PAY_PER_REQUEST
          AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
          KeySchema: [{AttributeName: other, KeyType: HASH}]
    """
    app = tmp_path / "broken"
    app.mkdir()
    (app / "template.yaml").write_text(textwrap.dedent(template))
    with pytest.raises(DeployError) as err:
        sb.deploy(str(app))
    message = str(err.value)
    assert "BrokenTable (AWS::DynamoDB::Table)" in message
    assert "AttributeDefinitions" in message
    assert "nothing is left behind" in message
    assert sb.stacks() == []
    assert sb.client("sqs").list_queues().get("QueueUrls", []) == []


UPDATED_APP = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: src/, Handler: app.handler, Runtime: python3.12}
  Queue:
    Type: AWS::SQS::Queue
EXTRA
Outputs:
  FnName: {Value: !Ref Fn}
  QueueUrl: {Value: !Ref Queue}
"""


ROLLBACK_APP = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting: {Type: String, Default: hi}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Environment: {Variables: {GREETING: !Ref Greeting}}
RESOURCES
"""
KEPT = """  Keep:
    Type: AWS::SQS::Queue
Outputs:
  FnName: {Value: !Ref Fn}
  KeepUrl: {Value: !Ref Keep}
"""
FAILING = """  Extra:
    Type: AWS::SQS::Queue
    DependsOn: Fn
  BadTable:
    Type: AWS::DynamoDB::Table
    DependsOn: Extra
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: nothere, KeyType: HASH}]
Outputs:
  FnName: {Value: !Ref Fn}
"""


def test_a_failed_update_is_rolled_back_as_on_aws(sb, tmp_path):
    """An update that changes the function's code and a parameter, removes a queue, adds one, then fails on a table:
    the deploy fails naming the table, and the stack is as before (patch cfn_update_rollback): its code, parameter,
    queue and outputs back, the added queue gone, UPDATE_ROLLBACK_COMPLETE. LocalStack alone ended it in
    UPDATE_COMPLETE with no outputs and the queue deleted, and every later update of the stack failed."""
    app = tmp_path / "rollback"
    (app / "src").mkdir(parents=True)

    def version(code: str, resources: str) -> None:
        (app / "src" / "app.py").write_text(f"import os\ndef handler(event, context):\n"
                                            f"    return ['{code}', os.environ['GREETING']]\n")
        (app / "template.yaml").write_text(ROLLBACK_APP.replace("RESOURCES", resources))

    def answer(fn: str) -> list:
        return json.loads(sb.client("lambda").invoke(FunctionName=fn)["Payload"].read())

    version("v1", KEPT)
    first = sb.deploy(str(app), stack_name="rollback", parameters={"Greeting": "hello"})
    version("v2", FAILING)
    with pytest.raises(DeployError) as err:
        sb.deploy(str(app), stack_name="rollback", parameters={"Greeting": "bye"})
    message = str(err.value)
    assert "BadTable (AWS::DynamoDB::Table)" in message and "AttributeDefinitions" in message
    assert "The update was rolled back, as on AWS" in message
    stack = sb.client("cloudformation").describe_stacks(StackName="rollback")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert stack["Parameters"] == [{"ParameterKey": "Greeting", "ParameterValue": "hello"}]
    assert sb.stacks()[0]["outputs"] == first.outputs
    assert answer(first.outputs["FnName"]) == ["v1", "hello"]
    queues = sb.client("sqs").list_queues().get("QueueUrls", [])
    assert queues == [first.outputs["KeepUrl"]], queues  # the kept queue, not the added one
    resources = sb.client("cloudformation").describe_stack_resources(StackName="rollback")["StackResources"]
    assert sorted(r["LogicalResourceId"] for r in resources) == ["Fn", "FnRole", "Keep"]
    # and the stack can be updated again (it could not: KeyError 'ResourceStatus')
    version("v3", KEPT)
    assert sb.deploy(str(app), stack_name="rollback", parameters={"Greeting": "hey"}).status == "UPDATE_COMPLETE"
    assert answer(first.outputs["FnName"]) == ["v3", "hey"]


def test_a_template_cloudformation_refuses_leaves_no_stack(sb, tmp_path):
    """LocalStack registers a new stack before it validates the template: a refused one stayed in
    CREATE_IN_PROGRESS, and the next deploy updated that ghost (whose resources `destroy` then left behind)."""
    app = tmp_path / "refused"
    (app / "src").mkdir(parents=True)
    (app / "src" / "app.py").write_text("def handler(event, context):\n    return 'ok'\n")
    (app / "template.yaml").write_text(UPDATED_APP.replace("EXTRA", """  Reader:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Policies:
        - S3ReadPolicy:
            BucketName: !Ref NoSuchBucket"""))
    with pytest.raises(DeployError, match=r"refused the template: .*NoSuchBucket"):
        sb.deploy(str(app), stack_name="refused")
    assert sb.stacks() == []
    (app / "template.yaml").write_text(UPDATED_APP.replace("EXTRA", ""))
    result = sb.deploy(str(app), stack_name="refused")
    assert result.status == "CREATE_COMPLETE"
    assert sb.destroy("refused")
    assert sb.client("lambda").list_functions()["Functions"] == []
    assert sb.client("sqs").list_queues().get("QueueUrls", []) == []


def test_unsupported_resource_type_is_named_before_anything_is_created(sb, tmp_path):
    template = """
    Resources:
      Topic:
        Type: AWS::SNS::Topic
      Cluster:
        Type: AWS::EKS::Cluster
        Properties: {RoleArn: arn:aws:iam::000000000000:role/x, ResourcesVpcConfig: {SubnetIds: []}}
    """
    (tmp_path / "template.yaml").write_text(textwrap.dedent(template))
    with pytest.raises(DeployError, match=r"Cluster \(AWS::EKS::Cluster\)"):
        sb.deploy(str(tmp_path), stack_name="unsupported")
    assert sb.stacks() == []
    assert sb.client("sns").list_topics()["Topics"] == []


def test_malformed_template_and_missing_code_are_clear_errors(sb, tmp_path):
    (tmp_path / "bad.yaml").write_text("Resources:\n  Fn: [unclosed\n")
    with pytest.raises(DeployError, match="not a valid YAML/JSON template"):
        sb.deploy(str(tmp_path / "bad.yaml"))
    app = write_app(tmp_path / "nocode")
    (app / "src" / "app.py").unlink()
    (app / "src").rmdir()
    with pytest.raises(DeployError, match="packaging template.yaml failed"):
        sb.deploy(str(app))
    with pytest.raises(DeployError, match="neither a template file nor a built-in pattern"):
        sb.deploy("no-such-pattern-or-file")


def test_cli_deploy_stacks_destroy(sb, tmp_path):
    app = write_app(tmp_path / "cli-app")
    base = [str(BIN / "sandbox"), "--state-dir", str(sb.settings.state_dir)]
    done = subprocess.run([*base, "deploy", str(app), "--json", "--param", "Greeting=hi"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["stack_name"] == "cli-app" and result["outputs"]["ApiUrl"].startswith(sb.endpoint)
    listed = json.loads(subprocess.run([*base, "stacks", "--json"], capture_output=True, text=True).stdout)
    assert [s["name"] for s in listed] == ["cli-app"]
    # the function's logs by the template's logical id, as `sam logs -n` takes it
    logs = subprocess.run([*base, "logs", "CreateItemFunction", "-n", "5"], capture_output=True, text=True, timeout=60)
    assert logs.returncode == 0 and "no log lines of cli-app-CreateItemFunction-" in logs.stderr, logs.stderr
    done = subprocess.run([*base, "destroy", "cli-app"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "destroyed stack cli-app" in done.stdout
    assert sb.stacks() == []
    assert sb.client("lambda").list_functions()["Functions"] == []
    again = subprocess.run([*base, "destroy", "cli-app"], capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "no stack named 'cli-app'" in again.stderr
    bad = subprocess.run([*base, "deploy", str(app), "--param", "novalue"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Invalid value for --param: 'novalue' is not KEY=VALUE" in bad.stderr  # usage


def test_parameter_constraints_are_checked_before_deploying(sb, tmp_path):
    template = """
    Parameters:
      Mode: {Type: String, Default: none, AllowedValues: [none, transient]}
      Count: {Type: Number, Default: 2, MinValue: 1, MaxValue: 5}
      Name: {Type: String, Default: ok, AllowedPattern: "[a-z]+", ConstraintDescription: lower-case letters}
    Resources:
      Topic: {Type: AWS::SNS::Topic}
    """
    (tmp_path / "template.yaml").write_text(textwrap.dedent(template))
    with pytest.raises(DeployError) as err:
        sb.deploy(str(tmp_path), stack_name="constraints", parameters={"Mode": "always", "Count": "9", "Name": "Bad1"})
    message = str(err.value)
    assert "Mode='always' is not one of none, transient" in message
    assert "Count=9 is above MaxValue 5" in message
    assert "Name='Bad1' does not match [a-z]+ (lower-case letters)" in message
    assert sb.stacks() == [] and sb.client("sns").list_topics()["Topics"] == []
    assert sb.deploy(str(tmp_path), stack_name="constraints").status == "CREATE_COMPLETE"


def test_deploy_all_patterns_in_dependency_waves(sb):
    from sandbox.deploy.bulk import select, waves

    order = [[p.name for p in wave] for wave in waves(select(["stream-audit"]))]
    assert order == [["crud-api"], ["stream-audit"]]
    progress = []
    results, seconds = sb.deploy_patterns(["all"], on_progress=lambda name, msg: progress.append((name, msg)))
    assert sorted(r.stack_name for r in results) == ["crud-api", "media-pipeline", "stream-audit", "user-onboarding"]
    assert all(r.status == "CREATE_COMPLETE" for r in results)
    assert ("stream-audit", "deploying") in progress
    assert progress.index(("stream-audit", "deploying")) > max(
        i for i, (name, msg) in enumerate(progress) if name == "crud-api")


def test_a_stack_still_being_created_is_waited_for_before_it_is_updated_or_deleted(sb, helpers):
    """A deploy interrupted by Ctrl-C goes on in LocalStack. The next deploy sent UpdateStack beside the running create
    (AWS refuses it), and `destroy` a DeleteStack that the create undid when it finished: the stack came back, and its
    resources with it."""
    cfn, name = sb.client("cloudformation"), helpers.unique("busy")
    resources = {f"Q{i}": {"Type": "AWS::SQS::Queue"} for i in range(6)}
    resources.update({f"T{i}": {"Type": "AWS::DynamoDB::Table", "Properties": {
        "BillingMode": "PAY_PER_REQUEST", "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}} for i in range(4)})
    cfn.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": resources}))
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "CREATE_IN_PROGRESS"
    assert sb.destroy(name)
    time.sleep(3)  # what the create would have done after the delete
    assert [s["name"] for s in sb.stacks()] == []
    assert sb.client("sqs").list_queues().get("QueueUrls", []) == []
    assert sb.client("dynamodb").list_tables()["TableNames"] == []


def test_a_name_another_stack_has_is_refused_as_on_aws_and_the_owner_still_updates(sb, tmp_path):
    """LocalStack answers CreateQueue, PutRule... with the existing resource: two stacks shared a queue and a rule, and
    destroying one deleted what the other used. AWS fails the second create ("already exists")."""
    template = """
    Parameters:
      Env: {Type: String, Default: dev}
    Resources:
      Jobs:
        Type: AWS::SQS::Queue
        Properties: {QueueName: !Sub "jobs-${Env}", VisibilityTimeout: %d}
      Nightly:
        Type: AWS::Events::Rule
        Properties: {Name: nightly-report, ScheduleExpression: rate(1 day), State: DISABLED}
      Own:
        Type: AWS::SQS::Queue
        Properties: {QueueName: !Sub "${AWS::StackName}-own"}
    """
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(template % 30))
    sb.deploy(str(path), stack_name="first")
    with pytest.raises(DeployError) as refused:
        sb.deploy(str(path), stack_name="second")
    assert "Jobs (AWS::SQS::Queue jobs-dev), Nightly (AWS::Events::Rule nightly-report)" in str(refused.value)
    assert "already exists" in str(refused.value)
    assert [s["name"] for s in sb.stacks()] == ["first"]
    with pytest.raises(DeployError, match=r"outside this stack: Nightly \(AWS::Events::Rule nightly-report\)\. "):
        sb.deploy(str(path), stack_name="second", parameters={"Env": "test"})  # the queue's name is free then
    path.write_text(textwrap.dedent(template % 45))  # the owner updates its own named resources
    assert sb.deploy(str(path), stack_name="first").status == "UPDATE_COMPLETE"


def test_a_stuck_stack_or_an_unexecuted_change_set_is_destroyed_without_a_long_wait(sb, helpers, monkeypatch):
    """A template LocalStack refused after registering the stack leaves it CREATE_IN_PROGRESS for good; a change set
    never executed leaves it REVIEW_IN_PROGRESS. `destroy` waited its whole timeout (300 s) on either, then failed."""
    from botocore.exceptions import ClientError

    from sandbox.deploy import deployer

    monkeypatch.setattr(deployer, "STUCK_AFTER", 2.0)
    cfn = sb.client("cloudformation")
    ghost, review = helpers.unique("ghost"), helpers.unique("review")
    with pytest.raises(ClientError):
        cfn.create_stack(StackName=ghost, TemplateBody=json.dumps(
            {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "Nope"}}}}}))
    assert cfn.describe_stacks(StackName=ghost)["Stacks"][0]["StackStatus"] == "CREATE_IN_PROGRESS"
    cfn.create_change_set(StackName=review, ChangeSetName="never", ChangeSetType="CREATE",
                          TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}))
    helpers.wait_for(lambda: cfn.describe_stacks(StackName=review)["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS",
                     message="the change set's stack")
    started = time.monotonic()
    waits = []
    assert sb.destroy(review, on_event=waits.append) and waits == []  # nothing runs on it: no wait
    assert sb.destroy(ghost, on_event=waits.append)
    assert [e.status for e in waits] == ["CREATE_IN_PROGRESS"] and time.monotonic() - started < 30
    assert sb.stacks() == []


def test_a_stack_whose_export_another_imports_is_not_destroyed(sb, tmp_path):
    """As on AWS ("Export ... cannot be deleted as it is in use by ..."). LocalStack deleted it and recorded no import:
    the importer's subscription kept pointing at the deleted topic."""
    (tmp_path / "exporter.yaml").write_text("""Resources:
  Topic: {Type: AWS::SNS::Topic}
Outputs:
  TopicArn:
    Value: !Ref Topic
    Export: {Name: !Sub '${AWS::StackName}-TopicArn'}
""")
    (tmp_path / "importer.yaml").write_text("""Parameters:
  Source: {Type: String, Default: orders-core}
Resources:
  Inbox: {Type: AWS::SQS::Queue}
  Subscription:
    Type: AWS::SNS::Subscription
    Properties:
      Protocol: sqs
      Endpoint: !GetAtt Inbox.Arn
      TopicArn: !ImportValue {'Fn::Sub': '${Source}-TopicArn'}
""")
    sb.deploy(str(tmp_path / "exporter.yaml"), stack_name="orders-core")
    sb.deploy(str(tmp_path / "importer.yaml"), stack_name="orders-audit")
    with pytest.raises(DeployError, match=r"orders-core cannot be deleted while other stacks use its exports, as on "
                                          r"AWS: export orders-core-TopicArn is imported by orders-audit\. "
                                          r"Destroy orders-audit first"):
        sb.destroy("orders-core")
    assert {"orders-core", "orders-audit"} <= {s["name"] for s in sb.stacks()}
    # an update may not change or drop an export in use (LocalStack changed it; the importer kept the old value)
    exporter = (tmp_path / "exporter.yaml").read_text()
    cfn = sb.client("cloudformation")
    before = {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]}
    for changed, why in ((exporter.replace("Value: !Ref Topic", "Value: !GetAtt Topic.TopicName"), "its Value changes"),
                         (exporter.replace("    Export: {Name: !Sub '${AWS::StackName}-TopicArn'}\n", ""),
                          "the template no longer exports it")):
        (tmp_path / "exporter.yaml").write_text(changed)
        with pytest.raises(DeployError, match=rf"Cannot update export orders-core-TopicArn as it is in use by "
                                              rf"orders-audit \({why}\)\. Nothing was changed"):
            sb.deploy(str(tmp_path / "exporter.yaml"), stack_name="orders-core")
        assert {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]} == before
    (tmp_path / "exporter.yaml").write_text(exporter + "  Other:\n    Value: !GetAtt Topic.TopicName\n")
    sb.deploy(str(tmp_path / "exporter.yaml"), stack_name="orders-core")  # the export as it was: fine
    assert sb.destroy("orders-audit") and sb.destroy("orders-core")


@pytest.mark.parametrize("template, said", [
    ("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {Runtime: python3.13, Handler: a.b, "
     "InlineCode: 'def b(e, c): pass'}\n", "has no `Transform: AWS::Serverless-2016-10-31` line"),
    ("Resources:\n  Jobs: {Type: AWS::SQS::Queue, DependsOn: Missing}\n", "Jobs DependsOn Missing"),
    ("Resources:\n  A: {Type: AWS::SQS::Queue, Properties: {QueueName: !GetAtt B.QueueName}}\n"
     "  B: {Type: AWS::SQS::Queue, Properties: {QueueName: !GetAtt A.QueueName}}\n",
     "resources depend on each other in a circle: A, B"),
    ("Resources:\n  A: {Type: AWS::SQS::Queue, DependsOn: B}\n  B: {Type: AWS::SQS::Queue, DependsOn: A}\n",
     "resources depend on each other in a circle: A, B"),
    ("Resources:\n  Jobs: {Type: AWS::SQS::Queue, Properties: {VisibilityTimeOut: 60}}\n",
     "VisibilityTimeOut is not a property of AWS::SQS::Queue (did you mean VisibilityTimeout?)"),
    ("Transform: AWS::Serverless-2016-10-31\nResources:\n  Flow:\n    Type: AWS::Serverless::StateMachine\n"
     "    Properties:\n      Definition: {StartAt: P, States: {P: {Type: Pass, Result: '${QueueUrl}', End: true}}}\n"
     "      DefinitionSubstitutions: {JobsQueueUrl: x}\n",
     "uses ${QueueUrl} (did you mean JobsQueueUrl?) but DefinitionSubstitutions has no such key"),
])
def test_a_template_aws_refuses_is_refused_before_anything_is_created(sb, tmp_path, template, said):
    """LocalStack 2026.3.0 'deployed' each: SAM types without the transform as no-ops, a DependsOn on nothing as a
    rolled-back create reported CREATE_COMPLETE, a misspelt property by ignoring it (the queue had the default), a
    GetAtt circle as "maximum recursion depth exceeded" then CREATE_COMPLETE, a DependsOn circle with a queue made twice
    (one of them outside the stack)."""
    path = tmp_path / "template.yaml"
    path.write_text(template)
    with pytest.raises(DeployError) as err:
        sb.deploy(str(path), stack_name="refused-template")
    assert said in str(err.value)
    stacks = sb.client("cloudformation").list_stacks()["StackSummaries"]
    assert not [s for s in stacks if s["StackName"] == "refused-template" and s["StackStatus"] != "DELETE_COMPLETE"]
    assert not sb.client("sqs").list_queues().get("QueueUrls")


def test_an_ssm_parameter_that_does_not_exist_is_named(sb, tmp_path):
    """LocalStack said "Parameter Greeting should either have input value or default value" for a parameter of type
    AWS::SSM::Parameter::Value<String> naming an SSM parameter that does not exist (found by a user's own app); AWS
    says "Parameters: [/myapp/missing] cannot be found."."""
    path = tmp_path / "template.yaml"
    path.write_text("Parameters:\n  Greeting: {Type: 'AWS::SSM::Parameter::Value<String>', Default: /myapp/greeting}\n"
                    "Resources:\n  Q: {Type: AWS::SQS::Queue, Properties: {Tags: [{Key: g, Value: !Ref Greeting}]}}\n")
    with pytest.raises(DeployError, match=r"Parameters: \[/myapp/missing\] cannot be found \(as AWS words it\)"):
        sb.deploy(str(path), stack_name="ssm-param", parameters={"Greeting": "/myapp/missing"})
    assert not sb.client("sqs").list_queues().get("QueueUrls")
    sb.client("ssm").put_parameter(Name="/myapp/greeting", Value="hello", Type="String")
    sb.deploy(str(path), stack_name="ssm-param")
    [url] = sb.client("sqs").list_queues()["QueueUrls"]
    assert sb.client("sqs").list_queue_tags(QueueUrl=url)["Tags"] == {"g": "hello"}
