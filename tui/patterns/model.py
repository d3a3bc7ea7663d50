"""The diagram's content: a pattern's architecture with the recorder's service map laid over it.

Service-map nodes are ARNs and physical names; the architecture's are logical ids. A node is matched by the
stack's physical resource ids when the sandbox can list them (live), else by the names CloudFormation derives
(`<stack>-<LogicalId, cut at 24>-<suffix>`) or the template fixes. Several service-map nodes may match one
logical id (a recording that deployed the stack twice): their counts add up. Only traffic is counted: the
provisioning LocalStack does for CloudFormation (`service:*` callers) and a client's calls that only look
(Describe/List/Get..., reading a queue) are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tui.patterns.architecture import Architecture

# A client's calls that only look (status polls, reads of results): observation, not the pattern's flow.
LOOKING = re.compile(r":(Describe|List|Get|Head|Scan|Query|BatchGet|Filter|Receive|DeleteMessage|"
                     r"ChangeMessageVisibility)")
# The services whose service-map nodes can be a resource of each kind (a log group named after a function is not it).
SERVICES = {"function": {"lambda"}, "api": {"apigateway", "execute-api"}, "table": {"dynamodb"},
            "queue": {"sqs"}, "dlq": {"sqs"}, "topic": {"sns"}, "bucket": {"s3"}, "bus": {"events"},
            "rule": {"events"}, "statemachine": {"states", "stepfunctions"}, "stream": {"kinesis", "dynamodb"}}
CFN_NAME_CUT = 24  # CloudFormation cuts the logical id to this many characters in a generated name


@dataclass
class DiagramNode:
    key: str
    label: str
    kind: str
    outside: bool = False
    resource_type: str = ""
    seen: bool = False          # the service map knows it
    calls: int = 0              # requests into it (the traffic edges)
    sent: int = 0               # requests out of it
    errors: int = 0
    executions: int = 0         # Lambda runs, state machine executions
    execution_errors: int = 0
    throttles: int = 0
    depth: int | None = None    # queues: messages waiting (live only)
    in_flight: int | None = None  # queues: received, not yet deleted; state machines: running executions
    status: str = ""            # the resource's last stack event while deploying

    def counters(self) -> list[tuple[str, int | None, str]]:
        """(short label, value, long label) for this kind of node: value None when the sandbox cannot tell. A node
        outside the stack has none (only the calls between it and the pattern are seen: they are on the edges)."""
        if self.outside and self.kind != "client":
            return []
        if self.kind == "function":
            errors = self.execution_errors if self.executions else self.errors
            return [("inv", self.executions or self.calls, "invocations"), ("err", errors, "errors"),
                    ("thr", self.throttles, "throttles")]
        if self.kind == "statemachine":
            return [("exec", self.executions, "executions"), ("fail", self.execution_errors, "failed"),
                    ("run", self.in_flight, "running")]
        if self.kind in ("queue", "dlq"):
            return [("in", self.calls, "requests"), ("depth", self.depth, "waiting"),
                    ("flight", self.in_flight, "in flight")]
        if self.kind == "client":
            return [("sent", self.sent, "requests")]
        if self.kind == "rule":
            return [("fired", self.sent, "deliveries"), ("err", self.errors, "errors")]
        return [("calls", self.calls, "requests"), ("err", self.errors, "errors"), ("thr", self.throttles, "throttles")]


@dataclass
class DiagramEdge:
    source: str
    target: str
    declared: bool = False      # the template says it carries traffic
    count: int = 0
    errors: int = 0
    throttles: int = 0
    operations: dict[str, int] = field(default_factory=dict)


@dataclass
class Diagram:
    nodes: dict[str, DiagramNode] = field(default_factory=dict)
    edges: dict[tuple[str, str], DiagramEdge] = field(default_factory=dict)
    observed: bool = False      # a service map was laid over the architecture


def _tokens(node_id: str, label: str) -> set[str]:
    return set(re.split(r"[:/|]", node_id)) | {label, node_id}


def _physical_candidates(physical: str) -> set[str]:
    return {physical, physical.rsplit("/", 1)[-1], physical.rsplit(":", 1)[-1], physical.split("|")[-1]} - {""}


def match(arch: Architecture, stack: str, graph_nodes: list[dict], physical: dict[str, str] | None = None
          ) -> dict[str, str]:
    """Service-map node id -> logical id, for the nodes that are this pattern's resources."""
    by_physical: dict[str, str] = {}
    for logical, pid in (physical or {}).items():
        if logical in arch.nodes and pid:
            for candidate in _physical_candidates(str(pid)):
                by_physical.setdefault(candidate, logical)
    by_name = {name: n.key for n in arch.nodes.values() for name in n.names}
    generated = re.compile(rf"{re.escape(stack)}-(.+)-[0-9a-z]{{8}}", re.IGNORECASE)
    out: dict[str, str] = {}
    for g in graph_nodes:
        gid, label = str(g.get("id", "")), str(g.get("label", ""))
        if g.get("kind") != "resource":
            continue
        found = next((by_physical[t] for t in _tokens(gid, label) if t in by_physical), None)
        found = found or by_name.get(label)
        if found is None and (m := generated.fullmatch(label)):
            middle = m.group(1)
            found = middle if middle in arch.nodes else None
            if found is None and len(middle) >= CFN_NAME_CUT - 4:
                found = min((k for k in arch.nodes if k.startswith(middle) and not arch.nodes[k].outside),
                            key=len, default=None)
        service = g.get("service")
        if found is not None and (not service or service in SERVICES.get(arch.nodes[found].kind, {service})):
            out[gid] = found
    return out


def traffic(edge: dict) -> bool:
    """An edge that carries the pattern's traffic (not provisioning, not a client polling for status)."""
    source = str(edge.get("source", ""))
    if source.startswith("service:") or str(edge.get("target", "")).startswith("stack/"):
        return False
    ops = edge.get("operations") or {}
    return not (source == "external" and ops and all(LOOKING.search(op) for op in ops))


def _outside_label(g: dict | None, gid: str) -> tuple[str, str]:
    if gid == "external":
        return "client", "client"
    label = str((g or {}).get("label") or gid)
    return label, str((g or {}).get("service") or "")


def combine(arch: Architecture, stack: str, graph: dict | None, physical: dict[str, str] | None = None,
            throttles: dict[tuple[str, str], int] | None = None, gauges: dict[str, dict] | None = None,
            statuses: dict[str, str] | None = None) -> Diagram:
    """The architecture with the service map's counts on its nodes and edges (and the neighbours it calls)."""
    diagram = Diagram(observed=graph is not None)
    for node in arch.nodes.values():
        diagram.nodes[node.key] = DiagramNode(node.key, node.label, node.kind, node.outside, node.resource_type)
    for source, target in arch.links:
        diagram.edges[(source, target)] = DiagramEdge(source, target, declared=True)
    for key, status in (statuses or {}).items():
        if key in diagram.nodes:
            diagram.nodes[key].status = status
    for key, values in (gauges or {}).items():
        node = diagram.nodes.get(key)
        if node is not None:
            node.depth = values.get("depth", node.depth)
            node.in_flight = values.get("in_flight", node.in_flight)
    if graph is None:
        return diagram

    graph_nodes = {str(g.get("id")): g for g in graph.get("nodes", [])}
    mapped = match(arch, stack, list(graph_nodes.values()), physical)
    _stand_ins(arch, graph.get("edges", []), graph_nodes, mapped)
    for gid, key in mapped.items():
        node, g = diagram.nodes[key], graph_nodes[gid]
        node.seen = True
        node.executions += int(g.get("executions") or 0)
        node.execution_errors += int(g.get("execution_errors") or 0)

    def key_of(gid: str) -> str | None:
        if gid in mapped:
            return mapped[gid]
        if gid.startswith(("service:", "stack/")):
            return None
        if gid not in diagram.nodes:
            label, service = _outside_label(graph_nodes.get(gid), gid)
            kind = "client" if gid == "external" else _kind_of_service(service)
            diagram.nodes[gid] = DiagramNode(gid, label, kind, outside=True, seen=True)
        return gid

    for edge in graph.get("edges", []):
        source, target = str(edge.get("source")), str(edge.get("target"))
        if not traffic(edge) or (source not in mapped and target not in mapped):
            continue
        a, b = key_of(source), key_of(target)
        if a is None or b is None or a == b:
            continue
        e = diagram.edges.setdefault((a, b), DiagramEdge(a, b))
        e.count += int(edge.get("count") or 0)
        e.errors += int(edge.get("errors") or 0)
        for op, n in (edge.get("operations") or {}).items():
            e.operations[op] = e.operations.get(op, 0) + n
        diagram.nodes[b].calls += int(edge.get("count") or 0)
        diagram.nodes[b].errors += int(edge.get("errors") or 0)
        diagram.nodes[a].sent += int(edge.get("count") or 0)
    for (source, target), n in (throttles or {}).items():
        a, b = mapped.get(source, source), mapped.get(target)
        if b is None:
            continue
        diagram.nodes[b].throttles += n
        if (a, b) in diagram.edges:
            diagram.edges[(a, b)].throttles += n
    _implied(diagram)
    _drop_unused_outside(diagram)
    return diagram


def _implied(diagram: Diagram) -> None:
    """A rule fires only on its bus's events, and the recorder sees the deliveries, not the matching: the
    bus -> rule edge carries what the rule delivered."""
    for node in diagram.nodes.values():
        if node.kind != "rule" or not node.sent:
            continue
        into = [e for e in diagram.edges.values() if e.target == node.key]
        if len(into) == 1 and into[0].declared and not into[0].count:
            into[0].count = node.sent
            node.calls = node.sent


def _stand_ins(arch: Architecture, edges: list[dict], graph_nodes: dict[str, dict], mapped: dict[str, str]) -> None:
    """A stand-in (a stream another stack owns) is replaced by the service-map node that feeds its target."""
    for node in arch.nodes.values():
        if not node.service:
            continue
        targets = {t for s, t in arch.links if s == node.key}
        for edge in edges:
            source, target = str(edge.get("source")), str(edge.get("target"))
            g = graph_nodes.get(source) or {}
            if mapped.get(target) in targets and source not in mapped and g.get("service") == node.service:
                mapped[source] = node.key
                node.label = str(g.get("label") or node.label)


def _drop_unused_outside(diagram: Diagram) -> None:
    """A stand-in nothing flowed through stays (it shows the declared source); other outside nodes need edges."""
    used = {k for e in diagram.edges.values() for k in (e.source, e.target)}
    for key in [k for k, n in diagram.nodes.items() if n.outside and k not in used]:
        del diagram.nodes[key]


def _kind_of_service(service: str) -> str:
    return {"lambda": "function", "dynamodb": "table", "sqs": "queue", "s3": "bucket", "sns": "topic",
            "events": "bus", "states": "statemachine", "apigateway": "api", "execute-api": "api",
            "kinesis": "stream", "ses": "email"}.get(service, service or "resource")
