"""Faults: the active fault rules (service faults, Lambda faults, latency), add one from a template, clear all.

Through `Sandbox.faults` (status/apply/remove/clear). In replay mode: the rules that fired during the recorded
run, with how many requests each one hit.
"""

from __future__ import annotations

import json

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Label, Static

from tui.faults.add_fault import AddFaultScreen
from tui.pane import PollingPane
from tui.widgets import ConfirmScreen, Notice



def _rule_text(kind: str, rule: dict) -> Text:
    """One line: what a rule matches, and what it does."""
    text = Text()
    if kind == "service":
        text.append(str(rule.get("service") or "every service"), style="bold")
        for key in ("operation", "region"):
            if rule.get(key):
                text.append(f" {rule[key]}")
        error = rule.get("error") or {}
        text.append(" → ", style="dim")
        text.append(f"{error.get('statusCode', '')} {error.get('code', '')}".strip() or "error", style="red")
    else:
        text.append(str(rule.get("function") or "every function"), style="bold")
        for key in ("qualifier", "region"):
            if rule.get(key):
                text.append(f" {rule[key]}")
        text.append(" → ", style="dim")
        text.append(str(rule.get("fault", "?")), style="magenta")
        if rule.get("latencyMs") is not None:
            text.append(f" {rule['latencyMs']} ms")
        error = rule.get("error") or {}
        if error:
            text.append(f" {error.get('type', '')} {error.get('message', '')}".rstrip(), style="red")
    probability = rule.get("probability")
    if probability is not None and probability != 1:
        text.append(f"  (p={probability})", style="yellow")
    return text


class FaultsPane(PollingPane):
    """Fault rules in force: add from templates, remove one, clear all."""

    REFRESH_SECONDS = 3.0
    TAB_ID = "faults"
    TAB_TITLE = "Faults"
    BINDINGS = [
        Binding("a", "add", "Add fault", tooltip="Inject a fault from a template (service outage, throttling, Lambda errors, ...)"),
        Binding("delete,backspace", "remove", "Remove", tooltip="Remove the selected fault rule"),
        Binding("c", "clear", "Clear all", tooltip="Remove every fault rule and effect"),
        Binding("r", "refresh", "Refresh", tooltip="Read the fault rules again"),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rules: list[tuple[str, dict]] = []  # (kind, rule)
        self.status: dict = {}

    def compose(self) -> ComposeResult:
        with Horizontal(classes="bar"):
            yield Label("Fault rules", classes="section-title", id="faults-title")
            yield Label("", id="faults-count", classes="count")
        yield DataTable(id="fault-rules", cursor_type="row", zebra_stripes=True)
        yield Static("", id="fault-effects", classes="detail")
        yield Notice(id="faults-notice")

    def on_mount(self) -> None:
        table = self.query_one("#fault-rules", DataTable)
        table.add_column("kind", key="kind")
        table.add_column("hits", key="hits")
        table.add_column("rule", key="rule")
        self.query_one("#faults-notice", Notice).show("waiting for the sandbox …")


    def focus_main(self) -> None:
        self.query_one("#fault-rules", DataTable).focus()

    FAILED = "reading the fault rules failed"

    def _fetch(self) -> dict:
        return self.backend.fault_status()

    def _unavailable(self, text: str) -> None:
        self.query_one("#faults-notice", Notice).show(text)

    def _show(self, status: dict) -> None:
        self.status = status
        recorded = status.get("recorded", False)
        rules = [("service", r) for r in status.get("faults") or []] + \
                [("lambda", r) for r in status.get("lambda") or []]
        self.rules = rules
        table = self.query_one("#fault-rules", DataTable)
        cursor = table.cursor_row
        table.clear()
        for kind, rule in rules:
            hits = rule.get("hits")
            table.add_row(Text(kind, style="bold red" if kind == "service" else "bold magenta"),
                          "-" if hits is None else str(hits), _rule_text(kind, rule))
        if rules and cursor is not None:
            table.move_cursor(row=min(cursor, len(rules) - 1))
        effects = status.get("effects") or {}
        latency = effects.get("latency") or 0
        text = Text()
        if recorded:
            text.append("replay: the rules that fired during the recorded run, with the requests they hit.\n",
                        style="dim")
        text.append("latency effect ", style="bold")
        text.append(f"{latency} ms" if latency else "none", style="yellow" if latency else "dim")
        if not recorded:
            text.append("\n\na: add from a template   del: remove the selected rule   c: clear all", style="dim")
        self.query_one("#fault-effects", Static).update(text)
        self.query_one("#faults-count", Label).update(f"{len(rules)} active" if not recorded else
                                                      f"{len(rules)} fired")
        notice = self.query_one("#faults-notice", Notice)
        if rules or latency:
            notice.hide()
        else:
            notice.show("No faults recorded." if recorded else "No faults: every call behaves. Press a to add one.")

    # --- changes ---------------------------------------------------------------------------------------------
    def _live_only(self) -> bool:
        if not self.backend.live:
            self.problem("replay mode: fault rules can only be changed on the live sandbox", "warning")
            return False
        return self.ready and not self.sandbox_missing()

    def action_add(self) -> None:
        if not self._live_only():
            return

        def chosen(choice) -> None:
            if not choice:
                return
            template, params, *applied = choice
            if applied:  # the form applied it (and would have shown a refusal)
                self.app.notify(f"fault injected: {template}")
                self._load()
            else:
                self._apply(template, params)

        self.app.push_screen(AddFaultScreen(self.backend.fault_templates(), backend=self.backend), chosen)

    @work(thread=True, group="faults-change")
    def _apply(self, template: str, params: dict) -> None:
        try:
            self.backend.apply_fault(template, params)
        except Exception as e:  # noqa: BLE001
            self.app.call_from_thread(self.problem, f"{template}: {e}")
            return
        self.app.call_from_thread(self.app.notify, f"fault injected: {template}")
        self._load()

    def action_remove(self) -> None:
        if not self._live_only():
            return
        table = self.query_one("#fault-rules", DataTable)
        if not self.rules or table.cursor_row is None or table.cursor_row >= len(self.rules):
            return
        kind, rule = self.rules[table.cursor_row]
        self._remove(kind, rule)

    @work(thread=True, group="faults-change")
    def _remove(self, kind: str, rule: dict) -> None:
        try:
            self.backend.remove_fault(rule, kind == "lambda")
        except Exception as e:  # noqa: BLE001
            self.app.call_from_thread(self.problem, f"removing the rule failed: {e}")
            return
        self.app.call_from_thread(self.app.notify, "fault rule removed")
        self._load()

    def action_clear(self) -> None:
        if not self._live_only():
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._clear()

        count = len(self.rules)
        self.app.push_screen(ConfirmScreen("Clear all faults",
                                           f"Remove {count} fault rule(s) and every effect (latency)?",
                                           "Clear all"), answered)

    @work(thread=True, group="faults-change")
    def _clear(self) -> None:
        try:
            self.backend.clear_faults()
        except Exception as e:  # noqa: BLE001
            self.app.call_from_thread(self.problem, f"clearing faults failed: {e}")
            return
        self.app.call_from_thread(self.app.notify, "every fault cleared")
        self._load()

    @on(DataTable.RowSelected, "#fault-rules")
    def _selected(self, event: DataTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self.rules):
            kind, rule = self.rules[event.cursor_row]
            self.query_one("#fault-effects", Static).update(
                Text(f"{kind} rule\n", style="bold").append(json.dumps(rule, indent=2), style=""))
