"""The expectation checklist of a run: its rows, and a table whose columns fit the width it has.

The checks are listed (pending) before the run starts, so the reader sees what will be checked; each expectation
event then ticks its row. A row is a dict: "mark", "variant", "name", "expected" (in words: "0", "at least 2"),
"observed" (a value, or "could not measure: ..." for a check that could not) and "why".
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from scenarios.report import NOTHING, wanted, words
from scenarios.runner import ScenarioError, merge_params
from tui.format import table_cell

PENDING = "…"


def value_text(v: Any) -> str:
    """A target or an observed value as the checklist and the narrative write it (yes/no, text without quotes)."""
    return words(v)


def add_check(checks: dict[str, dict], variant: str, name: str, op: str, target: Any, why: str = "") -> str:
    """Adds a pending check unless the variant has it already; returns its key (variant, NUL, name)."""
    key = f"{variant}\x00{name}"
    if key not in checks:
        checks[key] = {"mark": Text("☐", style="dim"), "variant": variant, "name": name,
                       "expected": wanted(op, target), "observed": Text(PENDING, style="dim"), "why": why}
    return key


def planned(scenario, variants: list[str], params: dict | None) -> dict[str, dict]:
    """The checks a run of `variants` with `params` will tick, all pending."""
    checks: dict[str, dict] = {}
    merged = _merged(scenario, params)
    for variant in variants:
        for exp in scenario.expectations:
            if exp.applies_to(variant, merged):
                add_check(checks, variant, exp.name, exp.op, exp.target, exp.why)
        if not scenario.lesson_is_loss:
            add_check(checks, variant, "nothing lost", "==", 0, "every message is processed or parked in a DLQ")
    return checks


def _merged(scenario, params: dict | None) -> dict:
    try:
        return merge_params(scenario, {k: v for k, v in (params or {}).items() if k in scenario.params})
    except ScenarioError:  # the run says so; the checklist shows the defaults' expectations
        return dict(scenario.params)


def tick(checks: dict[str, dict], variant: str, event) -> None:
    """Marks the check an ExpectationChecked event reports (one the plan did not list is added)."""
    row = checks[add_check(checks, variant, event.name, event.op, event.target, event.why or "")]
    if event.passed is None:  # the run was stopped: not evaluated
        not_evaluated(row)
        return
    row["mark"] = Text("✔", style="bold green") if event.passed else Text("✘", style="bold red")
    if getattr(event, "error", ""):  # the check could not measure its value: it failed, and says why in words
        row["observed"] = Text(event.error, style="bold red")
        return
    row["observed"] = Text(value_text(event.observed), style="green" if event.passed else "bold red")


def not_evaluated(row: dict, observed: str = NOTHING) -> None:
    row["mark"], row["observed"] = Text(NOTHING, style="dim"), Text(observed, style="dim")


def settle(checks: dict[str, dict]) -> None:
    """The run is over: a check that no event reached (a crash, a stop) was not evaluated."""
    for row in checks.values():
        if str(row["observed"]) == PENDING:
            not_evaluated(row)


def column_widths(rows: list[dict], width: int) -> dict[str, int]:
    """The columns' widths in a table `width` wide: the expectation flexible, long values cut."""
    natural = {
        "variant": max([len("variant")] + [len(r["variant"]) for r in rows]),
        "name": max([len("expectation")] + [len(r["name"]) for r in rows]),
        "expected": max([len("expected")] + [len(r["expected"]) for r in rows]),
        "observed": max([len("observed")] + [len(str(r["observed"])) for r in rows]),
    }
    total = width - 1  # the scrollbar's column
    if total <= 0:
        return natural
    room = total - 3 - (natural["variant"] + 2) - 3 * 2  # mark, variant, and the cell padding of the rest
    if natural["name"] + natural["expected"] + natural["observed"] <= room:  # all fits: observed takes the rest
        return {**natural, "observed": room - natural["name"] - natural["expected"]}
    # too narrow: the expectation keeps at least (about) half, the values share the rest, observed first; the
    # highlighted check is shown in full under the table
    name_min = min(natural["name"], max(16, int(room * 0.45)))
    budget = room - name_min
    expected = min(natural["expected"], max(8, int(budget * 0.35)))
    observed = min(natural["observed"], max(8, budget - expected))
    name = max(room - expected - observed, name_min)
    return {**natural, "expected": expected, "observed": observed, "name": name}


def fill(table: DataTable, checks: dict[str, dict], width: int) -> None:
    """Rebuilds the table (columns included, sized for `width`); the cursor stays on its row number."""
    widths = column_widths(list(checks.values()), width)
    cursor = table.cursor_row
    table.clear(columns=True)
    table.add_column(" ", key="mark", width=1)
    table.add_column("variant", key="variant", width=widths["variant"])
    table.add_column("expectation", key="name", width=widths["name"])
    table.add_column("expected", key="expected", width=widths["expected"])
    table.add_column("observed", key="observed", width=widths["observed"])
    for key, row in checks.items():
        table.add_row(table_cell(row["mark"]), table_cell(row["variant"]), table_cell(row["name"]),
                      table_cell(row["expected"]), table_cell(row["observed"]), key=key)
    if table.row_count:
        table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)


def detail(table: DataTable, checks: dict[str, dict]) -> Text:
    """The highlighted check in full (the table cuts long names and values)."""
    text = Text()
    if checks and table.row_count:
        row = list(checks.values())[min(max(table.cursor_row, 0), len(checks) - 1)]
        text.append_text(row["mark"])
        text.append(f" {row['variant']} · ", style="dim")
        text.append(row["name"], style="bold")
        text.append(": ")
        text.append_text(row["observed"])
        text.append(f" (want {row['expected']})")
        if row.get("why"):
            text.append(f"\n{row['why']}", style="dim italic")
    return text
