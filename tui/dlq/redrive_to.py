"""Where to redrive a dead-letter queue that has no one source queue to go back to (a function's DeadLetterConfig
or OnFailure queue, an SNS or EventBridge DLQ, a queue several queues redrive into): `sandbox dlq redrive --to`.

Dismisses with the destination as typed (a queue name, URL or ARN), once `check` (run off the event loop: it asks the
sandbox) accepts it - a queue that does not exist, the DLQ itself or a FIFO/standard mismatch is said in the form,
which stays open - or with None (cancel)."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from tui.widgets import FormScreen


class RedriveToScreen(FormScreen[str | None]):
    DEFAULT_CSS = """
    RedriveToScreen { align: center middle; }
    RedriveToScreen > Vertical {
        width: 72; max-width: 95%; height: auto; padding: 1 2; border: thick $primary; background: $panel;
    }
    RedriveToScreen .title { text-style: bold; margin-bottom: 1; }
    RedriveToScreen #redrive-to-problem { color: $error; height: auto; }
    RedriveToScreen Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    RedriveToScreen Button { margin-left: 2; }
    """

    def __init__(self, queue, check: Callable[[str], object]):
        """`check(destination)` raises with what is wrong with it (as the redrive itself would)."""
        super().__init__()
        self.queue = queue
        self.check = check

    def compose(self) -> ComposeResult:
        queue = self.queue
        why = ("several queues redrive into it" if len(queue.source_queues) > 1 else
               "its messages did not come from a queue")
        sources = "; ".join(s.describe() for s in queue.sources) or "no known source"
        with Vertical():
            yield Label(f"Redrive {queue.name}", classes="title")
            yield Static(Text.assemble(
                f"{queue.depth} message(s). It has no one source queue to go back to ({why}): {sources}.\n\n",
                "Move them to the queue named below (name, URL or ARN). Its consumers will process them again: "
                "fix the cause first."), id="redrive-to-why")
            yield Input(placeholder="destination queue", id="redrive-to")
            yield Static("", id="redrive-to-problem")
            with Horizontal():
                yield Button("Cancel (esc)", id="cancel", compact=True, action="screen.cancel")
                yield Button("Redrive (enter)", id="apply", variant="primary", compact=True, action="screen.apply")

    def on_mount(self) -> None:
        self.query_one("#redrive-to", Input).focus()

    def action_apply(self) -> None:
        value = self.query_one("#redrive-to", Input).value.strip()
        if not value:
            self.query_one("#redrive-to-problem", Static).update("Type the queue the messages should go to.")
            return
        self.query_one("#redrive-to-problem", Static).update(f"Checking {value}…")
        self._checked(value)

    @work(thread=True, exclusive=True, group="redrive-to-check")
    def _checked(self, value: str) -> None:
        try:
            self.check(value)
        except Exception as e:  # noqa: BLE001 - what the sandbox says is wrong with it, shown in the form
            self.app.call_from_thread(self.query_one("#redrive-to-problem", Static).update, f"{e}")
            return
        self.app.call_from_thread(self.dismiss, value)
