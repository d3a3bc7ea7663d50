"""The command palette's things (ctrl+p): scenarios, dead-letter queues, patterns, recent traces, faults.

The panes' key bindings are in the palette as actions ("Flow: Errors", app.py); this provider adds what the
sandbox holds, so "retry" finds "Run retry-storm" and a queue's name finds its DLQ. Each entry does what the tab's
own key does, confirmation included: picking "Run X" opens the Scenarios tab on X and asks as `r` does. What a
recording cannot do (runs, deploys, faults) is not offered in replay mode.

The lists are read when the palette opens: the panes' state on the UI thread, at once; the live DLQs and stacks in
a thread (the sandbox may be slow), so a queue created a moment ago is found without visiting its tab.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.format import span_what

RECENT_TRACES = 30  # the newest traces of the Flow timeline offered as "Trace <id>"
LIVE_LISTS_TIMEOUT = 15.0  # seconds a search waits for the live DLQ and stack lists (the rest shows at once)


@dataclass(frozen=True)
class Entry:
    title: str
    help: str
    run: Callable[[], None]


def recent_traces(spans: list[dict], limit: int = RECENT_TRACES) -> list[dict]:
    """The newest span of each of the last `limit` traces (newest first), skipping noise (log shipping, polls)."""
    seen: set[str] = set()
    found: list[dict] = []
    for span in reversed(spans):
        trace_id = span.get("trace_id")
        if not trace_id or span.get("noise") or trace_id in seen:
            continue
        seen.add(trace_id)
        found.append(span)
        if len(found) >= limit:
            break
    return found


def _live_lists(backend) -> tuple[list, list[dict]]:
    """The DLQs and stacks the live sandbox has now (in a worker thread); empty where it cannot say."""
    try:
        queues = backend.dlqs()
    except Exception:  # noqa: BLE001 - replay, or the sandbox restarting: no DLQ entries
        queues = []
    try:
        stacks = backend.stacks()
    except Exception:  # noqa: BLE001
        stacks = []
    return queues, stacks


class SandboxCommands(Provider):
    """Finds the sandbox's scenarios, DLQs, patterns, traces and fault actions by name.

    What the panes know is offered at once; the DLQs and stacks the live sandbox has now are read when the palette
    opens, in a thread, and their entries follow as soon as they arrive (a loaded sandbox takes seconds to list
    every queue's redrive sources)."""

    entries: tuple[Entry, ...] = ()
    _live: asyncio.Future | None = None

    async def startup(self) -> None:
        app = self.app
        dlq, patterns = app.pane("dlq"), app.pane("patterns")
        self.entries = tuple(self._entries(list(getattr(dlq, "queues", None) or []),
                                           dict(getattr(patterns, "stacks", None) or {})))
        if app.backend.live and getattr(app, "backend_ready", False):
            self._live = asyncio.ensure_future(asyncio.to_thread(_live_lists, app.backend))

    async def _live_entries(self) -> list[Entry]:
        """The entries of DLQs and stacks the panes did not know of (empty if the sandbox does not answer)."""
        if self._live is None:
            return []
        try:
            queues, stacks = await asyncio.wait_for(asyncio.shield(self._live), LIVE_LISTS_TIMEOUT)
        except (TimeoutError, asyncio.CancelledError):
            return []
        known = {e.title for e in self.entries}
        return [e for e in self._entries(queues, {s["name"]: s for s in stacks if s.get("name")}, only_live=True)
                if e.title not in known]

    def _entries(self, queues: list, deployed: dict[str, dict], only_live: bool = False):
        """Every entry, or (`only_live`) those of the DLQs and stacks (by name) given."""
        app = self.app
        live = app.backend.live
        scenarios = app.pane("scenarios")
        for s in [] if only_live else getattr(scenarios, "scenarios", []) or []:
            if live:
                yield Entry(f"Run {s.id}", f"{s.title}: open it in Scenarios and run it (asks first, as r does)",
                            lambda sid=s.id: open_scenario(app, sid, run=True))
            else:
                yield Entry(f"Open scenario {s.id}", f"{s.title}: show it in the Scenarios tab",
                            lambda sid=s.id: open_scenario(app, sid, run=False))
        for q in queues:
            depth = f"{q.depth} message(s)" if getattr(q, "exists", True) else "missing"
            yield Entry(f"Open DLQ {q.name}", f"The DLQ tab on {q.name} ({depth})",
                        lambda name=q.name: open_dlq(app, name))
        patterns = app.pane("patterns")
        if live:
            for p in getattr(patterns, "patterns", []) or []:
                if not only_live:
                    yield Entry(f"Deploy {p.name}", f"Deploy the {p.name} pattern from the Patterns tab (asks first)",
                                lambda name=p.name: pattern_operation(app, name, "deploy"))
                if p.name in deployed:
                    yield Entry(f"Destroy {p.name}", f"Delete the {p.name} stack from the Patterns tab (asks first)",
                                lambda name=p.name, stack=deployed[p.name]: pattern_operation(app, name, "destroy",
                                                                                             stack))
        if only_live:
            return
        flow = app.pane("flow")
        if flow is not None and flow.is_mounted:
            for span in recent_traces(flow.query_one("#flow-list").rows):
                what = f"{span_what(span)} {span.get('resource_name') or ''}".strip()
                failed = " ✗" if span.get("error") else ""
                yield Entry(f"Trace {span['trace_id']}{failed}", f"Open the trace in Flow: {what}",
                            lambda span=span: open_trace(app, span))
        if live:
            yield Entry("Fault: add", "Inject a fault from a template (the Faults tab's form)",
                        lambda: pane_action(app, "faults", "add"))
            yield Entry("Fault: clear all", "Remove every fault rule and effect (asks first)",
                        lambda: pane_action(app, "faults", "clear"))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry in self.entries:  # first what the panes know, then (a moment later) what the sandbox adds
            if (score := matcher.match(entry.title)) > 0:
                yield Hit(score, matcher.highlight(entry.title), entry.run, text=entry.title, help=entry.help)
        for entry in await self._live_entries():
            if (score := matcher.match(entry.title)) > 0:
                yield Hit(score, matcher.highlight(entry.title), entry.run, text=entry.title, help=entry.help)

    async def discover(self) -> Hits:
        for entry in self.entries:
            if not entry.title.startswith("Trace "):  # traces only when asked for: they would crowd the list
                yield DiscoveryHit(entry.title, entry.run, text=entry.title, help=entry.help)

    async def shutdown(self) -> None:
        if self._live is not None:
            self._live.cancel()  # the thread finishes on its own; its answer is dropped


# --- what an entry does: the tab's own action, after switching to it --------------------------------------------
def _tab(app, tab_id: str):
    """Shows the tab and returns its pane; None when a dialog is up (the palette opened over a form or a
    confirmation): that dialog is answered first, nothing is stacked on it."""
    if app.screen is not app.main_screen:
        app.notify("close the dialog first, then pick the command again", severity="warning", timeout=4)
        return None
    app.action_show_tab(tab_id)
    return app.pane(tab_id)


def open_scenario(app, scenario_id: str, run: bool) -> None:
    pane = _tab(app, "scenarios")
    if pane is not None and pane.show_scenario(scenario_id) and run:
        pane.action_run()


def open_dlq(app, name: str) -> None:
    pane = _tab(app, "dlq")
    if pane is not None:
        pane.show_queue(name)


def pattern_operation(app, name: str, kind: str, stack: dict | None = None) -> None:
    pane = _tab(app, "patterns")
    if pane is not None and pane.select_pattern(name, stack):
        pane.action_deploy() if kind == "deploy" else pane.action_destroy()


def pane_action(app, tab_id: str, action: str) -> None:
    pane = _tab(app, tab_id)
    if pane is not None:
        app.call_later(pane.run_action, action)


def open_trace(app, span: dict) -> None:
    pane = _tab(app, "flow")
    if pane is not None:
        pane.open_trace(span)
