"""Cost: what the recorded traffic would cost on AWS (list prices), line by line and per service.

Through `Sandbox.cost()` (the recorder's cost meter). In replay mode: the estimate of the recorded spans, and
the cost each report of the run carried.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Label, Static

from tui.backend import Unavailable
from tui.pane import PaneCommand, PollingPane
from tui.widgets import Notice



def _money(value: float | None) -> str:
    return "-" if value is None else f"${value:,.8f}"


class CostPane(PollingPane):
    """Estimated AWS cost of the recorded traffic, per line item and per service."""

    REFRESH_SECONDS = 5.0
    TAB_ID = "cost"
    TAB_TITLE = "Cost"
    BINDINGS = [Binding("r", "refresh", "Refresh")]
    COMMANDS_ = (PaneCommand("Refresh cost", "Estimate the cost of the recorded traffic again", "refresh"),)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="bar"):
            yield Label("Estimated cost", classes="section-title")
            yield Label("", id="cost-total", classes="count")
        yield Notice(id="cost-notice")
        yield DataTable(id="cost-lines", cursor_type="row", zebra_stripes=True)
        yield Static("", id="cost-services", classes="detail")

    def on_mount(self) -> None:
        table = self.query_one("#cost-lines", DataTable)
        for label, key in (("service", "service"), ("item", "item"), ("quantity", "quantity"),
                           ("unit price", "unit"), ("cost (USD)", "cost")):
            table.add_column(label, key=key)
        self.query_one("#cost-notice", Notice).hide()


    def focus_main(self) -> None:
        self.query_one("#cost-lines", DataTable).focus()

    @work(thread=True, exclusive=True, group="cost-load")
    def _load(self, quiet: bool = False) -> None:
        try:
            estimate = self.backend.cost()
        except Unavailable as e:
            self.app.call_from_thread(self._unavailable, str(e))
            return
        except Exception as e:  # noqa: BLE001
            if not quiet:
                self.app.call_from_thread(self.problem, f"cost estimate failed: {e}")
            return
        self.app.call_from_thread(self._show, estimate)

    def _unavailable(self, text: str) -> None:
        self.query_one("#cost-notice", Notice).show(f"{text}\n\nThe cost meter reads the recorder's spans.",
                                                    warning=True)
        self.query_one("#cost-lines").display = False

    def _show(self, estimate: dict) -> None:
        self.query_one("#cost-notice", Notice).hide()
        self.query_one("#cost-lines").display = True
        table = self.query_one("#cost-lines", DataTable)
        table.clear()
        for line in estimate.get("lines", []):
            table.add_row(line["service"], str(line["item"]).replace("_", " "), f"{line['quantity']:,.6g}",
                          f"${line['unit_price']:.10g}", _money(line["cost"]))
        total = estimate.get("total", estimate.get("total_usd"))
        window = estimate.get("window") or {}
        self.query_one("#cost-total", Label).update(
            Text.assemble(("total ", "dim"), (_money(total), "bold"),
                          (f"  ·  {window.get('spans', 0)} spans  ·  {estimate.get('region', '')} list prices"
                           f" ({estimate.get('prices_as_of') or '?'})", "dim")))
        text = Text()
        by_service = estimate.get("by_service") or {}
        if by_service:
            text.append("per service  ", style="bold")
            text.append("   ".join(f"{name} {_money(value)}" for name, value in
                                   sorted(by_service.items(), key=lambda kv: -kv[1])))
        if estimate.get("note"):
            text.append(f"\n{estimate['note']}", style="dim")
        if not estimate.get("lines"):
            text.append("\nNo billable traffic recorded yet: run a scenario or call a pattern.", style="dim")
        self.query_one("#cost-services", Static).update(text)
