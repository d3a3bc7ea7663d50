"""Resources a template names that already exist outside the stack.

On AWS, CloudFormation fails a create whose explicit name is taken ("... already exists"). LocalStack 2026.3.0's
providers for these types answer with the existing resource instead (SQS CreateQueue, SNS CreateTopic and S3
CreateBucket are idempotent for the same account; EventBridge PutRule overwrites): two stacks then share one queue,
topic, bucket or rule, and destroying either deletes what the other still uses. A newcomer deploying one template
under several stack names met it with a rule `Name`. Refused before anything is created, as AWS would fail it.

Only names the template gives literally, or through Ref/Fn::Sub/Fn::Join of parameters and pseudo parameters, are
checked; a generated name cannot collide.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from sandbox.deploy.intrinsics import literal

# type -> the property that names it
NAME_PROPERTIES = {
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Events::Rule": "Name",
}


def named(template: dict, values: dict[str, str]) -> list[tuple[str, str, str, dict]]:
    """(logical id, type, name, properties) of each resource of NAME_PROPERTIES' types the template names."""
    out = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict) or resource.get("Condition"):
            # Fn::ForEach::* (AWS::LanguageExtensions) is not a resource; one with a Condition may not be created
            continue
        rtype = str(resource.get("Type", ""))
        prop = NAME_PROPERTIES.get(rtype)
        props = resource.get("Properties") or {}
        if not (prop and isinstance(props, dict) and prop in props):
            continue
        if rtype == "AWS::Events::Rule" and "EventBusName" in props and not literal(props["EventBusName"], values):
            continue  # on a bus the template makes: names are unique per bus, and that one is new
        name = literal(props[prop], values)
        if name:
            out.append((logical_id, rtype, name, props))
    return out


def exists(sandbox, region: str, account: str, rtype: str, name: str, props: dict, values: dict) -> bool:
    client = sandbox.client(
        {"AWS::SQS::Queue": "sqs", "AWS::SNS::Topic": "sns", "AWS::S3::Bucket": "s3", "AWS::Events::Rule": "events"}[
            rtype], region=region, observer=True)
    try:
        if rtype == "AWS::SQS::Queue":
            client.get_queue_url(QueueName=name)
        elif rtype == "AWS::SNS::Topic":
            client.get_topic_attributes(TopicArn=f"arn:aws:sns:{region}:{account}:{name}")
        elif rtype == "AWS::S3::Bucket":
            client.head_bucket(Bucket=name)
        else:
            bus = literal(props.get("EventBusName"), values) if "EventBusName" in props else None
            client.describe_rule(Name=name, **({"EventBusName": bus} if bus else {}))
    except ClientError:
        return False
    except Exception:  # noqa: BLE001 - a name the API would refuse (botocore's own check): CloudFormation's to say
        return False
    return True


def known_values(template: dict, parameters: dict[str, str], stack_name: str, region: str, account: str) -> dict:
    """Parameter and pseudo-parameter values a name can be made of. An SSM-typed parameter's value is the SSM
    parameter's, not the path its default gives: unknown here."""
    declared = {k: v for k, v in (template.get("Parameters") or {}).items() if isinstance(v, dict)}
    ssm = {k for k, v in declared.items() if str(v.get("Type", "")).startswith("AWS::SSM::Parameter::Value")}
    return {**{k: str(v.get("Default")) for k, v in declared.items() if v.get("Default") is not None and k not in ssm},
            **{k: str(v) for k, v in parameters.items() if k not in ssm},
            "AWS::StackName": stack_name, "AWS::Region": region, "AWS::AccountId": account,
            "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}


def conflicts(sandbox, template: dict, parameters: dict[str, str], stack_name: str, region: str, account: str,
              own) -> list[str]:
    """"LogicalId (Type Name)" of each named resource that exists and is not this stack's own (`own()`: logical id ->
    type of the resources the stack has now, empty for a new stack; asked only when the template names something)."""
    values = known_values(template, parameters, stack_name, region, account)
    found = named(template, values)
    if not found:
        return []
    mine = own()
    return [f"{logical_id} ({rtype} {name})" for logical_id, rtype, name, props in found
            if mine.get(logical_id) != rtype and exists(sandbox, region, account, rtype, name, props, values)]
