"""Patterns: each built-in pattern drawn as a diagram with live counters; deploy (d) and destroy (x) on demand.

The diagram is the pattern's template (which resources, which links it declares) with the recorder's service map
laid over it (`Sandbox.graph()`: what really called what, how often, with how many errors), the queues' depths
and the running executions (live only), and throttles from the recorded errors. While the tab is shown it
refreshes every second; an edge whose count grew lights up for a moment. A deploy streams its stack events into
a log below the diagram and colours each resource's box as CloudFormation creates it. Every call to the sandbox
runs in a thread worker; progress reaches the UI in batches, at most ten a second.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, OptionList, RichLog, Static
from textual.widgets.option_list import Option

from tui.backend import Unavailable
from tui.pane import PollingPane
from tui.patterns.activity import Activity
from tui.patterns.architecture import Architecture, build
from tui.patterns.diagram import KIND_LABELS, human
from tui.patterns.model import Diagram, combine
from tui.patterns.operation import LOG_HOLD_SECONDS, STATUS_HOLD_SECONDS, Operation
from tui.patterns.view import DiagramView
from tui.pump import Pump
from tui.widgets import ConfirmScreen, VerticalScrollPane

TALL_ENOUGH_FOR_DETAILS = 36  # pane rows from which the resource table shows without asking
SHORT = 24                    # pane rows below which the description and the legend make room for the drawing


@dataclass
class OperationProgress(Message):
    """A batch of deploy/destroy progress items (stack events, messages) from the worker thread."""

    items: list[dict]


@dataclass
class Snapshot:
    """One refresh: what the worker read from the backend for the UI thread to show."""

    patterns: list
    templates: dict[str, dict]
    stacks: dict[str, dict]
    graph: dict | None
    graph_error: str | None
    resources: dict[str, list[dict]] = field(default_factory=dict)
    gauges: dict[str, dict] = field(default_factory=dict)
    throttles: dict[tuple[str, str], int] = field(default_factory=dict)


def _short_type(resource_type: str) -> str:
    return resource_type.replace("AWS::Serverless::", "SAM ").replace("AWS::", "")


def _created_ts(stack: dict | None) -> float | None:
    """When a live stack was created (epoch seconds); None for a recorded or unknown one."""
    created = (stack or {}).get("created")
    if not created or (stack or {}).get("recorded"):
        return None
    from datetime import datetime

    try:
        return datetime.fromisoformat(created).timestamp()
    except ValueError:
        return None


class PatternsPane(PollingPane):
    """Built-in patterns as live diagrams; deploy and destroy them."""

    REFRESH_SECONDS = 1.0
    TAB_ID = "patterns"
    TAB_TITLE = "Patterns"
    BINDINGS = [
        Binding("d", "deploy", "Deploy", tooltip="Deploy the selected pattern into the sandbox (asks first)"),
        Binding("x", "destroy", "Destroy", tooltip="Delete the selected pattern's stack and its resources (asks first)"),
        Binding("t", "toggle_details", "Resources", tooltip="The selected pattern's resources, physical ids and outputs as a table"),
        Binding("z", "zoom", "Zoom", tooltip="The diagram alone, as large as the tab (z again: back)"),
        Binding("r", "refresh", "Refresh", show=False, tooltip="Read the stacks and the recorder's counters again"),  # it refreshes every second anyway
    ]
    HELP_KEYS = [("←↓↑→ / hjkl", "pan a diagram larger than its pane (tab to it, or z)"),
                 ("home / end", "the diagram's top-left / bottom-right corner"),
                 ("pgup / pgdn", "a page (sideways when it is only too wide)")]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.patterns: list = []
        self.templates: dict[str, dict] = {}
        self._loading = self._load_again = False
        self.stacks: dict[str, dict] = {}
        self.graph: dict | None = None
        self.graph_error: str | None = None
        self.selected = None
        self.diagram: Diagram | None = None
        self.activity = Activity()
        self.operation: Operation | None = None
        self._archs: dict[str, Architecture] = {}
        self._resources: dict[str, tuple[object, list[dict]]] = {}  # stack -> (its creation time, resources)
        self._stack_resources: dict[str, list[dict]] = {}  # the UI thread's copy of the above
        self._gauges: dict[str, dict] = {}
        self._throttles: dict[tuple[str, str], int] = {}   # summed by the worker
        self._throttles_seen: dict[tuple[str, str], int] = {}  # the UI thread's copy
        self._throttle_cursor = None
        self._list_signature: tuple = ()
        self._table_rows: list = []
        self._details_chosen = False
        self._details_before_zoom = False
        self._pump: Pump | None = None
        self._next_redraw: float | None = None
        self._outcome_seen = False  # a refresh after the last deploy/destroy saw its outcome (the stack or none)

    def compose(self) -> ComposeResult:
        with Horizontal(id="patterns-body"):
            yield OptionList(id="pattern-list")
            with Vertical(id="pattern-main"):
                yield Static("", id="pattern-info")
                yield DiagramView(id="pattern-diagram")
                yield Static("", id="pattern-legend")
                yield RichLog(id="pattern-progress", wrap=True, markup=False, max_lines=2000)
                with Horizontal(id="pattern-details"):
                    yield DataTable(id="pattern-resources", cursor_type="row", zebra_stripes=True)
                    with VerticalScrollPane(id="pattern-outputs-box"):
                        yield Static("", id="pattern-outputs")

    def on_mount(self) -> None:
        table = self.query_one("#pattern-resources", DataTable)
        for label, key in (("resource", "id"), ("type", "type"), ("counters", "counters"), ("physical id", "pid")):
            table.add_column(label, key=key)
        self.query_one("#pattern-progress").display = False
        self.query_one("#pattern-details").display = False
        self.query_one("#pattern-diagram", DiagramView).border_title = "diagram"
        self.set_interval(0.25, self._tick, name="patterns-tick")
        self._read_catalog()

    @work(thread=True, group="patterns-catalog")
    def _read_catalog(self) -> None:
        """The built-in patterns (files of this checkout), known from the start: the palette offers "Deploy <name>"
        before the first refresh, which waits for the sandbox and its recorder, has drawn anything."""
        try:
            found = self.backend.patterns()
        except Exception:  # noqa: BLE001 - the first refresh says what is wrong
            return
        try:
            self.app.call_from_thread(self._catalog_read, found)
        except RuntimeError:  # the app is closing
            pass

    def _catalog_read(self, found: list) -> None:
        if not self.patterns:
            self.patterns = found

    def on_resize(self, event) -> None:
        self.set_class(event.size.height < SHORT, "-short")
        if not self._details_chosen and not self.has_class("-zoomed"):
            self.query_one("#pattern-details").display = event.size.height >= TALL_ENOUGH_FOR_DETAILS

    def focus_main(self) -> None:
        self.query_one("#pattern-list", OptionList).focus()

    @property
    def view(self) -> DiagramView:
        return self.query_one("#pattern-diagram", DiagramView)

    # --- loading ---------------------------------------------------------------------------------------------
    def action_refresh(self) -> None:
        self._load()

    def _load(self, quiet: bool = False) -> None:
        """One load at a time: a refresh asked for while one runs is done after it (a worker's thread is not
        stopped by a newer one, so overlapping loads would land out of order and count throttles twice)."""
        if self._loading:
            self._load_again = True
            return
        self._loading, self._load_again = True, False
        self._load_in_thread(quiet)

    def _loaded(self) -> None:
        self._loading = False
        if self._load_again and self._alive():
            self._load(quiet=True)

    @work(thread=True, group="patterns-load")
    def _load_in_thread(self, quiet: bool) -> None:
        try:
            self._read_everything(quiet)
        finally:
            try:
                self.app.call_from_thread(self._loaded)
            except RuntimeError:  # the app is closing
                pass

    def _read_everything(self, quiet: bool) -> None:
        try:
            patterns = self.patterns or self.backend.patterns()
            stacks = {s["name"]: s for s in self.backend.stacks()}
        except Exception as e:  # noqa: BLE001
            if not quiet:
                self.app.call_from_thread(self.problem, f"listing patterns failed: {e}")
            self.app.call_from_thread(self.app.check_sandbox)  # stopped? the app says so
            return
        templates = dict(self.templates)
        for pattern in patterns:  # one unreadable template leaves out its diagram, not the tab
            if pattern.name not in templates:
                try:
                    templates[pattern.name] = self.backend.template(pattern)
                except Exception as e:  # noqa: BLE001
                    if not quiet:
                        self.app.call_from_thread(self.problem, f"{pattern.name}: cannot read its template: {e}")
        graph, graph_error = None, None
        selected = self.selected.name if self.selected is not None else None
        try:  # the selected stack's traffic since it was created: a redeploy starts its counters at zero
            graph = self.backend.graph(since_ts=_created_ts(stacks.get(selected)))
        except Unavailable as e:
            graph_error = str(e)
        except Exception as e:  # noqa: BLE001
            graph_error = f"recorder not available: {e}"
        snapshot = Snapshot(patterns, templates, stacks, graph, graph_error)
        stack = stacks.get(selected) if selected else None
        if stack:
            snapshot.resources, snapshot.gauges = self._read_stack(selected, stack)
        if graph is not None:
            try:
                found, self._throttle_cursor = self.backend.throttles(self._throttle_cursor)
                for key, n in found.items():
                    self._throttles[key] = self._throttles.get(key, 0) + n
            except Exception:  # noqa: BLE001 - no throttle counts; everything else still shows
                pass
        snapshot.throttles = dict(self._throttles)
        self.app.call_from_thread(self._show, snapshot)

    def _read_stack(self, name: str, stack: dict) -> tuple[dict[str, list[dict]], dict[str, dict]]:
        """The stack's physical resources (read again when the stack changes) and its live gauges (worker)."""
        cached = self._resources.get(name)
        if cached is None or cached[0] != (stack.get("created"), stack.get("status")):
            try:
                self._resources[name] = ((stack.get("created"), stack.get("status")),
                                         self.backend.stack_resources(name))
            except Exception:  # noqa: BLE001 - replay, or the stack is going: match by names instead
                self._resources[name] = ((stack.get("created"), stack.get("status")), [])
        resources = self._resources[name][1]
        gauges: dict[str, dict] = {}
        if resources:
            try:
                gauges = self.backend.gauges(resources)
            except Exception:  # noqa: BLE001
                gauges = {}
        return {name: resources}, gauges

    def _show(self, snapshot: Snapshot) -> None:
        if not self._alive():
            return
        self.patterns, self.templates = snapshot.patterns, snapshot.templates
        self.stacks, self.graph, self.graph_error = snapshot.stacks, snapshot.graph, snapshot.graph_error
        self._gauges, self._throttles_seen = snapshot.gauges, snapshot.throttles
        self._stack_resources.update(snapshot.resources)
        for gone in [name for name in self._stack_resources if name not in self.stacks]:
            del self._stack_resources[gone]  # deleted elsewhere (`sandbox reset`, `destroy`): its physical ids too
        op = self.operation
        if op is not None and op.finished is not None and not op.error:
            agrees = (op.pattern in self.stacks) == (op.kind == "deploy")
            if agrees:
                self._outcome_seen = True
            elif self._outcome_seen:  # changed since, elsewhere (`sandbox reset`): "deployed in 3.5s" beside "not
                self.operation = None  # deployed" no more; a refresh that began before the outcome does not count
        options = self.query_one("#pattern-list", OptionList)
        signature = tuple((p.name, p.name in self.stacks) for p in self.patterns)
        if signature != self._list_signature:
            first = not self._list_signature
            highlighted = options.highlighted
            self._list_signature = signature
            options.clear_options()
            for p in self.patterns:
                prompt = Text()
                deployed = p.name in self.stacks
                prompt.append("● " if deployed else "○ ", style="bold green" if deployed else "dim")
                prompt.append(p.name, style="bold" if deployed else "")
                options.add_option(Option(prompt, id=p.name))
            if not self.patterns:
                return
            if first or highlighted is None:
                deployed = [i for i, p in enumerate(self.patterns) if p.name in self.stacks]
                highlighted = deployed[0] if deployed else 0
            options.highlighted = min(highlighted, len(self.patterns) - 1)
        if self.patterns and options.highlighted is not None:
            self._select(self.patterns[options.highlighted])

    @on(OptionList.OptionHighlighted, "#pattern-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        found = next((p for p in self.patterns if p.name == event.option.id), None)
        if found is not None and found is not self.selected:
            self._select(found)
            if self.ready and found.name in self.stacks and found.name not in self._stack_resources:
                self._load(quiet=True)

    # --- drawing ---------------------------------------------------------------------------------------------
    def _select(self, pattern) -> None:
        changed = pattern is not self.selected
        self.selected = pattern
        self._draw()
        if changed:
            self._fill_log()

    def _architecture(self, name: str) -> Architecture | None:
        if name not in self._archs and name in self.templates:
            self._archs[name] = build(self.templates[name], name)
        return self._archs.get(name)

    def _draw(self) -> None:
        """Rebuilds the selected pattern's diagram from what the last refresh read, and everything around it."""
        pattern = self.selected
        if pattern is None:
            return
        now = time.monotonic()
        arch = self._architecture(pattern.name)
        stack = self.stacks.get(pattern.name)
        op = self.operation if self.operation and self.operation.pattern == pattern.name else None
        if arch is None:
            self.view.show(None, deployed=False, message=Text("cannot read the template", style="red"))
            return
        resources = self._stack_resources.get(pattern.name) or []
        physical = {r["logical_id"]: r["physical_id"] for r in resources} or None
        statuses = op.statuses_now(pattern.name, now) if op else {}
        diagram = combine(arch, pattern.name, self.graph if stack else None, physical,
                          self._throttles_seen, self._gauges if stack else {}, statuses)
        self.diagram = diagram
        if stack:  # what was counted before the physical ids were known was matched by name: a new baseline
            self.activity.update((pattern.name, stack.get("created"), physical is None), diagram, now)
        lit, hot = self.activity.state(now) if stack else ({}, set())
        due = [self.activity.next_change(now)]
        if op is not None and op.finished is not None:  # the deploy colours fade, the log closes
            due += [t for t in (op.finished + STATUS_HOLD_SECONDS, op.finished + LOG_HOLD_SECONDS) if t > now]
        self._next_redraw = min((t for t in due if t is not None), default=None)
        self.view.show(diagram, deployed=bool(stack) or bool(statuses), lit=lit, hot=hot)
        self.view.border_title = f"{pattern.name} · {len([n for n in diagram.nodes.values() if not n.outside])} " \
                                 f"resources · {sum(1 for e in diagram.edges.values() if e.count)} busy edges"
        self._show_info(pattern, stack, op)
        self._show_legend(stack)
        self._show_details(pattern, stack, diagram)
        self.query_one("#pattern-progress").display = bool(op and op.log_open(now))

    def _alive(self) -> bool:
        """Still on screen: a worker's result can arrive while the app shuts down and the widgets are gone."""
        return self.is_attached and self.app.is_running and bool(self.query("#pattern-list"))

    def _tick(self) -> None:
        """Lit edges go dark, deploy colours fade, a finished log closes: redraw when one of them is due."""
        if self._next_redraw is not None and time.monotonic() >= self._next_redraw:
            self._draw()

    def _show_info(self, pattern, stack, op: Operation | None) -> None:
        info = Text()
        info.append(pattern.name, style="bold")
        if op is not None:  # what is happening (or just happened) first: the line may be cut on the right
            if op.running:
                verb = "deploying" if op.kind == "deploy" else "destroying"
                info.append(f"  {verb}… {op.events} stack events, {op.elapsed:.0f}s", style="bold yellow")
            elif op.error:
                info.append(f"  {op.kind} failed (see below)", style="bold red")
            else:
                info.append(f"  {op.summary}", style="green")
        if stack:
            info.append(f"  {stack.get('status')}", style="green")
            if stack.get("recorded"):
                info.append(" (in the recording)", style="dim")
        elif op is None or not op.running:
            info.append("  not deployed", style="dim")
            if self.backend.live:
                info.append(" · d deploys it; the drawing shows what its template declares", style="dim")
        description = " ".join((pattern.description or "").split())
        info.append("\n" + description, style="dim")
        info.no_wrap, info.overflow = True, "ellipsis"
        self.query_one("#pattern-info", Static).update(info)

    def _show_legend(self, stack) -> None:
        legend = Text(no_wrap=True, overflow="ellipsis")
        if self.graph_error:
            legend.append(f"{self.graph_error}: counters need the sandbox's recorder", style="yellow")
        elif not stack:
            legend.append("not deployed: no counters yet", style="dim")
        else:
            if self.view.rendered is not None and not self.view.rendered.edge_labels:
                legend.append("edge counts left out to fit (z: more room)", style="dim")
            else:
                legend.append("edge: requests seen", style="dim")
                legend.append(" ✗errors", style="red")
            legend.append(" · lit: traffic in the last 2 s · – not known here", style="dim")
            if self.view.rendered is not None and not self.view.rendered.verbose:
                legend.append(" · inv invocations · thr throttles · flight in flight", style="dim")
        self.query_one("#pattern-legend", Static).update(legend)

    def _show_details(self, pattern, stack, diagram: Diagram) -> None:
        table = self.query_one("#pattern-resources", DataTable)
        resources = {r["logical_id"]: r for r in self._stack_resources.get(pattern.name) or []}
        rows = []
        for logical_id, spec in (self.templates.get(pattern.name, {}).get("Resources") or {}).items():
            node = diagram.nodes.get(logical_id)
            counters = Text()
            if node is not None and stack:
                for i, (name, value, _) in enumerate(node.counters()):
                    counters.append(("  " if i else "") + f"{name} ", style="dim")
                    bad = value and name in ("err", "fail", "thr") or (node.kind == "dlq" and name == "depth" and value)
                    counters.append(human(value), style="bold red" if bad else "")
            kind = KIND_LABELS.get(node.kind, node.kind) if node else _short_type(str((spec or {}).get("Type", "?")))
            physical = resources.get(logical_id, {}).get("physical_id", "")
            rows.append((logical_id, kind if node else Text(kind, style="dim"), counters, physical))
        if rows != self._table_rows:  # rebuilt only when something changed: the cursor and scroll stay put
            self._table_rows = rows
            cursor = table.cursor_row
            table.clear()
            for row in rows:
                table.add_row(*row, key=row[0])
            if cursor is not None and 0 <= cursor < table.row_count:
                table.move_cursor(row=cursor, animate=False)
        outputs = Text("Outputs\n", style="bold")
        for key, value in (stack or {}).get("outputs", {}).items():
            outputs.append(f"{key}\n", style="cyan")
            outputs.append(f"  {value}\n")
        if not (stack or {}).get("outputs"):
            outputs.append("none" if stack else "deploy the pattern to see them", style="dim")
        self.query_one("#pattern-outputs", Static).update(outputs)

    def action_zoom(self) -> None:
        details = self.query_one("#pattern-details")
        self.toggle_class("-zoomed")
        if self.has_class("-zoomed"):
            self._details_before_zoom, details.display = details.display, False
            self.view.focus()
        else:
            details.display = self._details_before_zoom
            self.focus_main()

    def action_toggle_details(self) -> None:
        details = self.query_one("#pattern-details")
        self._details_chosen = True
        if self.has_class("-zoomed"):  # t while zoomed: back, with the resources shown
            self.action_zoom()
            details.display = True
            return
        details.display = not details.display

    # --- deploy / destroy ------------------------------------------------------------------------------------
    def select_pattern(self, name: str, stack: dict | None = None) -> bool:
        """Selects a pattern in the list (the palette's "Deploy <name>" and "Destroy <name>"). `stack`: its stack as
        the palette just read it, known here before the next refresh (the list refreshes only while shown)."""
        index = next((i for i, p in enumerate(self.patterns) if p.name == name), None)
        if index is None:
            return False
        if stack is not None and name not in self.stacks:
            self.stacks = {**self.stacks, name: stack}
        self.query_one("#pattern-list", OptionList).highlighted = index
        self._select(self.patterns[index])
        return True

    def _may_operate(self, kind: str, pattern) -> bool:
        """Whether a deploy/destroy of `pattern` may ask for confirmation now; if not, the user is told why."""
        if pattern is None:
            self.problem("no pattern selected", "warning")
            return False
        if self.operation is not None and self.operation.running:
            self.problem(f"wait: {self.operation.kind} of {self.operation.pattern} is still running", "warning")
            return False
        if not self.backend.live:
            self._run(kind, pattern.name)  # the backend says why it cannot
            return False
        return not self.sandbox_missing()

    def action_deploy(self) -> None:
        pattern = self.selected
        if not self._may_operate("deploy", pattern):
            return
        resources = self._architecture(pattern.name)
        again = pattern.name in self.stacks
        body = (f"{'Update' if again else 'Create'} the stack {pattern.name} in the sandbox from "
                f"{pattern.template.parent.name}/{pattern.template.name}"
                f" ({len(resources.nodes) if resources else '?'} resources drawn)."
                + ("\n\nIt is deployed already: only what changed is updated." if again else "")
                + self._dependency_note(pattern))

        def answered(yes: bool | None) -> None:
            if yes:
                self._start("deploy", pattern.name)

        self.app.push_screen(ConfirmScreen(f"Deploy {pattern.name}", body, "Deploy", danger=False), answered)

    def _dependency_note(self, pattern) -> str:
        try:
            missing = [d for d in self.backend.dependencies(pattern) if d not in self.stacks]
        except Exception:  # noqa: BLE001
            return ""
        return f"\n\nIt needs {', '.join(missing)}, which is deployed first." if missing else ""

    def action_destroy(self) -> None:
        pattern = self.selected
        if not self._may_operate("destroy", pattern):
            return
        if pattern.name not in self.stacks:
            self.problem(f"{pattern.name} is not deployed", "warning")
            return
        body = (f"Delete the stack {pattern.name} and every resource it created (tables, queues and their "
                "messages, functions)? This cannot be undone.")

        def answered(yes: bool | None) -> None:
            if yes:
                self._start("destroy", pattern.name)

        self.app.push_screen(ConfirmScreen(f"Destroy {pattern.name}", body, "Destroy"), answered)

    def _start(self, kind: str, name: str) -> None:
        op = self.operation = Operation(kind, name)
        self._outcome_seen = False
        if kind == "destroy" and (arch := self._architecture(name)) is not None:
            op.statuses[name] = {k: "DELETE_IN_PROGRESS" for k, n in arch.nodes.items() if not n.outside}
        self._pump = Pump(self, OperationProgress).start()
        if self.selected is not None and self.selected.name == name:
            self._fill_log()
            self._draw()
        self._run(kind, name)

    @work(thread=True, group="patterns-operation")
    def _run(self, kind: str, name: str) -> None:
        pump = self._pump
        put = pump.put if pump is not None and self.operation is not None and self.operation.running \
            else (lambda item: None)
        started = time.perf_counter()
        try:
            if kind == "deploy":
                results = self.backend.deploy(name, put)
                seconds = sum(r.get("seconds", 0) for r in results)
                summary = f"deployed in {seconds:.1f}s" if results else "deployed"
            else:
                gone = self.backend.destroy(name, put)
                summary = f"destroyed in {time.perf_counter() - started:.1f}s" if gone else "there was no stack"
        except Unavailable as e:
            self.app.call_from_thread(self.problem, str(e), "warning")
            return
        except Exception as e:  # noqa: BLE001 - DeployError says what failed and why
            self.app.call_from_thread(self._finished, name, f"{kind} {name} failed: {e}", "")
            return
        self.app.call_from_thread(self._finished, name, None, summary)

    def on_operation_progress(self, message: OperationProgress) -> None:
        op = self.operation
        if op is None or not self._alive():
            return
        log = self.query_one("#pattern-progress", RichLog)
        showing = self.selected is not None and self.selected.name == op.pattern
        for item in message.items:
            line = op.apply(item)
            if showing:
                log.write(line)
        if showing:
            self._draw()

    def _finished(self, name: str, error: str | None, summary: str) -> None:
        if not self._alive():
            return
        if self._pump is not None:
            self._pump.drain()
            self._pump.stop()
        op = self.operation
        if op is None or op.pattern != name:
            return
        # the last progress batch is posted by drain(): let it land before the outcome line
        self.call_later(self._close_operation, op, error, summary)

    def _close_operation(self, op: Operation, error: str | None, summary: str) -> None:
        if not self._alive():
            return
        line = op.finish(error, summary)
        if self.selected is not None and self.selected.name == op.pattern:
            self.query_one("#pattern-progress", RichLog).write(line)
        if error:
            self.app.notify(error, severity="error", timeout=10)
        else:
            self.app.notify(f"{op.pattern}: {summary}", timeout=4)
        self._resources.pop(op.pattern, None)
        self._stack_resources.pop(op.pattern, None)
        self._load(quiet=True)
        self._draw()

    def _fill_log(self) -> None:
        log = self.query_one("#pattern-progress", RichLog)
        log.clear()
        op = self.operation
        if op is not None and self.selected is not None and op.pattern == self.selected.name:
            for line in op.lines:
                log.write(line)
