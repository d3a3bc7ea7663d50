"""What moved since the previous refresh: edges whose counts grew light up, nodes whose counters changed glow.

The service map is cumulative, so traffic shows as a difference between two refreshes. The first look at a
pattern only records where the counts stand (nothing lights for what happened before you looked). A lit edge
stays lit for `hold` seconds, in the error style when its errors grew.
"""

from __future__ import annotations

from tui.patterns.model import Diagram, DiagramNode

HOLD_SECONDS = 1.8


def _gauge(node: DiagramNode) -> tuple:
    return (node.calls, node.sent, node.errors, node.executions, node.execution_errors, node.throttles, node.depth,
            node.in_flight)


class Activity:
    def __init__(self, hold: float = HOLD_SECONDS):
        self.hold = hold
        self.scope: object = None
        self._edges: dict[tuple[str, str], tuple[int, int]] = {}
        self._nodes: dict[str, tuple] = {}
        self._lit: dict[tuple[str, str], tuple[float, str]] = {}
        self._hot: dict[str, float] = {}
        self.lit_total = 0  # edges lit so far in this scope (a count tests and the curious can read)

    def reset(self, scope: object) -> None:
        self.__init__(self.hold)
        self.scope = scope

    def update(self, scope: object, diagram: Diagram, now: float) -> None:
        """Compares `diagram` with the previous one of the same scope (e.g. the pattern's stack)."""
        if scope != self.scope:
            self.reset(scope)
            first = True
        else:
            first = not self._edges and not self._nodes
        for key, edge in diagram.edges.items():
            count, errors = self._edges.get(key, (0, 0))
            if not first and (edge.count > count or edge.errors > errors):
                self._lit[key] = (now + self.hold, "error" if edge.errors > errors else "lit")
                self.lit_total += 1
            self._edges[key] = (edge.count, edge.errors)
        for key, node in diagram.nodes.items():
            gauge = _gauge(node)
            before = self._nodes.get(key)
            if not first and before is not None and gauge != before and node.seen:
                self._hot[key] = now + self.hold
            self._nodes[key] = gauge

    def state(self, now: float) -> tuple[dict[tuple[str, str], str], set[str]]:
        """The edges lit now (edge -> "lit" or "error") and the nodes that glow."""
        lit = {key: kind for key, (until, kind) in self._lit.items() if until > now}
        hot = {key for key, until in self._hot.items() if until > now}
        return lit, hot

    def next_change(self, now: float) -> float | None:
        """When the picture changes next on its own (the earliest expiry after `now`), or None."""
        times = [until for until, _ in self._lit.values() if until > now] + [t for t in self._hot.values() if t > now]
        return min(times) if times else None
