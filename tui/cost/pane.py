"""Cost: what the recorded traffic would cost on AWS (list prices), line by line and per service.

Through `Sandbox.cost()` (the recorder's cost meter). In replay mode: the estimate of the recorded spans, and
the cost each report of the run carried.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Label, Static

from tui.pane import PollingPane
from tui.widgets import Notice


def _money(value: float | None) -> str:
    return "-" if value is None else f"${value:,.8f}"


def unit_price(price: float) -> str:
    """AWS quotes tiny prices per million (requests, GB-seconds); so does this column."""
    if price and price < 0.01:
        return f"${price * 1_000_000:,.2f} / 1M"
    return f"${price:,.4f}"


def item_label(item: str) -> str:
    """A price sheet key as words: gb_seconds_x86_64 -> GB-seconds x86_64."""
    text = str(item).replace("x86_64", "\0").replace("gb_seconds", "GB-seconds").replace("_", " ")
    return text.replace("\0", "x86_64")


def share_bar(part: float, whole: float, width: int = 20) -> Text:
    """A bar of `width` cells for part/whole, with the percentage."""
    fraction = part / whole if whole else 0.0
    cells = fraction * width
    full = int(cells)
    bar = "█" * full + ("▌" if cells - full >= 0.5 else "")
    text = Text(f"{bar:<{width}}", style="cyan")
    text.append(f" {fraction * 100:5.1f}%", style="dim")
    return text


WIDE = 120  # columns from which the per-service totals are drawn as bars


class CostPane(PollingPane):
    """Estimated AWS cost of the recorded traffic, per line item and per service."""

    REFRESH_SECONDS = 5.0
    TAB_ID = "cost"
    TAB_TITLE = "Cost"
    BINDINGS = [Binding("r", "refresh", "Refresh", tooltip="Estimate the cost of the recorded traffic again")]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._estimate: dict | None = None  # the last one shown: a resize lays out its per-service totals again

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

    def on_resize(self) -> None:
        if self._estimate is not None:  # the table stays (and its cursor): only the totals depend on the width
            self._show_services(self._estimate)

    FAILED = "cost estimate failed"

    def _fetch(self) -> dict:
        return self.backend.cost()

    def _unavailable(self, text: str) -> None:
        self.query_one("#cost-notice", Notice).show(f"{text}\n\nThe cost meter reads the recorder's spans.",
                                                    warning=True)
        self.query_one("#cost-lines").display = False

    def _show(self, estimate: dict) -> None:
        self.query_one("#cost-notice", Notice).hide()
        self.query_one("#cost-lines").display = True
        table = self.query_one("#cost-lines", DataTable)
        table.clear()
        total = estimate.get("total", estimate.get("total_usd"))
        for line in sorted(estimate.get("lines", []), key=lambda item: -(item.get("cost") or 0)):
            table.add_row(line["service"], item_label(line["item"]), f"{line['quantity']:,.6g}",
                          unit_price(line["unit_price"]), _money(line["cost"]))
        window = estimate.get("window") or {}
        self.query_one("#cost-total", Label).update(
            Text.assemble(("total ", "dim"), (_money(total), "bold"),
                          (f"  ·  {window.get('spans', 0)} spans  ·  {estimate.get('region', '')} list prices"
                           f" ({estimate.get('prices_as_of') or '?'})", "dim")))
        self._estimate = estimate
        self._show_services(estimate)

    def _show_services(self, estimate: dict) -> None:
        """Per-service totals: one line when narrow, a bar per service from WIDE columns."""
        total = estimate.get("total", estimate.get("total_usd"))
        text = Text()
        by_service = estimate.get("by_service") or {}
        if by_service and self.size.width < WIDE:
            text.append("per service  ", style="bold")
            text.append("   ".join(f"{name} {_money(value)}" for name, value in
                                   sorted(by_service.items(), key=lambda kv: -kv[1])))
        elif by_service:  # room for a bar per service
            text.append("per service\n", style="bold")
            width = max(len(name) for name in by_service)
            for name, value in sorted(by_service.items(), key=lambda kv: -kv[1]):
                text.append(f"  {name:<{width}}  {_money(value)}  ")
                text.append_text(share_bar(value, total or 0, 30))
                text.append("\n")
            text.rstrip()
        if estimate.get("note"):
            text.append(f"\n{estimate['note']}", style="dim")
        if not estimate.get("lines"):
            text.append("\nNo billable traffic recorded yet: run a scenario or call a pattern.", style="dim")
        self.query_one("#cost-services", Static).update(text)
