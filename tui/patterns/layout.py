"""A layered (Sugiyama-style) layout of a small directed graph on a character grid: flow runs left to right.

Cycles are broken by drawing their back edges reversed (the arrow still points the right way); each node goes
one column right of its furthest predecessor; long edges pass through the columns in between as one-row
placeholders; a few barycenter sweeps order each column to cut crossings; rows are chosen so a chain of
boxes lines up. Edges are routed orthogonally: out of the source's right side, down or up a vertical channel
of their own in the gap, into the target's left side. Pure and deterministic: the same graph, the same picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median


@dataclass
class Box:
    key: str
    layer: int
    x: int = 0
    y: int = 0
    w: int = 0
    h: int = 1
    dummy: bool = False


@dataclass
class Route:
    edge: tuple[str, str]               # (source, target) as given
    points: list[tuple[int, int]]       # orthogonal polyline, from the left box's border to the right box's
    arrow: tuple[int, int, str]         # where the head goes and which way it points
    label_at: tuple[int, int] | None    # where the edge's label starts (on its first horizontal run)


@dataclass
class Layout:
    boxes: dict[str, Box] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    width: int = 0
    height: int = 0


@dataclass
class _Segment:
    edge: tuple[str, str]
    left: str           # the box it leaves (its right side)
    right: str          # the box it enters (its left side)
    first: bool         # the edge's leftmost segment (carries the label)
    last: bool


def _break_cycles(keys: list[str], edges: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The back edges of a depth-first search started from the sources first (in the given order)."""
    succ: dict[str, list[str]] = {k: [] for k in keys}
    indeg = {k: 0 for k in keys}
    for a, b in edges:
        succ[a].append(b)
        indeg[b] += 1
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    back: set[tuple[str, str]] = set()

    def visit(start: str) -> None:
        stack = [(start, iter(succ[start]))]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))

    for k in sorted(keys, key=lambda k: (indeg[k] > 0, keys.index(k))):
        if k not in state:
            visit(k)
    return back


def _layers(keys: list[str], dag: list[tuple[str, str]]) -> dict[str, int]:
    preds: dict[str, list[str]] = {k: [] for k in keys}
    succs: dict[str, list[str]] = {k: [] for k in keys}
    for a, b in dag:
        preds[b].append(a)
        succs[a].append(b)
    layer: dict[str, int] = {}

    def depth(k: str) -> int:
        if k not in layer:
            layer[k] = 0  # guards recursion; the graph is acyclic here
            layer[k] = max((depth(p) + 1 for p in preds[k]), default=0)
        return layer[k]

    for k in keys:
        depth(k)
    for k in keys:  # a source sits just left of its nearest target, not in column 0 far from it
        if not preds[k] and succs[k]:
            layer[k] = max(0, min(layer[s] for s in succs[k]) - 1)
    return layer


def _crossings(order: list[list[str]], segs: list[_Segment]) -> int:
    pos = {k: i for column in order for i, k in enumerate(column)}
    by_gap: dict[int, list[tuple[int, int]]] = {}
    layer_of = {k: li for li, column in enumerate(order) for k in column}
    for s in segs:
        by_gap.setdefault(layer_of[s.left], []).append((pos[s.left], pos[s.right]))
    total = 0
    for pairs in by_gap.values():
        for i, (a1, b1) in enumerate(pairs):
            for a2, b2 in pairs[i + 1:]:
                total += (a1 - a2) * (b1 - b2) < 0
    return total


def _order(columns: list[list[str]], segs: list[_Segment]) -> list[list[str]]:
    preds: dict[str, list[str]] = {}
    succs: dict[str, list[str]] = {}
    for s in segs:
        preds.setdefault(s.right, []).append(s.left)
        succs.setdefault(s.left, []).append(s.right)
    best = [list(c) for c in columns]
    best_score = _crossings(best, segs)
    current = [list(c) for c in columns]
    for sweep in range(8):
        down = sweep % 2 == 0
        indices = range(1, len(current)) if down else range(len(current) - 2, -1, -1)
        for li in indices:
            ref = current[li - 1] if down else current[li + 1]
            pos = {k: i for i, k in enumerate(ref)}
            nbrs = preds if down else succs

            def bary(item: tuple[int, str]) -> float:
                i, k = item
                found = [pos[n] for n in nbrs.get(k, []) if n in pos]
                return sum(found) / len(found) if found else float(i)

            current[li] = [k for _, k in sorted(enumerate(current[li]), key=lambda it: (bary(it), it[0]))]
        score = _crossings(current, segs)
        if score < best_score:
            best, best_score = [list(c) for c in current], score
    return best


def _ports(count: int, inner: int) -> list[int]:
    """Rows (from the box's top) of `count` ports spread over a side of `inner` rows between the corners."""
    if count <= inner:
        return [1 + ((2 * i + 1) * inner) // (2 * count) for i in range(count)]
    return [1 + (i * inner) // count for i in range(count)]


def layout(keys: list[str], edges: list[tuple[str, str]], box_w: int | dict[str, int], box_h: int | dict[str, int],
           labels: dict[tuple[str, str], int] | None = None, row_gap: int = 1, max_ports: int = 5) -> Layout:
    """Places `keys` as boxes at least box_w wide (a column is as wide as its widest box) and at least box_h high
    (taller when they need more ports): one size for all, or one per key. Routes `edges` between them; `labels`
    gives the width of each edge's label."""
    labels = labels or {}
    keys = list(dict.fromkeys(keys))
    edges = [e for e in dict.fromkeys(edges) if e[0] != e[1] and e[0] in keys and e[1] in keys]
    back = _break_cycles(keys, edges)
    dag = [(b, a) if (a, b) in back else (a, b) for a, b in edges]
    dag_unique = list(dict.fromkeys(dag))
    layer = _layers(keys, dag_unique)
    out = Layout()
    for k in keys:
        out.boxes[k] = Box(k, layer[k], w=box_w if isinstance(box_w, int) else box_w[k],
                           h=box_h if isinstance(box_h, int) else box_h[k])

    segs: list[_Segment] = []
    for (a, b), (left, right) in zip(edges, dag):
        chain = [left]
        for li in range(layer[left] + 1, layer[right]):
            dummy = f"\0{a}\0{b}\0{li}"
            out.boxes[dummy] = Box(dummy, li, w=0, h=1, dummy=True)
            chain.append(dummy)
        chain.append(right)
        for i in range(len(chain) - 1):
            segs.append(_Segment((a, b), chain[i], chain[i + 1], i == 0, i == len(chain) - 2))

    for k in keys:  # room for a port per edge on each side (up to max_ports rows; beyond that they share)
        sides = (sum(s.right == k for s in segs), sum(s.left == k for s in segs))
        out.boxes[k].h = max(out.boxes[k].h, 2 + min(max_ports, max(sides)))
    n_layers = max((b.layer for b in out.boxes.values()), default=-1) + 1
    columns: list[list[str]] = [[] for _ in range(n_layers)]
    for k in _discovery(keys, dag_unique) + [k for k in out.boxes if out.boxes[k].dummy]:
        columns[out.boxes[k].layer].append(k)
    columns = _order(columns, segs)
    pos = {k: i for column in columns for i, k in enumerate(column)}

    # ports: the order of a box's edges follows the order of the boxes at their other end
    out_port: dict[int, int] = {}
    in_port: dict[int, int] = {}
    for k, box in out.boxes.items():
        leaving = sorted((i for i, s in enumerate(segs) if s.left == k), key=lambda i: pos[segs[i].right])
        entering = sorted((i for i, s in enumerate(segs) if s.right == k), key=lambda i: pos[segs[i].left])
        for ports, group in ((out_port, leaving), (in_port, entering)):
            rows = [0] * len(group) if box.dummy else _ports(len(group), max(1, box.h - 2))
            for i, row in zip(group, rows):
                ports[i] = row

    _rows(columns, out.boxes, segs, out_port, in_port, row_gap)
    _columns_x(columns, out.boxes, segs, out_port, in_port, labels, out)
    return out


def _discovery(keys: list[str], dag: list[tuple[str, str]]) -> list[str]:
    """Breadth-first from the sources, so a column starts in flow order."""
    succs: dict[str, list[str]] = {k: [] for k in keys}
    indeg = {k: 0 for k in keys}
    for a, b in dag:
        succs[a].append(b)
        indeg[b] += 1
    seen: list[str] = []
    queue = [k for k in keys if indeg[k] == 0]
    while queue or len(seen) < len(keys):
        if not queue:
            queue = [next(k for k in keys if k not in seen)]
        k = queue.pop(0)
        if k in seen:
            continue
        seen.append(k)
        queue.extend(s for s in succs[k] if s not in seen)
    return seen


def _isotonic(values: list[float], weights: list[float]) -> list[float]:
    """The non-decreasing sequence closest to `values` (weighted least squares): pool adjacent violators."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for v, w in zip(values, weights):
        blocks.append([v, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (m2, w2, c2), (m1, w1, c1) = blocks.pop(), blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    out: list[float] = []
    for mean, _, count in blocks:
        out += [mean] * count
    return out


def _rows(columns, boxes, segs, out_port, in_port, gap) -> None:
    """Tops of the boxes: each wants its edges level with the other ends; a column keeps its order and its
    boxes do not overlap, and within that the tops are as close to the wishes as they can be (isotonic fit)."""
    into: dict[str, list[int]] = {}
    out_of: dict[str, list[int]] = {}
    for i, s in enumerate(segs):
        into.setdefault(s.right, []).append(i)
        out_of.setdefault(s.left, []).append(i)

    def wishes(k: str, left: bool, right: bool) -> list[float]:
        out = []
        if left:
            out += [boxes[segs[i].left].y + out_port[i] - in_port[i] for i in into.get(k, [])]
        if right:
            out += [boxes[segs[i].right].y + in_port[i] - out_port[i] for i in out_of.get(k, [])]
        return out

    def place(column: list[str], left: bool, right: bool) -> None:
        offsets, at = [], 0
        for k in column:
            offsets.append(at)
            at += boxes[k].h + gap
        values, weights = [], []
        for k, offset in zip(column, offsets):
            wanted = wishes(k, left, right)
            values.append((median(wanted) if wanted else boxes[k].y) - offset)
            weights.append((1.0 if not boxes[k].dummy else 0.5) if wanted else 0.05)
        for k, offset, z in zip(column, offsets, _isotonic(values, weights)):
            boxes[k].y = int(z // 1) + offset

    for column in columns:
        place(column, False, False)  # stacked, as a start
    for _ in range(4):
        for column in columns[1:]:
            place(column, True, False)
        for column in reversed(columns[:-1]):
            place(column, False, True)
    for column in columns:
        place(column, True, True)
    for column in columns[1:]:
        place(column, True, False)
    top = min((b.y for b in boxes.values()), default=0)
    for b in boxes.values():
        b.y -= top


def _columns_x(columns, boxes, segs, out_port, in_port, labels, out: Layout) -> None:
    """x of each column and the routes through each gap (a label run, a channel per vertical, the arrow)."""
    x = 0
    routes: dict[tuple[str, str], Route] = {}
    for li, column in enumerate(columns):
        for k in column:
            boxes[k].x = x
        width = max((boxes[k].w for k in column), default=0)
        for k in column:  # one width per column: boxes line up, placeholders pass all the way through
            boxes[k].w = width
        gap_segs = [i for i, s in enumerate(segs) if boxes[s.left].layer == li]
        label_w = max((labels.get(segs[i].edge, 0) for i in gap_segs if segs[i].first), default=0)
        label_zone = label_w + 2 if label_w else 1
        rows = {i: (boxes[segs[i].left].y + out_port[i], boxes[segs[i].right].y + in_port[i]) for i in gap_segs}
        channel_of = _channels({i: r for i, r in rows.items() if r[0] != r[1]})
        n_channels = max(channel_of.values(), default=-1) + 1
        start = x + width            # first column after the boxes
        next_x = start + label_zone + n_channels + 2 if gap_segs else start + 4
        for i in gap_segs:
            s = segs[i]
            left, right = boxes[s.left], boxes[s.right]
            y1, y2 = left.y + out_port[i], right.y + in_port[i]
            x1 = left.x + left.w - 1 if not left.dummy else left.x
            x2 = next_x
            route = routes.setdefault(s.edge, Route(s.edge, [], (0, 0, "▶"), None))
            if left.dummy and route.points:
                route.points.append((left.x + left.w - 1, y1))  # the pass through the placeholder's column
            if not route.points:
                route.points.append((x1, y1))
            if y1 != y2:
                cx = start + label_zone + channel_of[i]
                route.points += [(cx, y1), (cx, y2)]
            route.points.append((x2, y2))
            reversed_edge = _is_reversed(s, boxes)
            if s.first:
                route.label_at = (start + 1, y1) if labels.get(s.edge) else None
                if reversed_edge:
                    route.arrow = (start, y1, "◀")
            if s.last and not reversed_edge:
                route.arrow = (x2 - 1, y2, "▶")
        x = next_x
    out.routes = list(routes.values())
    real = [b for b in boxes.values()]
    out.width = max((b.x + b.w for b in real), default=0)
    out.height = max((b.y + b.h for b in real), default=0)


def _channels(rows: dict[int, tuple[int, int]]) -> dict[int, int]:
    """A vertical channel (0 = leftmost) for each segment that changes rows ({segment: (row in, row out)}).

    Runs that do not overlap share a channel. A segment that enters the gap on the row where another leaves it
    must turn down or up left of the other's channel, or their horizontal runs would merge into one line.
    """
    left_of: dict[int, set[int]] = {i: set() for i in rows}   # i's channel must be right of these
    for a, (_, a_out) in rows.items():
        for b, (b_in, _) in rows.items():
            if a != b and b_in == a_out:
                left_of[a].add(b)
    order: list[int] = []
    placed: set[int] = set()

    def visit(i: int, trail: set[int]) -> None:  # depth first: what must be left comes first (cycles cut)
        if i in placed or i in trail:
            return
        for j in sorted(left_of[i], key=lambda j: (min(rows[j]), max(rows[j]))):
            visit(j, trail | {i})
        placed.add(i)
        order.append(i)

    for i in sorted(rows, key=lambda i: (min(rows[i]), max(rows[i]))):
        visit(i, set())
    taken: list[list[tuple[int, int]]] = []
    channel_of: dict[int, int] = {}
    for i in order:
        lo, hi = min(rows[i]), max(rows[i])
        least = max((channel_of[j] + 1 for j in left_of[i] if j in channel_of), default=0)
        free = next((c for c in range(least, len(taken))
                     if all(hi < a - 1 or lo > b + 1 for a, b in taken[c])), None)
        if free is None:
            taken.append([])
            free = len(taken) - 1
        taken[free].append((lo, hi))
        channel_of[i] = free
    return channel_of


def _is_reversed(seg: _Segment, boxes: dict[str, Box]) -> bool:
    """The edge runs right to left (a back edge of a cycle): its target is the leftmost box of the chain."""
    a, b = seg.edge
    return boxes[a].layer > boxes[b].layer
