"""The instructor's board screen: a host on loopback, two attendees reporting as `sandbox lab check` does, their
rows appearing as the reports arrive (no LocalStack: the board takes results, it runs nothing)."""

from __future__ import annotations

import asyncio

from textual.widgets import DataTable

from scenarios.labs import CheckResult
from scenarios.workshop import join
from scenarios.workshop.board import Board
from scenarios.workshop.host import BoardServer
from tests.tui.test_tui import until
from tui.workshop.app import BoardApp

LABS = {"tame-the-poison": ("partial-batch", "dead-letter"), "first-api": ("list-items", "get-item", "answers")}
TOKEN = "workshop-token-123"
SIZE = (100, 20)


class Clock:
    def __init__(self):
        self.now = 50_000.0

    def __call__(self):
        return self.now


def result(task: str, passed: bool) -> CheckResult:
    return CheckResult(task, task, passed, "")


def table_text(app) -> list[list[str]]:
    table = app.query_one("#board-table", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def test_two_attendees_on_loopback_appear_on_the_board_as_they_report(tmp_path):
    clock = Clock()
    server = BoardServer(Board(LABS, clock=clock), TOKEN).start()
    ada, bob = tmp_path / "ada", tmp_path / "bob"
    join.join(ada, server.url, "Ada", TOKEN)
    join.join(bob, server.url, "Bob", TOKEN)

    async def scenario():
        app = BoardApp(server.board, server.url, TOKEN, refresh=False)
        async with app.run_test(size=SIZE) as pilot:
            assert app.query_one("#board-empty").display
            # the reports arrive on the server's threads, as from two laptops
            await asyncio.to_thread(join.report, ada, "tame-the-poison", [result("partial-batch", False)])
            rows = await until(pilot, lambda: table_text(app), 10, "Ada's row")
            assert rows[0][:4] == ["Ada", "tame-the-poison", "0/2", "✘ 0s"]
            clock.now += 7 * 60
            await asyncio.to_thread(join.report, bob, "tame-the-poison",
                                    [result("partial-batch", True), result("dead-letter", True)])
            rows = await until(pilot, lambda: len(table_text(app)) == 2 and table_text(app), 10, "Bob's row")
            assert rows[0][:4] == ["Ada", "tame-the-poison", "0/2", "✘ 7m00s"]  # stuck since her first check
            assert rows[1][:5] == ["Bob", "tame-the-poison", "2/2", "✔", "✔"]
            assert "2 attendee(s)" in app.sub_title

    try:
        asyncio.run(scenario())
    finally:
        server.stop()


def test_snapshot_board(snap_compare):
    clock = Clock()
    board = Board(LABS, clock=clock)
    board.record({"name": "Ada Lovelace", "lab": "tame-the-poison",
                  "results": [{"task": "partial-batch", "passed": True, "at": clock.now}]})
    board.record({"name": "Grace Hopper", "lab": "first-api",
                  "results": [{"task": "list-items", "passed": False, "at": clock.now}]})
    clock.now += 4 * 60
    board.record({"name": "Alan Turing", "lab": "tame-the-poison",
                  "results": [{"task": "partial-batch", "passed": True, "at": clock.now},
                              {"task": "dead-letter", "passed": True, "at": clock.now}]})
    board.record({"name": "Edsger Dijkstra", "lab": "first-api", "results": []})
    clock.now += 9 * 60
    app = BoardApp(board, "http://192.168.1.20:8700", "Zq3-example-token", refresh=False)
    assert snap_compare(app, terminal_size=SIZE)
