"""Draws a pattern's diagram: a box per resource with its live counters, arrows for the edges, counts on them.

Pure: a `model.Diagram` in, a rich `Text` out, so it is tested without an app. What just happened is passed
in (`lit` edges, `hot` nodes) and drawn brighter; errors are red wherever they show. `fit` picks the widest
boxes that fit the pane, then compact boxes, then leaves out the counts on the edges, so that every pattern fits
120 columns (the view pans when even that does not fit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.text import Text

from tui.patterns.canvas import Canvas
from tui.patterns.layout import Layout, layout
from tui.patterns.model import Diagram, DiagramEdge, DiagramNode

KIND_LABELS = {"statemachine": "state machine", "dlq": "DLQ", "api": "API", "client": "outside"}
STATUS_LABELS = {"CREATE_IN_PROGRESS": "creating…", "UPDATE_IN_PROGRESS": "updating…", "CREATE_COMPLETE": "created",
                 "UPDATE_COMPLETE": "updated", "DELETE_IN_PROGRESS": "deleting…", "CREATE_FAILED": "FAILED",
                 "UPDATE_FAILED": "FAILED", "DELETE_FAILED": "FAILED"}
SUFFIXES = ("Function", "Queue", "Table", "Bucket", "Rule")
MAX_PORT_ROWS = 5
MAX_BOX_W = 26  # a box is as wide as its name and counters need, up to this
MIN_BOX_W = 16  # room for a line of counters ("inv 12  err 3")
COMPACT_BOX_W = 12  # a counter a line ("inv 1.2k"), names cut short: when a wide pattern must fit the pane
SHORT_KINDS = {"state machine": "sfn", "function": "λ"}


@dataclass(frozen=True)
class Palette:
    """Styles of the drawing (the widget derives them from the app's theme)."""

    border: str = "blue"
    outside: str = "grey50"
    hot: str = "bold yellow"
    error: str = "bold red"
    progress: str = "yellow"
    ok: str = "green"
    title: str = "bold"
    muted: str = "grey50"
    value: str = "bold"
    warn: str = "bold yellow"
    line_idle: str = "grey35"
    line: str = "grey70"
    line_lit: str = "bold yellow"


@dataclass
class Rendered:
    text: Text
    layout: Layout
    verbose: bool = False
    edge_labels: bool = True  # False: left out to fit (the view and the legend say so)


def human(n: int | None) -> str:
    if n is None:
        return "–"
    if n < 1000:
        return str(n)
    if n < 10_000:
        return f"{n / 1000:.1f}k"
    if n < 1_000_000:
        return f"{n // 1000}k"
    return f"{n / 1_000_000:.1f}M"


def _words(label: str) -> list[str]:
    return re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+|[^A-Za-z0-9]+", label) or [label]


def short_name(label: str, room: int, shared: set[str] = frozenset()) -> str:
    """A node's name in `room` characters: without its kind suffix (the border says the kind), then without a
    first word it shares with other names of the pattern (`shared`), then cut with an ellipsis."""
    if len(label) <= room:
        return label
    words = _words(label)
    if len(words) > 1 and words[-1] in SUFFIXES:
        words = words[:-1]
    if len("".join(words)) > room and len(words) > 1 and words[0] in shared:
        words = words[1:]
    name = "".join(words)
    return name if len(name) <= room else name[: max(1, room - 1)] + "…"


def display_names(wanted: dict[str, tuple[str, int]], shared: set[str]) -> dict[str, str]:
    """Each node's name in its room (key -> (label, room)), shortened by `short_name` unless two would read
    the same: those are only cut (their ellipses differ where their names do)."""
    names = {k: short_name(label, room, shared) for k, (label, room) in wanted.items()}
    for k, (label, room) in wanted.items():
        if list(names.values()).count(names[k]) > 1:
            names[k] = short_name(label, room)
            if list(names.values()).count(names[k]) > 1:
                names[k] = label if len(label) <= room else label[: max(1, room - 1)] + "…"
    return names


def shared_first_words(labels) -> set[str]:
    """CamelCase first words that start more than one name (the pattern's common prefix, e.g. "Onboarding")."""
    firsts = [_words(label)[0] for label in labels]
    return {w for w in firsts if firsts.count(w) > 1 and len(w) > 2}


def counter_lines(node: DiagramNode, inner: int, palette: Palette, verbose: bool = False
                  ) -> list[list[tuple[str, str]]]:
    """The node's counters as styled runs: wrapped to `inner` columns, or one per line with long labels."""
    lines: list[list[tuple[str, str]]] = [[]]
    used = 0
    for name, value, long_name in node.counters():
        alarming = bool(value) and (name in ("err", "fail") or (node.kind == "dlq" and name == "depth"))
        style = palette.error if alarming else palette.warn if (value and name == "thr") else \
            palette.muted if value is None else palette.value
        shown = human(value)
        if verbose:
            lines[-1:] = [lines[-1], []] if lines[-1] else lines[-1:]
            lines[-1] += [(long_name, palette.muted), (" " * max(1, inner - len(long_name) - len(shown)), ""),
                          (shown, style)]
            continue
        width = len(name) + 1 + len(shown)
        if used and used + 2 + width > inner:
            lines.append([])
            used = 0
        if used:
            lines[-1].append(("  ", ""))
            used += 2
        lines[-1] += [(name + " ", palette.muted), (shown, style)]
        used += width
    if node.outside and not node.counters():
        note = "outside the stack" if inner >= 17 else "not in stack" if inner >= 12 else "outside"
        return [[(note, palette.muted)]]
    return [line for line in lines if line] or [[]]


def _one_line(node: DiagramNode, palette: Palette, verbose: bool) -> int:
    """How wide the node's counters want to be: all on one line, or the longest label and value."""
    if verbose and node.counters():
        return max(len(long) + 2 + len(human(v)) for _, v, long in node.counters())
    return sum(len(t) for t, _ in counter_lines(node, 1000, palette)[0])


def _widest_counter(node: DiagramNode) -> int:
    """The longest single counter ("depth 1.2k"): a box narrower than it would break its border."""
    return max((len(name) + 1 + len(human(value)) for name, value, _ in node.counters()), default=0)


def edge_label(edge: DiagramEdge, palette: Palette) -> list[tuple[str, str]]:
    if not edge.count:
        return []
    parts = [(human(edge.count), palette.value if edge.count else palette.muted)]
    if edge.errors:
        parts.append((f" ✗{human(edge.errors)}", palette.error))
    return parts


def _order(diagram: Diagram) -> list[str]:
    inside = [k for k, n in diagram.nodes.items() if not n.outside]
    return inside + [k for k, n in diagram.nodes.items() if n.outside]


def fit(diagram: Diagram, width: int, height: int | None = None, **options) -> Rendered:
    """The drawing in `width` columns if it can be. With room to spare (`height` rows too) the boxes list their
    counters one per line with long labels; else the widest columns of boxes give up room first, down to
    MIN_BOX_W; then compact boxes (a counter a line, down to COMPACT_BOX_W), then without the counts on the
    edges (the boxes still count what came in). If nothing fits, the readable MIN_BOX_W drawing: the view pans.
    A few renders at most: it runs on the UI thread."""
    if height is not None:
        roomy = render(diagram, verbose=True, **options)
        if roomy.layout.width <= width and roomy.layout.height <= height:
            return roomy
    readable = _narrowed(diagram, width, MAX_BOX_W, MIN_BOX_W, options)
    if readable.layout.width <= width:
        return readable
    for labels in (True, False):
        compact = _narrowed(diagram, width, MIN_BOX_W, COMPACT_BOX_W, dict(options, edge_labels=labels))
        if compact.layout.width <= width:
            return compact
    return readable


def _narrowed(diagram: Diagram, width: int, widest: int, narrowest: int, options: dict) -> Rendered:
    """The drawing with its widest columns of boxes narrowed (not below `narrowest`) until it fits `width`."""
    rendered = render(diagram, box_w=widest, min_w=narrowest, **options)
    for _ in range(4):  # the gaps move a little when boxes change width: a second look is usually enough
        excess = rendered.layout.width - width
        if excess <= 0:
            break
        columns: dict[int, int] = {}
        for box in rendered.layout.boxes.values():
            if not box.dummy:
                columns[box.layer] = box.w
        cap = _cap(list(columns.values()), excess, narrowest)
        if cap is None:
            break
        rendered = render(diagram, box_w=cap, min_w=narrowest, **options)
    return rendered


def _cap(widths: list[int], excess: int, narrowest: int = MIN_BOX_W) -> int | None:
    """The widest box width that takes `excess` columns off columns this wide (none narrower than `narrowest`)."""
    if all(w <= narrowest for w in widths):
        return None
    for cap in range(max(widths) - 1, narrowest - 1, -1):
        if sum(w - max(narrowest, min(w, cap)) for w in widths) >= excess:
            return cap
    return narrowest


def render(diagram: Diagram, *, box_w: int | dict[str, int] = MAX_BOX_W, min_w: int = MIN_BOX_W,
           lit: dict[tuple[str, str], str] | None = None, hot: set[str] | None = None, deployed: bool = True,
           palette: Palette = Palette(), verbose: bool = False, edge_labels: bool = True) -> Rendered:
    """The drawing with boxes at most `box_w` wide (one cap, or one per node) and at least `min_w`; `verbose`: a
    counter per line with long labels; `edge_labels`: the counts on the edges."""
    lit, hot = lit or {}, hot or set()
    caps = box_w if isinstance(box_w, dict) else {k: box_w for k in diagram.nodes}
    shown = {k: deployed or n.outside for k, n in diagram.nodes.items()}  # counters: not before the deploy
    wanted = {k: max(len(n.label), _one_line(n, palette, verbose) if shown[k] else 0) + 4
              for k, n in diagram.nodes.items()}
    floors = {k: max(min_w, _widest_counter(n) + 4 if shown[k] else 0) for k, n in diagram.nodes.items()}
    widths = {k: max(floors[k], min(caps[k], wanted[k])) for k in diagram.nodes}
    labels = {key: edge_label(e, palette) for key, e in diagram.edges.items()} if edge_labels and deployed else {}
    label_widths = {k: sum(len(t) for t, _ in parts) for k, parts in labels.items()}
    placed = None
    for _ in range(2):  # the second time with each column's width known, so counters wrap only when they must
        contents = {k: counter_lines(n, widths[k] - 4, palette, verbose) if shown[k] else [] for k, n in
                    diagram.nodes.items()}
        base = 2 + max([len(c) for c in contents.values()] + [1])  # one height for all: rows line up
        placed = layout(_order(diagram), list(diagram.edges), widths, base, label_widths, max_ports=MAX_PORT_ROWS)
        widths = {k: placed.boxes[k].w for k in diagram.nodes}
    canvas = Canvas(placed.width, placed.height)

    for route in placed.routes:
        edge = diagram.edges[route.edge]
        state = lit.get(route.edge)
        if not deployed or not (edge.count or state):
            style, rank = palette.line_idle, 0
        elif state == "error":
            style, rank = palette.error, 3
        elif state:
            style, rank = palette.line_lit, 2
        else:
            style, rank = palette.line, 1
        canvas.polyline(route.points, style, rank)
        x, y, head = route.arrow
        canvas.text(x, y, head, style)
        parts = labels.get(route.edge) or []
        if route.label_at and parts and deployed:
            lx, ly = route.label_at
            width = sum(len(t) for t, _ in parts)
            if canvas.free_run(lx, ly, width):
                canvas.spans(lx, ly, parts)

    names = display_names({k: (n.label, placed.boxes[k].w - 4) for k, n in diagram.nodes.items()},
                          shared_first_words(n.label for n in diagram.nodes.values() if not n.outside))
    for key, box in placed.boxes.items():
        if box.dummy:
            continue
        _draw_node(canvas, diagram.nodes[key], names[key], box.x, box.y, box.w, box.h, contents[key],
                   _border_style(diagram.nodes[key], key in hot, deployed, palette), deployed, palette)
    for route in placed.routes:  # the end without the arrow leaves its box through a junction in the border
        x, y = route.points[-1] if route.arrow[2] == "◀" else route.points[0]
        canvas.join(x, y, "┤" if route.arrow[2] == "◀" else "├")
    return Rendered(canvas.render(), placed, verbose, edge_labels)


def _border_style(node: DiagramNode, hot: bool, deployed: bool, palette: Palette) -> str:
    if node.status.endswith("FAILED"):
        return palette.error
    if node.status.endswith("IN_PROGRESS"):
        return palette.progress
    if node.status.endswith("COMPLETE") and not node.status.startswith("DELETE"):
        return palette.ok
    if not deployed and not node.outside:
        return palette.muted
    if hot:
        return palette.hot
    if node.kind == "dlq" and node.depth:
        return palette.error
    return palette.outside if node.outside else palette.border


def _draw_node(canvas: Canvas, node: DiagramNode, name: str, x: int, y: int, w: int, h: int,
               lines: list[list[tuple[str, str]]], border: str, deployed: bool, palette: Palette) -> None:
    title_style = palette.muted if (node.outside or not deployed) else palette.title
    canvas.text(x, y, "╭", border)
    canvas.text(x + 1, y, " ", border)
    canvas.text(x + 2, y, name, title_style + (" italic" if node.outside else ""))
    canvas.text(x + 2 + len(name), y, " " + "─" * (w - 4 - len(name)) + "╮", border)
    for row in range(1, h - 1):  # the inside is text too: lines passing behind a box do not show through
        canvas.text(x, y + row, "│", border)
        canvas.text(x + 1, y + row, " " * (w - 2), "")
        canvas.text(x + w - 1, y + row, "│", border)
    for i, parts in enumerate(lines[: h - 2]):
        canvas.spans(x + 2, y + 1 + i, parts)
    kind = KIND_LABELS.get(node.kind, node.kind)
    kind = kind if len(kind) + 5 <= w else SHORT_KINDS.get(kind, kind)
    status = STATUS_LABELS.get(node.status, "")
    tail = f" {kind} " if not status else f" {kind} · {status} " if len(kind) + len(status) + 8 <= w else \
        f" {status} "  # while deploying, the status wins over the kind
    fill = max(0, w - 3 - len(tail))
    canvas.text(x, y + h - 1, "╰" + "─" * fill, border)
    kind_style = palette.error if node.kind == "dlq" else palette.muted
    canvas.text(x + 1 + fill, y + h - 1, tail[: w - 3], kind_style if not status else border)
    canvas.text(x + w - 2, y + h - 1, "─╯", border)
