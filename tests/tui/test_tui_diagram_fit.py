"""Every pattern's diagram fits a 120-column terminal, with its traffic on it: the drawing gives up room (narrower
boxes, then the counts on the edges) before any box leaves the pane; at 80 columns it fits or pans. The drawing
as a pure function, and the Patterns tab at 120x36 and 80x24 on the committed recording (no LocalStack)."""

from __future__ import annotations

import asyncio

import pytest

from sandbox.deploy.patterns import list_patterns
from sandbox.observability.graph import build_graph
from tests.tui.test_tui import RECORDING, until
from tests.tui.test_tui_patterns import architecture, show_pattern
from tui.app import SandboxApp
from tui.backend import Backend, Recording
from tui.patterns.diagram import fit
from tui.patterns.model import SERVICES, DiagramEdge, DiagramNode, combine

PATTERNS = [p.name for p in list_patterns()]
ZOOMED = 118         # the diagram's columns at 120x36 with z: the tab less the borders
BESIDE_THE_LIST = 94  # ... beside the pattern list, less a vertical scrollbar


def with_traffic(name: str, calls: int, errors: int):
    """The pattern's diagram after a run with `calls` requests on every edge (`errors` of them failed), sent by a
    client into each resource nothing else feeds: as wide as its boxes and edge labels get."""
    diagram = combine(architecture(name), name, None)
    for node in diagram.nodes.values():
        node.calls = node.sent = node.executions = calls
        node.errors = node.execution_errors = errors
        node.throttles, node.depth, node.in_flight = errors, errors, 1
    fed = {e.target for e in diagram.edges.values()}
    diagram.nodes["external"] = DiagramNode("external", "client", "client", outside=True, sent=calls)
    for key, node in list(diagram.nodes.items()):
        if key not in fed and not node.outside:
            diagram.edges[("external", key)] = DiagramEdge("external", key)
    for edge in diagram.edges.values():
        edge.count, edge.errors = calls, errors
    return diagram


def recorded(name: str):
    return combine(architecture(name), name, build_graph(Recording.load(RECORDING).spans))


def assert_whole(rendered) -> None:
    """Every box is drawn whole: its corners and side borders where the layout put them."""
    rows = rendered.text.plain.splitlines()
    for key, box in rendered.layout.boxes.items():
        if box.dummy:
            continue
        assert rows[box.y][box.x] == "╭" and rows[box.y][box.x + box.w - 1] == "╮", key
        assert rows[box.y + box.h - 1][box.x] == "╰" and rows[box.y + box.h - 1][box.x + box.w - 1] == "╯", key
        for y in range(box.y + 1, box.y + box.h - 1):
            assert rows[y][box.x] in "│┤├" and rows[y][box.x + box.w - 1] in "│┤├", (key, rows[y])


@pytest.mark.parametrize("name", PATTERNS)
@pytest.mark.parametrize("calls,errors", [(0, 0), (9, 2), (480, 37), (12_345, 678)])
def test_every_pattern_with_traffic_fits_120_columns(name, calls, errors):
    diagram = with_traffic(name, calls, errors)
    zoomed = fit(diagram, ZOOMED, 30)
    assert zoomed.layout.width <= ZOOMED and zoomed.layout.height <= 30, zoomed.text.plain
    assert_whole(zoomed)
    if calls < 1000:  # beside the list too, unless its queues hold thousands
        beside = fit(diagram, BESIDE_THE_LIST, 27)
        assert beside.layout.width <= BESIDE_THE_LIST, beside.text.plain
        assert_whole(beside)


def test_the_recorded_onboarding_run_fits_beside_the_list_and_keeps_its_edge_counts_when_zoomed():
    diagram = recorded("user-onboarding")
    zoomed = fit(diagram, ZOOMED, 30)
    assert zoomed.layout.width <= ZOOMED and zoomed.edge_labels and "9 ✗8" in zoomed.text.plain
    beside = fit(diagram, BESIDE_THE_LIST, 27)
    assert beside.layout.width <= BESIDE_THE_LIST
    assert_whole(zoomed)
    assert_whole(beside)


def test_too_narrow_for_any_drawing_keeps_readable_boxes_and_pans():
    from tui.patterns.diagram import MIN_BOX_W

    rendered = fit(with_traffic("media-pipeline", 9, 2), 57, 17)
    assert rendered.layout.width > 57
    assert all(b.w >= MIN_BOX_W for b in rendered.layout.boxes.values() if not b.dummy)
    assert_whole(rendered)


class Busy(Backend):
    """Every pattern deployed, `calls` requests on each of its links (`errors` failed), a client feeding it."""

    live, label = True, "fake"
    calls, errors = 480, 37

    def start(self, on_progress) -> str:
        return "fake backend"

    def stacks(self) -> list[dict]:
        return [{"name": name, "status": "CREATE_COMPLETE", "outputs": {}} for name in PATTERNS]

    def stack_resources(self, stack: str) -> list[dict]:
        return [{"logical_id": key, "physical_id": f"{stack}-{key}-phys", "type": node.resource_type}
                for key, node in architecture(stack).nodes.items()]

    def gauges(self, resources: list[dict]) -> dict[str, dict]:
        return {}

    def throttles(self, cursor):
        return {}, cursor

    def graph(self, since_ts: float | None = None) -> dict:
        nodes, edges = [], []
        for name in PATTERNS:
            arch = architecture(name)
            for key, node in arch.nodes.items():
                nodes.append({"id": f"{name}-{key}-phys", "label": f"{name}-{key}-phys", "kind": "resource",
                              "service": sorted(SERVICES.get(node.kind, {node.service or "lambda"}))[0],
                              "executions": self.calls, "execution_errors": self.errors})
            fed = {target for _, target in arch.links}
            links = list(arch.links) + [(None, k) for k, n in arch.nodes.items() if k not in fed and not n.outside]
            for source, target in links:
                edges.append({"source": f"{name}-{source}-phys" if source else "external",
                              "target": f"{name}-{target}-phys", "count": self.calls, "errors": self.errors,
                              "operations": {"service:Call": self.calls}})
        nodes.append({"id": "external", "label": "external", "kind": "external", "service": "external"})
        return {"nodes": nodes, "edges": edges}


def pan_keys_in_footer(app) -> set[str]:
    return {b.binding.key_display for b in app.screen.active_bindings.values()
            if b.binding.show and b.binding.action in ("scroll_left", "scroll_home", "page_up")}


async def visible_boxes(pilot, pane) -> tuple[set[str], set[str]]:
    """(the boxes wholly inside the diagram's pane, all the boxes), once the drawing has its size."""
    view = pane.view
    await pilot.pause()
    await until(pilot, lambda: view.rendered is not None, 10, "the drawing")
    region = view.scrollable_content_region
    # the canvas is centred in the pane when it is smaller: where its top-left cell is on screen
    canvas = view.query_one("#pattern-diagram-canvas")
    left, top = canvas.region.x - region.x, canvas.region.y - region.y
    boxes = {k: b for k, b in view.rendered.layout.boxes.items() if not b.dummy}
    inside = {k for k, b in boxes.items()
              if left + b.x >= 0 and left + b.x + b.w <= region.width and top + b.y >= 0
              and top + b.y + b.h <= region.height}
    return inside, set(boxes)


@pytest.mark.parametrize("name", PATTERNS)
def test_every_pattern_with_traffic_is_wholly_on_screen_at_120x36_beside_the_list_and_zoomed(name):
    async def scenario():
        app = SandboxApp(backend=Busy())
        async with app.run_test(size=(120, 36)) as pilot:
            pane = await show_pattern(pilot, name)
            await until(pilot, lambda: pane.diagram.observed and pane.diagram.edges[next(iter(
                architecture(name).links))].count, 10, "the traffic on the diagram")
            inside, boxes = await visible_boxes(pilot, pane)
            assert inside == boxes, f"off screen: {boxes - inside}\n{pane.view.plain}"
            await pilot.press("z")
            await until(pilot, lambda: pane.has_class("-zoomed"), 5, "the zoom")
            inside, boxes = await visible_boxes(pilot, pane)
            assert inside == boxes, f"off screen: {boxes - inside}\n{pane.view.plain}"
            assert pane.view.max_scroll_x == 0
            assert app.focused is pane.view and not pan_keys_in_footer(app)  # nothing to pan to

    asyncio.run(scenario())


def test_at_80x24_a_diagram_too_wide_pans_with_the_keys_to_every_box():
    async def scenario():
        app = SandboxApp(replay=RECORDING)
        async with app.run_test(size=(80, 24)) as pilot:
            pane = await show_pattern(pilot, "user-onboarding")
            view = pane.view
            view.focus()
            await until(pilot, lambda: view.rendered is not None and view.max_scroll_x > 0, 10, "a wide drawing")
            await pilot.pause()
            assert pan_keys_in_footer(app) == {"←↓↑→ hjkl", "home/end", "pgup/dn"}
            assert "tab, then ←→↑↓" not in view.border_subtitle  # it has the focus: the keys are below
            boxes = {k: b for k, b in view.rendered.layout.boxes.items() if not b.dummy}
            width = view.scrollable_content_region.width
            seen: set[str] = set()
            for key in ["right"] * (view.max_scroll_x + 1):  # left to right, a column a press
                seen |= {k for k, b in boxes.items() if view.scroll_x <= b.x and b.x + b.w <= view.scroll_x + width}
                await pilot.press(key)
            assert view.scroll_x == view.max_scroll_x
            assert seen == set(boxes)  # every box was whole on screen at some point of the way

    asyncio.run(scenario())
