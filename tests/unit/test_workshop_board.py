"""The instructor's board without LocalStack: a host on loopback, two attendees reporting through the same code
`sandbox lab check` uses, and everything the host must refuse (no token, a foreign Host, a web page)."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys

import pytest

from scenarios.labs import CheckResult, LabError
from scenarios.workshop import join
from scenarios.workshop.board import Board, ReportError
from scenarios.workshop.host import BoardServer

LABS = {"tame-the-poison": ("partial-batch", "dead-letter"), "add-a-route": ("patch-route",)}
TOKEN = "workshop-token-123"


class Clock:
    def __init__(self):
        self.now = 10_000.0

    def __call__(self):
        return self.now


def result(task: str, passed: bool) -> CheckResult:
    return CheckResult(task, task, passed, "a message with the attendee's data: never sent")


@pytest.fixture
def host():
    clock = Clock()
    server = BoardServer(Board(LABS, clock=clock), TOKEN, port=0).start()
    server.clock = clock
    yield server
    server.stop()


def joined(tmp_path, host, name: str):
    state = tmp_path / name
    join.join(state, host.url, name, TOKEN)
    return state


def row(board, name):
    return next(r for r in board.snapshot()["rows"] if r["name"] == name)


def test_two_attendees_report_and_the_board_shows_who_is_done_and_how_long_the_other_is_stuck(tmp_path, host):
    ada, bob = joined(tmp_path, host, "Ada"), joined(tmp_path, host, "Bob")
    assert (ada / "labs" / "workshop.json").stat().st_mode & 0o777 == 0o600  # it holds the token
    assert "reported to the board" in join.report(ada, "tame-the-poison", [result("partial-batch", False)])
    assert join.report(bob, "tame-the-poison", [result("partial-batch", True)])
    host.clock.now += 300
    join.report(bob, "tame-the-poison", [result("partial-batch", True), result("dead-letter", True)])
    host.clock.now += 120
    board = host.board
    snapshot = board.snapshot()
    assert [r["name"] for r in snapshot["rows"]] == ["Ada", "Bob"] and snapshot["columns"] == 2
    ada_row, bob_row = row(board, "Ada"), row(board, "Bob")
    assert [c["state"] for c in ada_row["cells"]] == ["failed", "todo"]
    assert ada_row["cells"][0]["stuck"] == 420  # on partial-batch since her first report
    assert [c["state"] for c in bob_row["cells"]] == ["passed", "passed"] and bob_row["done"] == 2
    # a task that passes moves the stuck clock to the next one
    join.report(ada, "tame-the-poison", [result("partial-batch", True)])
    host.clock.now += 60
    assert row(board, "Ada")["cells"][1] == {"task": "dead-letter", "state": "working", "stuck": 60}


def test_only_results_are_sent():
    payload = join.report_payload("Ada", "tame-the-poison", [result("partial-batch", False)])
    assert set(payload) == {"name", "lab", "results"}
    assert set(payload["results"][0]) == {"task", "passed", "at"}
    assert "message" not in json.dumps(payload) and "attendee's data" not in json.dumps(payload)


def post(host, headers: dict, body: bytes = b'{"name": "Eve", "lab": "add-a-route", "results": []}',
         path="/report", method="POST"):
    connection = http.client.HTTPConnection("127.0.0.1", host.port, timeout=5)
    connection.request(method, path, body=body, headers={"Content-Type": "application/json", **headers})
    response = connection.getresponse()
    answer = json.loads(response.read() or b"{}")
    return response.status, response.getheader("X-Sandbox-Refused"), answer


def test_the_host_refuses_reports_without_the_token_from_foreign_hosts_and_from_web_pages(host):
    assert post(host, {})[:2] == (401, "token")
    assert post(host, {"X-Sandbox-Token": "guess"})[:2] == (401, "token")
    status, kind, answer = post(host, {"X-Sandbox-Token": TOKEN, "Host": "evil.example:8700"})
    assert (status, kind) == (403, "host") and "DNS-rebinding" in answer["error"]
    assert post(host, {"X-Sandbox-Token": TOKEN, "Origin": "https://evil.example"})[:2] == (403, "cross-site")
    assert post(host, {"X-Sandbox-Token": TOKEN, "Sec-Fetch-Site": "cross-site"})[:2] == (403, "cross-site")
    assert post(host, {"Origin": "https://evil.example"}, method="OPTIONS", body=b"")[0] == 403  # no preflight
    assert host.board.snapshot()["rows"] == []  # nothing refused got onto the board
    # a report that is not one says what is wrong
    status, _, answer = post(host, {"X-Sandbox-Token": TOKEN}, b'{"name": "Eve", "lab": "rm -rf", "results": []}')
    assert status == 400 and "unknown lab" in answer["error"]
    status, _, answer = post(host, {"X-Sandbox-Token": TOKEN}, b"not json")
    assert status == 400
    status, _, _ = post(host, {"X-Sandbox-Token": TOKEN}, b"x" * 20_000)
    assert status == 413
    assert post(host, {"X-Sandbox-Token": TOKEN})[0] == 200


def test_the_host_binds_loopback_by_default(host):
    assert host.httpd.server_address[0] == "127.0.0.1" and host.url.startswith("http://127.0.0.1:")


def test_reports_are_checked_against_the_catalog():
    board = Board(LABS)
    for bad in ({"name": "", "lab": "add-a-route", "results": []},
                {"name": "x" * 41, "lab": "add-a-route", "results": []},
                {"name": "Ada", "lab": "add-a-route", "results": [{"task": "other", "passed": True}]},
                {"name": "Ada", "lab": "add-a-route", "results": [{"task": "patch-route", "passed": "yes"}]},
                ["not", "an", "object"]):
        with pytest.raises(ReportError):
            board.record(bad)


def test_joining_says_what_is_wrong_never_a_traceback(tmp_path, host):
    with pytest.raises(LabError, match="refused \\(401\\).*workshop token"):
        join.join(tmp_path, host.url, "Ada", "wrong")
    with pytest.raises(LabError, match="cannot be reached"):
        join.join(tmp_path, "http://127.0.0.1:1", "Ada", TOKEN)
    with pytest.raises(LabError, match="not a board's join URL"):
        join.join(tmp_path, "ftp://x", "Ada", TOKEN)
    assert join.membership(tmp_path) is None  # nothing saved by a failed join
    # a board that went away does not fail a check: the report says it did not arrive
    state = joined(tmp_path, host, "Ada")
    host.stop()
    assert join.report(state, "add-a-route", [result("patch-route", True)]).startswith("not reported")


def test_sandbox_lab_join_with_a_wrong_token_is_one_clear_line(tmp_path, host):
    done = subprocess.run([sys.executable, "-m", "sandbox.cli", "--state-dir", str(tmp_path), "lab", "join",
                           host.url, "--name", "Ada", "--token", "wrong"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert "workshop token" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_bound_to_every_interface_the_join_urls_host_is_accepted_and_others_refused():
    server = BoardServer(Board(LABS), TOKEN, bind="0.0.0.0", port=0).start()
    try:
        assert server.httpd.server_address[0] == "0.0.0.0" and "0.0.0.0" not in server.url
        advertised = server.url.split("//")[1]
        assert post(server, {"X-Sandbox-Token": TOKEN, "Host": advertised})[0] == 200
        assert post(server, {"X-Sandbox-Token": TOKEN, "Host": f"board.example:{server.port}"})[:2] == (403, "host")
    finally:
        server.stop()
