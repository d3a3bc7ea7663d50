"""lambda_alias_invoke_config: an EventInvokeConfig on an alias applies to async invokes of that alias (LocalStack
looked the config up by the version behind the alias: the alias's destinations got nothing, its retries were 2)."""

import json
import time

CODE = """
def handler(event, context):
    print(f"attempt {event['id']};")
    if event.get("fail"):
        raise RuntimeError("failed " + event["id"])
    return {"ok": event["id"]}
"""


def queue(sb, helpers, prefix):
    sqs = sb.client("sqs")
    url = sqs.create_queue(QueueName=helpers.unique(prefix))["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def receive(sb, url, wait=1) -> list[dict]:
    sqs = sb.client("sqs")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait).get("Messages", [])
    for m in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return [json.loads(m["Body"]) for m in messages]


def attempts(sb, helpers, name, event_id) -> int:
    return helpers.log_text(sb, name).count(f"attempt {event_id};")


def invoke_async(sb, name, event, **kwargs):
    resp = sb.client("lambda").invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event), **kwargs)
    assert resp["StatusCode"] == 202


def test_alias_invoke_config_sets_destinations_and_retries(sb, helpers):
    lam = sb.client("lambda")
    name = helpers.create_function(sb, CODE)
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="prod", FunctionVersion=version)
    success_url, success_arn = queue(sb, helpers, "alias-ok")
    failure_url, failure_arn = queue(sb, helpers, "alias-failed")
    latest_url, latest_arn = queue(sb, helpers, "latest-ok")
    lam.put_function_event_invoke_config(
        FunctionName=name, Qualifier="prod", MaximumRetryAttempts=0,
        DestinationConfig={"OnSuccess": {"Destination": success_arn}, "OnFailure": {"Destination": failure_arn}})
    lam.put_function_event_invoke_config(  # unqualified invokes: $LATEST's own config
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": latest_arn}})

    # a succeeding event invoked through the alias: the alias's OnSuccess
    invoke_async(sb, name, {"id": "ok-1"}, Qualifier="prod")
    [record] = helpers.wait_for(lambda: receive(sb, success_url), message="the alias's OnSuccess message")
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestPayload"] == {"id": "ok-1"} and record["responsePayload"] == {"ok": "ok-1"}

    # a failing event through the alias: MaximumRetryAttempts 0 -> one attempt, then the alias's OnFailure
    invoke_async(sb, name, {"id": "bad-1", "fail": True}, Qualifier="prod")
    [failed] = helpers.wait_for(lambda: receive(sb, failure_url), timeout=20, message="the alias's OnFailure message")
    assert failed["requestContext"]["condition"] == "RetriesExhausted"
    assert failed["requestContext"]["approximateInvokeCount"] == 1
    assert failed["requestPayload"] == {"id": "bad-1", "fail": True}
    helpers.wait_for(lambda: attempts(sb, helpers, name, "bad-1") >= 1, message="the failing attempt's log")
    time.sleep(4)  # a retry (there must be none) would run 1 s after the attempt (LAMBDA_RETRY_BASE_DELAY_SECONDS)
    assert attempts(sb, helpers, name, "bad-1") == 1

    # an unqualified invoke uses $LATEST's config, not the alias's
    invoke_async(sb, name, {"id": "ok-2"})
    [latest] = helpers.wait_for(lambda: receive(sb, latest_url), message="$LATEST's OnSuccess message")
    assert latest["requestPayload"] == {"id": "ok-2"}
    assert receive(sb, success_url) == [] and receive(sb, failure_url) == []
    assert receive(sb, latest_url) == []  # the alias's events went to the alias's queue only


def test_alias_without_config_does_not_use_its_versions(sb, helpers):
    """The config of the qualifier invoked applies: one on the version behind an alias is not the alias's."""
    lam = sb.client("lambda")
    name = helpers.create_function(sb, CODE)
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="prod", FunctionVersion=version)
    version_url, version_arn = queue(sb, helpers, "version-ok")
    lam.put_function_event_invoke_config(FunctionName=name, Qualifier=version,
                                         DestinationConfig={"OnSuccess": {"Destination": version_arn}})
    invoke_async(sb, name, {"id": "via-alias"}, Qualifier="prod")
    helpers.wait_for(lambda: attempts(sb, helpers, name, "via-alias") == 1, message="the alias invoke's log")
    invoke_async(sb, name, {"id": "via-version"}, Qualifier=version)
    [record] = helpers.wait_for(lambda: receive(sb, version_url), message="the version's OnSuccess message")
    assert record["requestPayload"] == {"id": "via-version"}
    assert receive(sb, version_url) == []


SAM_TEMPLATE = """Transform: AWS::Serverless-2016-10-31
Resources:
  Succeeded:
    Type: AWS::SQS::Queue
  Failed:
    Type: AWS::SQS::Queue
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      Handler: app.handler
      CodeUri: src/
      AutoPublishAlias: live
      EventInvokeConfig:
        MaximumRetryAttempts: 0
        DestinationConfig:
          OnSuccess: {Type: SQS, Destination: !GetAtt Succeeded.Arn}
          OnFailure: {Type: SQS, Destination: !GetAtt Failed.Arn}
Outputs:
  FunctionName: {Value: !Ref Fn}
  SucceededUrl: {Value: !Ref Succeeded}
  FailedUrl: {Value: !Ref Failed}
"""


def test_sam_auto_publish_alias_event_invoke_config(sb, helpers, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(CODE)
    template = tmp_path / "template.yaml"
    template.write_text(SAM_TEMPLATE)
    out = sb.deploy(str(template), stack_name=helpers.unique("alias-config")).outputs
    name = out["FunctionName"]
    configs = sb.client("lambda").list_function_event_invoke_configs(FunctionName=name)["FunctionEventInvokeConfigs"]
    assert [c["FunctionArn"].rsplit(":", 1)[1] for c in configs] == ["live"]

    invoke_async(sb, name, {"id": "sam-ok"}, Qualifier="live")
    [record] = helpers.wait_for(lambda: receive(sb, out["SucceededUrl"]), message="the alias's OnSuccess message")
    assert record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"] == {"ok": "sam-ok"}

    invoke_async(sb, name, {"id": "sam-bad", "fail": True}, Qualifier="live")
    [failed] = helpers.wait_for(lambda: receive(sb, out["FailedUrl"]), timeout=20,
                                message="the alias's OnFailure message")
    assert failed["requestContext"]["approximateInvokeCount"] == 1
