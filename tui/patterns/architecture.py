"""A pattern's architecture read from its template: the resources worth a box, and the links between them.

Links are what the template says will carry traffic, so the diagram has its shape before the first request:
SAM events (API -> function, bucket -> function, queue -> function, stream -> function, bus -> rule -> target),
references in environment variables and state machine substitutions (function -> table), dead-letter targets
(queue -> DLQ), rule targets, event source mappings. The service map adds the links nobody declared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KINDS = {
    "AWS::Serverless::Function": "function", "AWS::Lambda::Function": "function",
    "AWS::Serverless::Api": "api", "AWS::ApiGateway::RestApi": "api",
    "AWS::Serverless::HttpApi": "api", "AWS::ApiGatewayV2::Api": "api",
    "AWS::DynamoDB::Table": "table", "AWS::Serverless::SimpleTable": "table",
    "AWS::SQS::Queue": "queue", "AWS::SNS::Topic": "topic", "AWS::S3::Bucket": "bucket",
    "AWS::Events::EventBus": "bus", "AWS::Events::Rule": "rule",
    "AWS::Serverless::StateMachine": "statemachine", "AWS::StepFunctions::StateMachine": "statemachine",
    "AWS::Kinesis::Stream": "stream",
}
# Properties that name a resource (CloudFormation generates a name when they are absent).
NAME_PROPERTIES = ("FunctionName", "TableName", "QueueName", "TopicName", "BucketName", "Name", "StateMachineName")
ACCOUNT, REGION = "000000000000", "us-east-1"  # the sandbox's (for names a template builds with !Sub)
# The service that delivers events of a SAM event type (for stand-in nodes of sources outside the template).
STREAM_SERVICES = {"DynamoDB": "dynamodb", "Kinesis": "kinesis"}


@dataclass
class Node:
    key: str                  # logical id (or a service-map node id for nodes outside the pattern)
    label: str
    kind: str                 # function, api, table, queue, dlq, bucket, bus, rule, statemachine, topic, ...
    resource_type: str = ""
    outside: bool = False     # not a resource of this pattern (a client, another stack's table)
    names: tuple[str, ...] = ()   # physical names the template fixes (matched against the service map)
    service: str = ""         # for stand-ins: the service whose node takes their place


@dataclass
class Architecture:
    nodes: dict[str, Node] = field(default_factory=dict)
    links: list[tuple[str, str]] = field(default_factory=list)

    def link(self, source: str, target: str) -> None:
        if source != target and source in self.nodes and target in self.nodes and (source, target) not in self.links:
            self.links.append((source, target))


def refs(value) -> list[str]:
    """Logical ids a template value refers to (Ref, GetAtt, Sub placeholders), in order, at any depth."""
    found: list[str] = []

    def walk(v) -> None:
        if isinstance(v, dict):
            for key, inner in v.items():
                name = key.removeprefix("Fn::")
                if name == "Ref" and isinstance(inner, str):
                    found.append(inner)
                elif name == "GetAtt":
                    target = inner if isinstance(inner, str) else (inner[0] if inner else "")
                    found.append(str(target).split(".", 1)[0])
                elif name == "Sub":
                    text = inner if isinstance(inner, str) else (inner[0] if inner else "")
                    found.extend(m.split(".", 1)[0] for m in re.findall(r"\$\{([^}!]+)\}", str(text)))
                    if isinstance(inner, list):
                        walk(inner[1:])
                else:
                    walk(inner)
        elif isinstance(v, list):
            for inner in v:
                walk(inner)

    walk(value)
    return [r for r in found if not r.startswith("AWS::")]


def physical_name(value, stack: str) -> str | None:
    """A name property's value once CloudFormation resolved it (only the pseudo parameters are known here)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        inner = value.get("Sub", value.get("Fn::Sub"))
        if isinstance(inner, str):
            out = inner.replace("${AWS::StackName}", stack).replace("${AWS::AccountId}", ACCOUNT)
            out = out.replace("${AWS::Region}", REGION)
            return None if "${" in out else out
    return None


def _props(spec) -> dict:
    return (spec or {}).get("Properties") or {}


def build(template: dict, stack: str) -> Architecture:
    """The pattern's nodes and declared links (logical ids; a SAM event's implicit rule is `<Owner><Event>`)."""
    arch = Architecture()
    resources = template.get("Resources") or {}
    for logical_id, spec in resources.items():
        kind = KINDS.get(str((spec or {}).get("Type", "")))
        if kind is None:
            continue
        names = tuple(n for n in (physical_name(_props(spec).get(p), stack) for p in NAME_PROPERTIES) if n)
        arch.nodes[logical_id] = Node(logical_id, logical_id, kind, str(spec.get("Type")), names=names)

    def add(key: str, kind: str, label: str | None = None, **extra) -> str:
        arch.nodes.setdefault(key, Node(key, label or key, kind, **extra))
        return key

    def dlq(key: str) -> None:
        if key in arch.nodes and arch.nodes[key].kind == "queue":
            arch.nodes[key].kind = "dlq"

    def first(value) -> str | None:
        return next((r for r in refs(value) if r in arch.nodes), None)

    glob_env = (((template.get("Globals") or {}).get("Function") or {}).get("Environment") or {}).get("Variables")
    for logical_id, spec in resources.items():
        rtype, props = str((spec or {}).get("Type", "")), _props(spec)
        if KINDS.get(rtype) in ("function", "statemachine"):
            _events(arch, logical_id, props.get("Events") or {}, add, dlq, first)
            targets = refs((props.get("Environment") or {}).get("Variables")) if rtype.endswith("Function") else []
            if KINDS[rtype] == "function" and rtype.startswith("AWS::Serverless"):
                targets += refs(glob_env)
            targets += refs(props.get("DefinitionSubstitutions")) + refs(props.get("Definition"))
            for target in targets:
                arch.link(logical_id, target)
            for where in ((props.get("DeadLetterQueue") or {}).get("TargetArn"),
                          (props.get("DeadLetterConfig") or {}).get("TargetArn")):
                if (target := first(where)) is not None:
                    dlq(target)
                    arch.link(logical_id, target)
            on_failure = ((props.get("EventInvokeConfig") or {}).get("DestinationConfig") or {}).get("OnFailure")
            if (target := first((on_failure or {}).get("Destination"))) is not None:
                arch.link(logical_id, target)
        elif rtype == "AWS::Events::Rule":
            if (bus := first(props.get("EventBusName"))) is not None:
                arch.link(bus, logical_id)
            for target in props.get("Targets") or []:
                if (to := first((target or {}).get("Arn"))) is not None:
                    arch.link(logical_id, to)
                if (dead := first(((target or {}).get("DeadLetterConfig") or {}).get("Arn"))) is not None:
                    dlq(dead)
                    arch.link(logical_id, dead)
        elif rtype == "AWS::SQS::Queue":
            if (dead := first((props.get("RedrivePolicy") or {}).get("deadLetterTargetArn"))) is not None:
                dlq(dead)
                arch.link(logical_id, dead)
        elif rtype == "AWS::Lambda::EventSourceMapping":
            source, function = first(props.get("EventSourceArn")), first(props.get("FunctionName"))
            if source and function:
                arch.link(source, function)
        elif rtype == "AWS::S3::Bucket":
            notifications = props.get("NotificationConfiguration") or {}
            for key, prop in (("LambdaConfigurations", "Function"), ("QueueConfigurations", "Queue"),
                              ("TopicConfigurations", "Topic")):
                for conf in notifications.get(key) or []:
                    if (to := first((conf or {}).get(prop))) is not None:
                        arch.link(logical_id, to)
        elif rtype == "AWS::SNS::Subscription":
            topic, endpoint = first(props.get("TopicArn")), first(props.get("Endpoint"))
            if topic and endpoint:
                arch.link(topic, endpoint)
        elif rtype == "AWS::SNS::Topic":
            for sub in props.get("Subscription") or []:
                if (to := first((sub or {}).get("Endpoint"))) is not None:
                    arch.link(logical_id, to)
    return arch


def _events(arch: Architecture, owner: str, events: dict, add, dlq, first) -> None:
    """A SAM function's or state machine's `Events`: each source becomes a link into the owner."""
    for name, event in events.items():
        etype, props = str((event or {}).get("Type", "")), (event or {}).get("Properties") or {}
        if etype in ("Api", "HttpApi"):
            api = first(props.get("RestApiId") or props.get("ApiId"))
            if api is None:
                api = add("ServerlessRestApi" if etype == "Api" else "ServerlessHttpApi", "api",
                          resource_type="AWS::Serverless::Api")
            arch.link(api, owner)
        elif etype in ("S3", "SQS", "SNS"):
            if (source := first(props.get({"S3": "Bucket", "SQS": "Queue", "SNS": "Topic"}[etype]))) is not None:
                arch.link(source, owner)
        elif etype in STREAM_SERVICES:
            source = first(props.get("Stream"))
            if source is None:  # imported from another stack: a stand-in the service map's node replaces
                source = add(f"{owner}{name}:source", "stream", f"{etype} stream", outside=True,
                             service=STREAM_SERVICES[etype])
            arch.link(source, owner)
        elif etype in ("EventBridgeRule", "CloudWatchEvent", "Schedule", "ScheduleV2"):
            rule = add(f"{owner}{name}", "rule", name, resource_type="AWS::Events::Rule")
            if (bus := first(props.get("EventBusName"))) is not None:
                arch.link(bus, rule)
            arch.link(rule, owner)
            dead = props.get("DeadLetterConfig") or {}
            target = dead.get("QueueLogicalId") and add(dead["QueueLogicalId"], "dlq",
                                                        resource_type="AWS::SQS::Queue")
            target = target or first(dead.get("Arn"))
            if target:
                dlq(target)
                arch.link(rule, target)
        if (target := first(((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination"))):
            dlq(target)
            arch.link(owner, target)
