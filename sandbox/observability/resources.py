"""Which resource a request acts on, as an ARN where one can be built from the request parameters alone.

`resource_of` sees the parsed request (`context.service_request`) and answers (resource, short name):
FunctionName, QueueUrl/QueueName, Bucket/Key, TableName, StateMachineArn, TopicArn, EventBusName, RestApiId,
... Only string work, no lookups: it runs for every request. `node_of` maps a resource to its node in the
service map (an S3 object to its bucket, a qualified function ARN to the function).
"""

from __future__ import annotations

from urllib.parse import unquote


def lambda_arn(name_or_arn: str, account: str, region: str) -> tuple[str, str]:
    """(unqualified function ARN, function name) of a FunctionName parameter (name, partial or full ARN)."""
    if name_or_arn.startswith("arn:"):
        parts = name_or_arn.split(":")
        # arn:aws:lambda:region:account:function:name[:qualifier]
        if len(parts) >= 7:
            return ":".join(parts[:7]), parts[6]
        return name_or_arn, name_or_arn.rsplit(":", 1)[-1]
    parts = name_or_arn.split(":")
    if len(parts) >= 3 and parts[1] == "function":  # account:function:name[:qualifier]
        return f"arn:aws:lambda:{region}:{parts[0]}:function:{parts[2]}", parts[2]
    name = parts[0]
    return f"arn:aws:lambda:{region}:{account}:function:{name}", name


def queue_arn(queue_url: str, account: str, region: str) -> tuple[str, str]:
    """ARN and name of a queue URL: http://host/queue/<region>/<account>/<name> or http://host/<account>/<name>."""
    parts = queue_url.rstrip("/").split("/")
    name = parts[-1]
    acct = parts[-2] if len(parts) >= 2 and parts[-2].isdigit() else account
    if len(parts) >= 4 and parts[-4] == "queue":
        region = parts[-3]
    elif ".queue." in queue_url or queue_url.split("://", 1)[-1].startswith("sqs."):
        host = queue_url.split("://", 1)[-1].split("/", 1)[0]
        bits = host.split(".")
        if bits[0] == "sqs" and len(bits) > 1:
            region = bits[1]
        elif len(bits) > 1 and bits[1] == "queue":
            region = bits[0]
    return f"arn:aws:sqs:{region}:{acct}:{name}", name


def _name_from_arn(arn: str) -> str:
    resource = arn.split(":", 5)[-1]
    if "/stream/" in resource:  # a DynamoDB stream (table/<name>/stream/<label>): its table's name - the label is a
        return resource.split("/stream/", 1)[0].rsplit("/", 1)[-1]  # time with colons, it was "11.758"
    tail = arn.rsplit(":", 1)[-1]
    return tail.rsplit("/", 1)[-1] if "/" in tail else tail


def _arn_or_name(value: str, service: str, kind: str, account: str, region: str, sep: str = "/") -> tuple[str, str]:
    if value.startswith("arn:"):
        return value, _name_from_arn(value)
    return f"arn:aws:{service}:{region}:{account}:{kind}{sep}{value}", value


def _lambda(op, p, account, region):
    name = p.get("FunctionName")
    if isinstance(name, str) and name:
        return lambda_arn(name, account, region)
    if isinstance(p.get("LayerName"), str):
        return _arn_or_name(p["LayerName"], "lambda", "layer", account, region, ":")
    if isinstance(p.get("EventSourceArn"), str):
        return p["EventSourceArn"], _name_from_arn(p["EventSourceArn"])
    return None


def _sqs(op, p, account, region):
    url = p.get("QueueUrl")
    if isinstance(url, str) and url:
        return queue_arn(url, account, region)
    name = p.get("QueueName")
    if isinstance(name, str) and name:
        return f"arn:aws:sqs:{region}:{account}:{name}", name
    return None


def _s3(op, p, account, region):
    bucket = p.get("Bucket")
    if not isinstance(bucket, str) or not bucket:
        return None
    key = p.get("Key")
    if isinstance(key, str) and key:
        return f"arn:aws:s3:::{bucket}/{key}", f"{bucket}/{key}"
    return f"arn:aws:s3:::{bucket}", bucket


def _dynamodb(op, p, account, region):
    table = p.get("TableName")
    if not table:
        items = p.get("RequestItems")
        if isinstance(items, dict) and items:
            table = next(iter(items))
        elif isinstance(p.get("TransactItems"), list) and p["TransactItems"]:
            first = p["TransactItems"][0]
            if isinstance(first, dict) and first:
                inner = next(iter(first.values()))
                table = inner.get("TableName") if isinstance(inner, dict) else None
    if isinstance(table, str) and table:
        return _arn_or_name(table, "dynamodb", "table", account, region)
    arn = p.get("ResourceArn")
    if isinstance(arn, str):
        return arn, _name_from_arn(arn)
    return None


def _dynamodbstreams(op, p, account, region):
    arn = p.get("StreamArn")
    if isinstance(arn, str):
        table = arn.split(":table/", 1)[-1].split("/stream/", 1)[0]
        return arn, table
    return None


def _stepfunctions(op, p, account, region):
    for key in ("stateMachineArn", "executionArn", "activityArn", "resourceArn"):
        arn = p.get(key)
        if isinstance(arn, str) and arn:
            return arn, _name_from_arn(arn)
    if isinstance(p.get("name"), str) and op == "CreateStateMachine":
        return f"arn:aws:states:{region}:{account}:stateMachine:{p['name']}", p["name"]
    return None


def _sns(op, p, account, region):
    for key in ("TopicArn", "TargetArn", "SubscriptionArn", "ResourceArn"):
        arn = p.get(key)
        if isinstance(arn, str) and arn:
            return arn, _name_from_arn(arn)
    if op == "CreateTopic" and isinstance(p.get("Name"), str):
        return f"arn:aws:sns:{region}:{account}:{p['Name']}", p["Name"]
    return None


def _events(op, p, account, region):
    bus = p.get("EventBusName")
    if bus is None and op == "PutEvents":
        entries = p.get("Entries") or []
        bus = (entries[0].get("EventBusName") if entries and isinstance(entries[0], dict) else None) or "default"
    if op in ("PutRule", "PutTargets", "DescribeRule", "DeleteRule", "EnableRule", "DisableRule", "RemoveTargets",
              "ListTargetsByRule"):
        rule = p.get("Name") or p.get("Rule")
        if isinstance(rule, str):
            bus_name = bus if isinstance(bus, str) and not bus.startswith("arn:") else _name_from_arn(bus or "default")
            prefix = "" if bus_name == "default" else f"{bus_name}/"
            return f"arn:aws:events:{region}:{account}:rule/{prefix}{rule}", rule
    if isinstance(bus, str) and bus:
        return _arn_or_name(bus, "events", "event-bus", account, region)
    if op == "CreateEventBus" and isinstance(p.get("Name"), str):
        return f"arn:aws:events:{region}:{account}:event-bus/{p['Name']}", p["Name"]
    return None


def _named_by(keys: tuple[str, ...], arn: str):
    """A resolver for services whose resource is one parameter (the first of `keys` given) put into an ARN
    template ({region}, {account}, {name}; {bare}: the name without leading slashes)."""

    def resolve(op, p, account, region):
        for key in keys:
            value = p.get(key)
            if isinstance(value, str) and value:
                return arn.format(region=region, account=account, name=value, bare=value.lstrip("/")), value
        return None

    return resolve


_apigateway = _named_by(("restApiId",), "arn:aws:apigateway:{region}::/restapis/{name}")
_logs = _named_by(("logGroupName",), "arn:aws:logs:{region}:{account}:log-group:{name}")
_ses = _named_by(("Source", "FromEmailAddress"), "arn:aws:ses:{region}:{account}:identity/{name}")
_ssm = _named_by(("Name",), "arn:aws:ssm:{region}:{account}:parameter/{bare}")
_firehose = _named_by(("DeliveryStreamName",), "arn:aws:firehose:{region}:{account}:deliverystream/{name}")


def _kinesis(op, p, account, region):
    arn = p.get("StreamARN")
    if isinstance(arn, str):
        return arn, _name_from_arn(arn)
    name = p.get("StreamName")
    if isinstance(name, str):
        return f"arn:aws:kinesis:{region}:{account}:stream/{name}", name
    return None


def _cloudformation(op, p, account, region):
    name = p.get("StackName")
    if isinstance(name, str):
        return (name, _name_from_arn(name)) if name.startswith("arn:") else (f"stack/{name}", name)
    return None


def _iam(op, p, account, region):
    for key, kind in (("RoleName", "role"), ("UserName", "user"), ("PolicyArn", None)):
        value = p.get(key)
        if isinstance(value, str):
            return (value, _name_from_arn(value)) if kind is None else (f"arn:aws:iam::{account}:{kind}/{value}", value)
    return None


def _sts(op, p, account, region):
    arn = p.get("RoleArn")
    if isinstance(arn, str):
        return arn, _name_from_arn(arn)
    return None


def _secretsmanager(op, p, account, region):
    value = p.get("SecretId") or p.get("Name")
    if isinstance(value, str):
        return _arn_or_name(value, "secretsmanager", "secret", account, region, ":")
    return None


RESOLVERS = {
    "lambda": _lambda, "sqs": _sqs, "s3": _s3, "dynamodb": _dynamodb, "dynamodbstreams": _dynamodbstreams,
    "stepfunctions": _stepfunctions, "sns": _sns, "events": _events, "apigateway": _apigateway, "logs": _logs,
    "ses": _ses, "sesv2": _ses, "kinesis": _kinesis, "cloudformation": _cloudformation, "iam": _iam, "sts": _sts,
    "ssm": _ssm, "secretsmanager": _secretsmanager, "firehose": _firehose,
}


def resource_of(service: str, operation: str, params, account: str, region: str) -> tuple[str | None, str | None]:
    if not params or not isinstance(params, dict):
        return None, None
    resolver = RESOLVERS.get(service)
    try:
        found = resolver(operation, params, account, region) if resolver else _generic(params)
    except (AttributeError, IndexError, TypeError, KeyError):
        found = None
    return found if found else (None, None)


def _generic(params: dict):
    for key, value in params.items():
        if isinstance(value, str) and value and (key.endswith("Arn") or key.endswith("ARN")):
            return value, _name_from_arn(value)
    for key, value in params.items():
        if isinstance(value, str) and value and key.endswith("Name"):
            return value, value
    return None


def node_of(resource: str | None) -> str | None:
    """The service-map node of a resource: S3 objects -> bucket, qualified Lambda ARNs -> function,
    Step Functions executions -> state machine, DynamoDB streams -> table."""
    if not resource:
        return None
    if resource.startswith("arn:aws:s3:::"):
        return resource.split("/", 1)[0]
    if resource.startswith("arn:aws:lambda:"):
        parts = resource.split(":")
        return ":".join(parts[:7]) if len(parts) > 7 else resource
    if resource.startswith("arn:aws:states:") and ":execution:" in resource:
        parts = resource.split(":")
        return ":".join(parts[:5] + ["stateMachine", parts[6]]) if len(parts) >= 7 else resource
    if resource.startswith("arn:aws:dynamodb:") and "/stream/" in resource:
        return resource.split("/stream/", 1)[0]
    if resource.startswith("arn:aws:execute-api:"):
        head, _, path = resource.rpartition(":")
        return f"{head}:{'/'.join(path.split('/')[:2])}"
    return resource


def short_name(node: str | None) -> str:
    """A readable label for a node or resource ARN."""
    if not node:
        return "-"
    if node.startswith("arn:aws:s3:::"):
        return unquote(node[len("arn:aws:s3:::"):])
    if node.startswith("arn:"):
        return _name_from_arn(node)
    return node
