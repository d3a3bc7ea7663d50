"""The default view of a trace skips hidden (noise) spans without orphaning what they led to; the service map
counts an Event Invoke made by a hop (an EventBridge target, an SNS delivery) once; rule ARNs name their bus."""

from sandbox.observability.engine.events_hops import bus_of_rule
from sandbox.observability.graph import build_graph
from sandbox.observability.traces import build_trace, without_noise


def span(span_id, parent_id=None, noise=False, ts=0.0, **kw):
    return {"span_id": span_id, "parent_id": parent_id, "noise": noise, "ts": ts, "trace_id": "t", **kw}


def test_children_of_hidden_spans_hang_under_the_nearest_visible_ancestor():
    spans = [
        span("put", ts=1),                                  # S3 PutObject
        span("relay", "put", noise=True, ts=2),             # S3's PutEvents (aws.s3 source: noise)
        span("inner", "relay", noise=True, ts=2.5),         # a hidden span under a hidden span
        span("target", "inner", ts=3),                      # the rule's target call
        span("sibling", "relay", ts=4),
    ]
    trace = build_trace("t", spans, include_noise=False)
    parents = {s["span_id"]: s["parent_id"] for s in trace["spans"]}
    assert parents == {"put": None, "target": "put", "sibling": "put"}
    assert trace["roots"] == ["put"] and trace["orphans"] == []
    assert [s["depth"] for s in trace["spans"]] == [0, 1, 1]
    # the input is not changed, and with noise everything keeps its real parent
    assert spans[3]["parent_id"] == "inner"
    full = build_trace("t", spans)
    assert {s["span_id"]: s["parent_id"] for s in full["spans"]}["target"] == "inner"
    assert len(full["spans"]) == 5


def test_a_hidden_root_leaves_its_children_as_roots_and_unknown_parents_stay_orphans():
    spans = [span("ship", "gone", noise=True), span("delivery", "ship"), span("other", "elsewhere")]
    visible = without_noise(spans)
    assert [(s["span_id"], s["parent_id"]) for s in visible] == [("delivery", "gone"), ("other", "elsewhere")]
    assert build_trace("t", spans, include_noise=False)["orphans"] == ["delivery", "other"]


def test_a_cycle_of_hidden_spans_does_not_hang():
    spans = [span("a", "b", noise=True), span("b", "a", noise=True), span("c", "a")]
    assert [s["span_id"] for s in without_noise(spans)] == ["c"]


def invoke(span_id, hop=None, invocation_type="Event", status=202, caller=None):
    return span(span_id, service="lambda", operation="Invoke", resource="arn:aws:lambda:us-east-1:1:function:f",
                hop=hop, status=status, attrs={"invocation_type": invocation_type},
                caller=caller or {"kind": "service", "name": "events", "source_arn": "arn:aws:events:r:1:rule/x"})


def test_an_event_invoke_by_a_hop_is_an_ack_and_its_attempt_is_the_call():
    spans = [invoke("ack", hop="events-target"), invoke("attempt", hop="lambda-async", invocation_type=None,
                                                        status=200)]
    [edge] = build_graph(spans)["edges"]
    assert edge["count"] == 1 and edge["source"] == "arn:aws:events:r:1:rule/x"


def test_rule_arns_name_their_bus():
    assert bus_of_rule("arn:aws:events:us-east-1:000000000000:rule/orders") == "default"
    assert bus_of_rule("arn:aws:events:us-east-1:000000000000:rule/shop-bus/orders") == "shop-bus"
    assert bus_of_rule(None) == "default"
