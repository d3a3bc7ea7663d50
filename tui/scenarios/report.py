"""The before/after table: the last report of each variant side by side, so a fix is read against the breakage."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.widgets import DataTable

from scenarios.report import NOTHING, VERDICT_COLOURS, Report, comparison_rows
from tui.format import table_cell

LEGEND = "items: messages, jobs, orders, executions; one function invocation may take a batch of items"


def verdict_style(verdict: str) -> str:
    return f"bold {VERDICT_COLOURS[verdict]}"


def differing_params(columns: list[dict | None]) -> list[str] | None:
    """Per column, the parameters that differ between the columns ("good=9, redrive=False"); None when they agree
    (or when a column's parameters are not known: an earlier run's from before the TUI started)."""
    if len(columns) < 2 or any(c is None for c in columns):
        return None
    keys = sorted({k for c in columns for k in c})
    differ = [k for k in keys if len({repr(c.get(k)) for c in columns}) > 1]
    if not differ:
        return None
    return [", ".join(f"{k}={c.get(k, NOTHING)}" for k in differ) for c in columns]


def fill_report_table(table: DataTable, reports: dict[str, Report], variants: list[str], latest: set[str],
         when: Callable[[float], str], params: dict[str, dict] | None = None) -> Text:
    """Fills the (cleared) table with a column per reported variant, in the scenario's order; returns the summary
    above it. `latest`: the variants reported by the newest run; `when`: how an earlier run's start is written;
    `params`: the parameters each variant's report was made with - columns made with other ones are marked (a
    newcomer compared good=9 against an earlier good=4 run without a word)."""
    names = [v for v in variants if v in reports] + [v for v in reports if v not in variants]
    objs = [reports[v] for v in names]
    table.add_column("measure", key="measure")
    for r in objs:
        table.add_column(r.variant, key=f"v-{r.variant}")
    earlier = [r for r in objs if r.variant not in latest]
    if earlier:
        table.add_row(table_cell("run", "bold"),
                      *[table_cell("● this run", "bold cyan") if r.variant in latest
                        else table_cell(f"earlier {when(r.started)}".strip(), "dim") for r in objs])
    differing = differing_params([(params or {}).get(r.variant) for r in objs])
    if differing:
        table.add_row(table_cell("parameters", "bold yellow"), *[table_cell(d, "yellow") for d in differing])
    for label, values in comparison_rows(objs):
        table.add_row(table_cell(label), *[table_cell(v, "dim" if v == NOTHING else "") for v in values])
    table.add_row(table_cell("verdict", "bold"), *[table_cell(r.verdict, verdict_style(r.verdict)) for r in objs])
    text = Text("before / after", style="bold")
    text.append(f"  ({len(objs)} variant{'s' if len(objs) != 1 else ''}", style="dim")
    text.append("; ● this run, the others: their last earlier run)" if earlier else ")", style="dim")
    if differing:
        text.append("\n⚠ the columns were run with different parameters (row \"parameters\"): compare with care",
                    style="bold yellow")
    text.append(f"\n{LEGEND}", style="dim italic")
    return text
