"""The Patterns screen: a pattern deployed from the TUI (d, y) and its diagram lighting up under traffic (live);
the diagram of the committed recording (no LocalStack); the layout and the drawing as pure functions."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
import requests
from textual.widgets import DataTable, OptionList, RichLog, Static

from sandbox.deploy.patterns import list_patterns, load_template
from tests.tui.test_tui import RECORDING, in_thread, plain, q, until
from tui.app import SandboxApp
from tui.backend import Backend
from tui.patterns.activity import Activity
from tui.patterns.architecture import build
from tui.patterns.diagram import COMPACT_BOX_W, MIN_BOX_W, Palette, fit, render
from tui.patterns.layout import layout
from tui.patterns.model import combine

WIDE = (160, 45)
SMALL = (80, 24)


def pattern(name: str):
    return next(p for p in list_patterns() if p.name == name)


def architecture(name: str):
    return build(load_template(pattern(name).template), name)


async def show_pattern(pilot, name: str):
    app = pilot.app
    await until(pilot, lambda: app.backend_ready, 60, "the backend")
    await pilot.press("6")
    pane = app.pane("patterns")
    await until(pilot, lambda: any(p.name == name for p in pane.patterns), 30, "the pattern list")
    options = q(app, "#pattern-list", OptionList)
    # The start-up focus (the first tab's list, after a refresh) and the tab switch's can land after this point
    # and take the focus from what the test focuses next (seen: the Scenarios catalog): settle it first.
    def held() -> bool:
        if app.focused is not options:
            options.focus()
            return False
        return True

    await until(pilot, held, 10, "the pattern list to keep the focus")
    await pilot.pause(0.2)
    await until(pilot, held, 10, "the pattern list to keep the focus")
    options.focus()
    options.highlighted = next(i for i, p in enumerate(pane.patterns) if p.name == name)
    await until(pilot, lambda: pane.selected is not None and pane.selected.name == name and pane.diagram, 10,
                f"{name}'s diagram")
    return pane


def box_text(view, key: str) -> str:
    """What the drawing shows inside one node's box."""
    box = view.rendered.layout.boxes[key]
    rows = view.plain.splitlines()[box.y: box.y + box.h]
    return "\n".join(row[box.x: box.x + box.w] for row in rows)


# --- live: deploy crud-api from the screen, send traffic, watch the diagram --------------------------------------
@pytest.fixture
def crud_api_destroyed(sb):
    """The session sandbox; crud-api destroyed afterwards if the test left it deployed (the next test's reset would
    remove it too, but tests on the `sandbox` fixture do not reset)."""
    yield sb
    if "crud-api" in {s["name"] for s in sb.stacks()}:
        sb.destroy("crud-api")


def test_deploy_crud_api_from_the_patterns_screen_and_watch_its_diagram_light_up(crud_api_destroyed):
    sb = crud_api_destroyed

    async def scenario():
        app = SandboxApp(sandbox=sb)
        async with app.run_test(size=WIDE) as pilot:
            pane = await show_pattern(pilot, "crud-api")
            assert "crud-api" not in pane.stacks
            drawn = pane.view.plain  # before the deploy: what the template declares
            for name in ("ItemsApi", "ItemsFunction", "Items", "IdempotencyTable"):
                assert re.search(rf"╭ {name} [─╮]", drawn), f"no box for {name}:\n{drawn}"

            await pilot.press("d")
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", 10, "the confirmation")
            await pilot.press("y")
            # Stack events stream into the log below the diagram while CloudFormation works.
            log = q(app, "#pattern-progress", RichLog)
            await until(pilot, lambda: pane.operation is not None and pane.operation.events >= 3, 60,
                        "stack events in the log")
            assert log.display
            await until(pilot, lambda: not pane.operation.running, 180, "the deploy to finish")
            assert pane.operation.error is None, pane.operation.error
            assert any("ItemsFunction" in line.plain and "CREATE_COMPLETE" in line.plain
                       for line in pane.operation.lines)
            await until(pilot, lambda: any("CREATE_COMPLETE" in line.text for line in log.lines), 5,
                        "the events shown in the log")
            stack = {s["name"]: s for s in await in_thread(sb.stacks)}["crud-api"]
            assert stack["status"] == "CREATE_COMPLETE"
            await until(pilot, lambda: "crud-api" in pane.stacks and pane._stack_resources.get("crud-api"), 30,
                        "the deployed stack and its physical resources")
            await until(pilot, lambda: pane.diagram.observed, 10, "the service map on the diagram")
            lit_before = pane.activity.lit_total
            # an edge stays lit for a moment (1.8 s) after its count grows; held here for the length of the test,
            # so that the check below waits for the drawing rather than racing that moment
            pane.activity.hold = 600

            # Traffic through the API: 3 creates and a read of an item that is not there (a 404, not an error).
            def traffic() -> list[int]:
                http = requests.Session()
                http.trust_env = False
                url = stack["outputs"]["ApiUrl"]
                codes = [http.post(url + "items", json={"payload": {"n": i}}, timeout=60).status_code
                         for i in range(3)]
                return codes + [http.get(url + "items/nope", timeout=60).status_code]

            assert await in_thread(traffic) == [201, 201, 201, 404]
            await until(pilot, lambda: pane.activity.lit_total > lit_before, 20, "edges lit by the traffic")
            lit = await until(pilot, lambda: pane.view.lit.get(("ItemsApi", "ItemsFunction")), 20,
                              "the API -> function edge to light up")
            assert lit == "lit"  # not "error": a 404 is an answer
            # A request's span is recorded when it ends, after the execution it caused: wait for all four of each.
            edges = (("ItemsApi", "ItemsFunction"), ("ItemsFunction", "Items"), ("external", "ItemsApi"))
            await until(pilot, lambda: pane.diagram.nodes["ItemsFunction"].executions >= 4 and all(
                e in pane.diagram.edges and pane.diagram.edges[e].count >= 4 for e in edges), 60,
                "4 invocations on the function's box and 4 requests on each edge")
            assert pane.diagram.nodes["ItemsFunction"].executions == 4
            diagram = pane.diagram
            assert diagram.edges[("ItemsApi", "ItemsFunction")].count == 4
            assert diagram.edges[("ItemsFunction", "Items")].count == 4  # 3 PutItem, 1 GetItem
            assert diagram.edges[("external", "ItemsApi")].count == 4  # the client, drawn left of the API
            assert diagram.nodes["ItemsFunction"].execution_errors == 0
            assert pane.activity.lit_total > lit_before
            await until(pilot, lambda: re.search(r"(inv|invocations) +4\b", box_text(pane.view, "ItemsFunction")),
                        10, "the invocations in the function's box")
            assert re.search(r"(calls|requests) +4\b", box_text(pane.view, "Items")), box_text(pane.view, "Items")
            assert re.search(r"(sent|requests) +4\b", box_text(pane.view, "external"))

            # Destroy asks first; the stack is gone after "y".
            await pilot.press("x")
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", 10, "the confirmation")
            await pilot.press("y")
            await until(pilot, lambda: not pane.operation.running and pane.operation.kind == "destroy", 120,
                        "the destroy to finish")
            assert pane.operation.error is None, pane.operation.error
            await until(pilot, lambda: "crud-api" not in pane.stacks, 30, "the stack gone from the list")
        assert "crud-api" not in {s["name"] for s in sb.stacks()}

    asyncio.run(scenario())


# --- replay: the recording's pattern, no LocalStack ---------------------------------------------------------------
def recorded_edge(graph: dict, source: str, target: str) -> tuple[int, int]:
    """Calls and errors between the recording's nodes whose names hold these logical ids."""
    found = [e for e in graph["edges"] if f"-{source}-" in e["source"] and f"-{target}-" in e["target"]]
    return sum(e["count"] for e in found), sum(e["errors"] for e in found)


def test_replay_diagram_draws_the_recorded_nodes_and_edges(monkeypatch):
    import sandbox.api
    from sandbox.observability.graph import build_graph
    from tui.backend import Recording

    def no_sandbox(*args, **kwargs):
        raise AssertionError("replay mode must not create a Sandbox")

    monkeypatch.setattr(sandbox.api.Sandbox, "__init__", no_sandbox)
    graph = build_graph(Recording.load(RECORDING).spans)

    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=WIDE) as pilot:
            pane = await show_pattern(pilot, "user-onboarding")
            await until(pilot, lambda: pane.diagram.observed, 10, "the recorded service map")
            diagram = pane.diagram
            declared = architecture("user-onboarding")
            assert set(declared.nodes) <= set(diagram.nodes)
            assert {"OnboardingStateMachine", "SendWelcomeEmailFunction", "UsersTable", "OnboardingTriggerDLQ"} \
                <= set(declared.nodes)
            assert diagram.nodes["OnboardingTriggerDLQ"].kind == "dlq"
            # Counts and errors on the edges are the recording's (both variants' deployments add up).
            sfn_to_email = diagram.edges[("OnboardingStateMachine", "SendWelcomeEmailFunction")]
            assert (sfn_to_email.count, sfn_to_email.errors) == \
                recorded_edge(graph, "OnboardingStateMachine", "SendWelcomeEmailFunction") == (9, 8)
            assert diagram.edges[("SendWelcomeEmailFunction", "UsersTable")].count == \
                recorded_edge(graph, "SendWelcomeEmailFunction", "UsersTable")[0] > 0
            assert diagram.nodes["SendWelcomeEmailFunction"].executions == 9
            assert diagram.nodes["OnboardingStateMachine"].execution_errors == 3
            # SES is outside the stack: drawn, from the service map, as a neighbour of the function that calls it.
            assert any(n.outside and "welcome@example.com" in n.label for n in diagram.nodes.values())
            # The drawing: a box per resource, an arrow head per edge, the errors in red.
            text = pane.view.rendered.text
            drawn = text.plain
            for key, node in diagram.nodes.items():
                if not node.outside:
                    box = pane.view.rendered.layout.boxes[key]
                    row = drawn.splitlines()[box.y]
                    assert row[box.x] == "╭" and row[box.x + box.w - 1] == "╮", f"{key}: {row!r}"
            heads = drawn.count("▶") + drawn.count("◀")
            assert heads == len(diagram.edges) == len(pane.view.rendered.layout.routes)
            start = drawn.index("✗8")
            styles = [str(span.style) for span in text.spans if span.start <= start < span.end]
            assert styles == [pane.view.palette.error], styles  # the theme's error colour
            # A recording cannot change: d says so instead of asking.
            await pilot.press("d")
            await until(pilot, lambda: any("recording" in str(n.message) for n in app._notifications), 10,
                        "the notice that a recording cannot change")
            await pilot.pause()
            assert app.screen is app.main_screen

    asyncio.run(scenario())


def test_replay_diagram_at_80x24_scrolls_and_keeps_every_box_whole():
    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=SMALL) as pilot:
            pane = await show_pattern(pilot, "user-onboarding")
            view = pane.view
            await until(pilot, lambda: view.rendered is not None and view.max_scroll_x > 0, 10, "a scrollable view")
            assert all(b.w >= MIN_BOX_W for b in view.rendered.layout.boxes.values() if not b.dummy)
            view.focus()
            await pilot.press("right", "right", "down")
            await until(pilot, lambda: view.scroll_x > 0 and view.scroll_y > 0, 5, "arrow keys to scroll")

    asyncio.run(scenario())


# --- a failed deploy, without LocalStack ---------------------------------------------------------------------------
class FailingDeploys(Backend):
    """Deploys that stream two stack events and then fail the way the Deployer does."""

    live, label = True, "fake"

    def start(self, on_progress) -> str:
        return "fake backend"

    def deploy(self, pattern: str, on_progress) -> list[dict]:
        from sandbox.deploy.deployer import DeployError

        on_progress({"stack": pattern, "logical_id": "Items", "type": "AWS::DynamoDB::Table",
                     "status": "CREATE_IN_PROGRESS", "reason": ""})
        on_progress({"stack": pattern, "logical_id": "Items", "type": "AWS::DynamoDB::Table",
                     "status": "CREATE_FAILED", "reason": "Table already exists"})
        raise DeployError(f"deploying stack {pattern} failed (ROLLBACK_COMPLETE). Items (AWS::DynamoDB::Table): "
                          "Table already exists The stack was deleted: nothing is left behind.")


def test_a_failed_deploy_says_what_failed_and_keeps_its_log_open():
    async def scenario():
        app = SandboxApp(backend=FailingDeploys())
        async with app.run_test(size=SMALL) as pilot:
            pane = await show_pattern(pilot, "crud-api")
            await pilot.press("d")
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", 10, "the confirmation")
            await pilot.press("n")  # no: nothing happens
            await until(pilot, lambda: app.screen is app.main_screen, 10, "the confirmation closed")
            await pilot.pause()
            assert pane.operation is None
            await pilot.press("d")
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", 10, "the confirmation")
            await pilot.press("y")
            await until(pilot, lambda: pane.operation is not None and pane.operation.error, 10, "the failure")
            assert "Table already exists" in pane.operation.error
            log = q(app, "#pattern-progress", RichLog)
            await until(pilot, lambda: any("CREATE_FAILED" in line.text for line in log.lines), 5, "the event")
            logged = "".join("".join(line.text.split()) for line in log.lines)  # wrapped lines, spaces aside
            assert log.display and logged.endswith("Thestackwasdeleted:nothingisleftbehind.")
            assert "deploycrud-apifailed" in logged and "Tablealreadyexists" in logged
            assert any("Table already exists" in str(n.message) and n.severity == "error"
                       for n in app._notifications)
            await until(pilot, lambda: pane.diagram.nodes["Items"].status == "CREATE_FAILED", 10,
                        "the failed resource on the diagram")
            await until(pilot, lambda: "FAILED" in box_text(pane.view, "Items"), 10, "its box says so, in red")

    asyncio.run(scenario())


class ResetElsewhere(Backend):
    """Deploys crud-api at once; `sandbox reset` from the CLI is `stacks.clear()`."""

    live, label = True, "fake"

    def __init__(self):
        self.stack_list: list[dict] = []

    def start(self, on_progress) -> str:
        return "fake backend"

    def stacks(self) -> list[dict]:
        return list(self.stack_list)

    def deploy(self, pattern: str, on_progress) -> list[dict]:
        self.stack_list.append({"name": pattern, "status": "CREATE_COMPLETE", "outputs": {},
                                "created": "2099-01-01T00:00:00+00:00"})
        return [{"stack": pattern, "seconds": 3.5}]

    def stack_resources(self, stack: str) -> list[dict]:
        return [{"logical_id": "Items", "physical_id": "crud-api-Items-GONEAFTERRESET",
                 "type": "AWS::DynamoDB::Table"}]

    def gauges(self, resources: list[dict]) -> dict[str, dict]:
        return {}


def test_a_stack_deleted_elsewhere_leaves_no_deployed_line_nor_its_physical_ids():
    """After `sandbox reset` from the CLI the header read "crud-api deployed in 3.5s   not deployed · d deploys it"
    and the resources table still listed the deleted physical ids."""
    async def scenario():
        backend = ResetElsewhere()
        app = SandboxApp(backend=backend)
        async with app.run_test(size=(120, 40)) as pilot:
            pane = await show_pattern(pilot, "crud-api")
            await pilot.press("d")
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", 10, "the confirmation")
            await pilot.press("y")
            info = q(app, "#pattern-info", Static)
            await until(pilot, lambda: "deployed in 3.5s" in plain(info) and "CREATE_COMPLETE" in plain(info), 10,
                        "the deployed line")
            if not q(app, "#pattern-details").display:
                await pilot.press("t")
            table = q(app, "#pattern-resources", DataTable)
            cells = lambda: " ".join(str(c) for row in range(table.row_count) for c in table.get_row_at(row))  # noqa: E731
            await until(pilot, lambda: "GONEAFTERRESET" in cells(), 10, "the physical ids")

            backend.stack_list.clear()  # `sandbox reset` in another terminal
            await until(pilot, lambda: "not deployed" in plain(info), 10, "the tab refreshed")
            await pilot.pause(0.3)
            assert "deployed in" not in plain(info), plain(info)
            assert "GONEAFTERRESET" not in cells(), cells()

    asyncio.run(scenario())


# --- pure: architecture, layout, drawing, activity ---------------------------------------------------------------
def test_architecture_of_each_pattern_links_what_the_template_declares():
    media = architecture("media-pipeline")
    assert {("UploadsBucket", "IngestFunction"), ("IngestFunction", "JobsQueue"), ("JobsQueue", "WorkerFunction"),
            ("JobsQueue", "DeadLetterQueue"), ("IngestFunction", "IngestDeadLetterQueue"),
            ("WorkerFunction", "ProcessedBucket"), ("WorkerFunction", "JobsTable")} <= set(media.links)
    assert media.nodes["DeadLetterQueue"].kind == media.nodes["IngestDeadLetterQueue"].kind == "dlq"
    assert media.nodes["JobsQueue"].kind == "queue"
    assert media.nodes["UploadsBucket"].names == ("media-pipeline-uploads-000000000000-us-east-1",)
    onboarding = architecture("user-onboarding")
    assert {("OnboardingBus", "OnboardingStateMachineUserCreated"),
            ("OnboardingStateMachineUserCreated", "OnboardingStateMachine"),
            ("OnboardingStateMachineUserCreated", "OnboardingTriggerDLQ"),
            ("OnboardingStateMachine", "SendWelcomeEmailFunction")} <= set(onboarding.links)
    audit = architecture("stream-audit")  # its stream belongs to crud-api: a stand-in, outside the stack
    source = next(n for n in audit.nodes.values() if n.outside)
    assert (source.key, "AuditFunction") in audit.links and source.service == "dynamodb"
    assert audit.nodes["FailedRecordsQueue"].kind == "dlq"


def test_layout_runs_left_to_right_without_overlaps_and_draws_cycles_backwards():
    arch = architecture("user-onboarding")
    placed = layout(list(arch.nodes), arch.links, 20, 4)
    boxes = {k: b for k, b in placed.boxes.items() if not b.dummy}
    back = ("OnboardingStateMachine", "OnboardingBus")  # the state machine emits onto the bus that started it
    for source, target in arch.links:
        if (source, target) != back:
            assert boxes[source].x < boxes[target].x, (source, target)
    assert boxes["OnboardingBus"].x < boxes["OnboardingStateMachine"].x
    route = next(r for r in placed.routes if r.edge == back)
    assert route.arrow[2] == "◀"
    for a in boxes.values():
        for b in boxes.values():
            if a is not b and a.x == b.x:
                assert a.y + a.h <= b.y or b.y + b.h <= a.y, (a, b)
    for r in placed.routes:  # every route is orthogonal and ends on the borders of its boxes
        assert all(p[0] == q_[0] or p[1] == q_[1] for p, q_ in zip(r.points, r.points[1:])), r
        left, right = sorted((boxes[r.edge[0]], boxes[r.edge[1]]), key=lambda b: b.x)
        assert r.points[0][0] == left.x + left.w - 1 and r.points[-1][0] == right.x


def test_fit_narrows_boxes_for_small_terminals_and_shows_traffic():
    arch = architecture("crud-api")
    graph = {"nodes": [
        {"id": "external", "label": "external", "kind": "external", "service": "external"},
        {"id": "arn:aws:execute-api:us-east-1:000000000000:abc123/dev", "label": "dev", "kind": "resource",
         "service": "execute-api"},
        {"id": "arn:aws:lambda:us-east-1:000000000000:function:crud-api-ItemsFunction-1a2b3c4d",
         "label": "crud-api-ItemsFunction-1a2b3c4d", "kind": "resource", "service": "lambda", "executions": 5,
         "execution_errors": 2},
        {"id": "arn:aws:dynamodb:us-east-1:000000000000:table/crud-api-Items-5e6f7a8b",
         "label": "crud-api-Items-5e6f7a8b", "kind": "resource", "service": "dynamodb"}],
        "edges": [
            {"source": "external", "target": "arn:aws:execute-api:us-east-1:000000000000:abc123/dev", "count": 5,
             "errors": 2, "operations": {"apigateway:Execute": 5}},
            {"source": "arn:aws:execute-api:us-east-1:000000000000:abc123/dev",
             "target": "arn:aws:lambda:us-east-1:000000000000:function:crud-api-ItemsFunction-1a2b3c4d",
             "count": 5, "errors": 2, "operations": {"lambda:Invoke": 5}},
            {"source": "external", "target": "arn:aws:dynamodb:us-east-1:000000000000:table/crud-api-Items-5e6f7a8b",
             "count": 7, "errors": 0, "operations": {"dynamodb:Scan": 7}}]}  # a client looking: not drawn
    diagram = combine(arch, "crud-api", graph, physical={"ItemsApi": "abc123"},
                      throttles={("arn:aws:execute-api:us-east-1:000000000000:abc123/dev",
                                  "arn:aws:lambda:us-east-1:000000000000:function:crud-api-ItemsFunction-1a2b3c4d"): 1})
    assert diagram.edges[("ItemsApi", "ItemsFunction")].count == 5
    assert ("external", "Items") not in diagram.edges
    fn = diagram.nodes["ItemsFunction"]
    assert (fn.executions, fn.execution_errors, fn.throttles) == (5, 2, 1)
    wide, narrow = fit(diagram, 200), fit(diagram, 60)
    assert narrow.layout.width <= 60 < wide.layout.width  # compact boxes: it fits
    assert min(b.w for b in narrow.layout.boxes.values() if not b.dummy) >= COMPACT_BOX_W
    assert "inv 5" in wide.text.plain and "err 2" in wide.text.plain and "thr 1" in wide.text.plain
    assert "5 ✗2" in wide.text.plain
    lit = render(diagram, lit={("ItemsApi", "ItemsFunction"): "lit"}, palette=Palette(line_lit="bold magenta"))
    styles = {str(s.style) for s in lit.text.spans}
    assert "bold magenta" in styles


def test_activity_lights_edges_whose_counts_grew_for_a_while():
    arch = architecture("crud-api")

    def diagram(calls: int, errors: int = 0):
        graph = {"nodes": [{"id": "fn", "label": "crud-api-ItemsFunction-1a2b3c4d", "kind": "resource"},
                           {"id": "api", "label": "crud-api-ItemsApi-0a0b0c0d", "kind": "resource"}],
                 "edges": [{"source": "api", "target": "fn", "count": calls, "errors": errors,
                            "operations": {"lambda:Invoke": calls}}]}
        return combine(arch, "crud-api", graph)

    activity = Activity(hold=1.5)
    activity.update("crud-api", diagram(3), now=100.0)  # the first look: what happened before is not news
    assert activity.state(100.0) == ({}, set())
    activity.update("crud-api", diagram(5), now=101.0)
    lit, hot = activity.state(101.0)
    assert lit == {("ItemsApi", "ItemsFunction"): "lit"} and "ItemsFunction" in hot
    assert activity.next_change(101.0) == 102.5
    activity.update("crud-api", diagram(6, errors=1), now=102.0)
    assert activity.state(102.0)[0] == {("ItemsApi", "ItemsFunction"): "error"}
    assert activity.state(103.6) == ({}, set())
    activity.update("media-pipeline", diagram(9), now=104.0)  # another pattern: a new first look
    assert activity.state(104.0) == ({}, set())


def test_throttles_come_from_recorded_throttling_errors():
    from sandbox.observability.graph import throttled_edges as _throttle_edges

    span = {"service": "lambda", "operation": "Invoke", "resource": "arn:aws:lambda:us-east-1:000000000000:function:f",
            "caller": {"kind": "external"}, "error": {"code": "TooManyRequestsException"}}
    other = dict(span, error={"code": "ResourceNotFoundException"})
    edges = _throttle_edges([span, span, other])
    assert list(edges.values()) == [2], json.dumps({str(k): v for k, v in edges.items()})
