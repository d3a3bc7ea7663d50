"""Patterns: the built-in patterns, which are deployed, their resources, and what the recorder counted on each.

The resources are the pattern template's; the counters (calls, errors, executions) are the nodes of the
recorder's service map (`Sandbox.graph()`) whose physical names CloudFormation derived from the stack and the
resource's logical id. Without the recorder, the counters say so.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.backend import Unavailable
from tui.pane import PaneCommand, PollingPane



def _short_type(resource_type: str) -> str:
    return resource_type.replace("AWS::Serverless::", "SAM ").replace("AWS::", "")


def match_nodes(stack: str, logical_id: str, nodes: list[dict]) -> list[dict]:
    """Graph nodes of a stack's resource: CloudFormation names it `<stack>-<LogicalId>-<suffix>`."""
    needle = f"{stack}-{logical_id}".lower()
    return [n for n in nodes if needle in str(n.get("label", "")).lower() or needle in str(n.get("id", "")).lower()]


class PatternsPane(PollingPane):
    """Built-in patterns, their deployed stacks and resources, with the recorder's counters."""

    REFRESH_SECONDS = 5.0
    TAB_ID = "patterns"
    TAB_TITLE = "Patterns"
    BINDINGS = [Binding("r", "refresh", "Refresh")]
    COMMANDS_ = (PaneCommand("Refresh patterns", "Read the stacks and the recorder's counters again", "refresh"),)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.patterns: list = []
        self.stacks: dict[str, dict] = {}
        self.graph: dict | None = None
        self.graph_error: str | None = None
        self.selected = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="patterns-body"):
            yield OptionList(id="pattern-list")
            with Vertical(id="pattern-main"):
                yield Static("", id="pattern-info", classes="detail")
                yield Label("Resources", classes="section-title")
                yield DataTable(id="pattern-resources", cursor_type="row", zebra_stripes=True)
                yield Static("", id="pattern-graph-note", classes="detail")

    def on_mount(self) -> None:
        table = self.query_one("#pattern-resources", DataTable)
        for label, key in (("resource", "id"), ("type", "type"), ("calls", "calls"), ("errors", "errors"),
                           ("executions", "executions")):
            table.add_column(label, key=key)


    def focus_main(self) -> None:
        self.query_one("#pattern-list", OptionList).focus()

    def action_refresh(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="patterns-load")
    def _load(self, quiet: bool = False) -> None:
        try:
            patterns = self.backend.patterns()
            stacks = {s["name"]: s for s in self.backend.stacks()}
        except Exception as e:  # noqa: BLE001
            if not quiet:
                self.app.call_from_thread(self.problem, f"listing patterns failed: {e}")
            return
        graph, graph_error = None, None
        try:
            graph = self.backend.graph()
        except Unavailable as e:
            graph_error = str(e)
        except Exception as e:  # noqa: BLE001
            graph_error = f"recorder not available: {e}"
        self.app.call_from_thread(self._show, patterns, stacks, graph, graph_error)

    def _show(self, patterns: list, stacks: dict, graph: dict | None, graph_error: str | None) -> None:
        first = not self.patterns
        self.patterns, self.stacks, self.graph, self.graph_error = patterns, stacks, graph, graph_error
        options = self.query_one("#pattern-list", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for p in patterns:
            prompt = Text()
            deployed = p.name in stacks
            prompt.append("● " if deployed else "○ ", style="bold green" if deployed else "dim")
            prompt.append(p.name, style="bold" if deployed else "")
            options.add_option(Option(prompt, id=p.name))
        if not patterns:
            return
        if first or highlighted is None:
            deployed = [i for i, p in enumerate(patterns) if p.name in stacks]
            highlighted = deployed[0] if deployed else 0
        options.highlighted = min(highlighted, len(patterns) - 1)
        self._show_pattern(patterns[options.highlighted])

    @on(OptionList.OptionHighlighted, "#pattern-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        found = next((p for p in self.patterns if p.name == event.option.id), None)
        if found is not None:
            self._show_pattern(found)

    def _show_pattern(self, pattern) -> None:
        self.selected = pattern
        stack = self.stacks.get(pattern.name)
        info = Text()
        info.append(pattern.name, style="bold")
        if stack:
            info.append(f"  {stack.get('status')}", style="green")
            if stack.get("recorded"):
                info.append(" (in the recording)", style="dim")
        else:
            info.append("  not deployed", style="dim")
            info.append(f"  (sandbox deploy {pattern.name})", style="dim italic")
        description = (pattern.description or "").strip()
        if description:
            info.append("\n" + description.splitlines()[0])
        for key, value in (stack or {}).get("outputs", {}).items():
            info.append(f"\n  {key}: ", style="cyan")
            info.append(str(value))
        self.query_one("#pattern-info", Static).update(info)
        self._show_resources(pattern, stack)

    def _show_resources(self, pattern, stack) -> None:
        from sandbox.deploy.patterns import load_template

        table = self.query_one("#pattern-resources", DataTable)
        table.clear()
        try:
            resources = (load_template(pattern.template).get("Resources") or {})
        except Exception as e:  # noqa: BLE001
            self.query_one("#pattern-graph-note", Static).update(Text(f"cannot read the template: {e}", style="red"))
            return
        nodes = (self.graph or {}).get("nodes", []) if stack else []
        for logical_id, spec in resources.items():
            kind = _short_type(str((spec or {}).get("Type", "?")))
            matched = match_nodes(pattern.name, logical_id, nodes)
            if self.graph is None or not stack:
                counters = ["-", "-", "-"]
            else:
                calls = sum(n.get("calls", 0) for n in matched)
                errors = sum(n.get("errors", 0) + n.get("execution_errors", 0) for n in matched)
                executions = sum(n.get("executions", 0) for n in matched)
                counters = [str(calls) if matched else "·", Text(str(errors), style="bold red") if errors else
                            (Text("0", style="dim") if matched else "·"), str(executions) if executions else "·"]
            table.add_row(logical_id, kind, *counters, key=logical_id)
        note = self.query_one("#pattern-graph-note", Static)
        if self.graph_error:
            note.update(Text(f"{self.graph_error}: counters need the sandbox's recorder.", style="yellow"))
        elif not stack:
            note.update(Text("Deploy the pattern to see its counters.", style="dim"))
        else:
            note.update(Text("calls: requests to the resource; executions: Lambda runs / state machine executions "
                             "(from the recorder's service map)", style="dim"))
