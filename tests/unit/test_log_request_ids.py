"""Which Lambda invocation a log line belongs to: every form a runtime prints (sandbox/logs.py), so the TUI's
Logs `t` can follow any of them to its trace."""

from __future__ import annotations

import json

import pytest

from sandbox.logs import REQUEST_ID_FORMS, LogLine, enclosing_request_id, request_id_of

RID = "2b9c7ac7-f61b-4933-b2a6-e810f7554651"
STAMP = "2026-12-05T01:02:03.456Z"

# (the line as a runtime prints it, the form that names its id)
FORMS = [
    (f"START RequestId: {RID} Version: $LATEST", "platform: START/END/REPORT RequestId: <id>"),
    (f"END RequestId: {RID}", "platform: START/END/REPORT RequestId: <id>"),
    (f"REPORT RequestId: {RID}\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tStatus: timeout",
     "platform: START/END/REPORT RequestId: <id>"),
    (f"RequestId: {RID} Error: Runtime exited with error: signal: killed",
     "runtime failure: RequestId: <id> Error: ..."),
    (f"{STAMP} {RID} Task timed out after 3.00 seconds", "timeout: <time> <id> Task timed out after"),
    (f"{RID} Task timed out after 3.00 seconds", "timeout: <time> <id> Task timed out after"),
    (f"[ERROR]\t{STAMP}\t{RID}\tcannot ship order 7", "Python logging: [LEVEL] <time> <id> ... (tabs)"),
    (f"[INFO]\t2026-12-05T01:02:03Z\t{RID}\tFound credentials", "Python logging: [LEVEL] <time> <id> ... (tabs)"),
    (f"{STAMP}\t{RID}\tINFO\tgot order 7", "Node.js, .NET: <time> <id> LEVEL ... (tabs)"),
    (f"{STAMP}\t{RID}\tERROR\tInvoke Error \t{{\"errorType\":\"Error\"}}",
     "Node.js, .NET: <time> <id> LEVEL ... (tabs)"),
    (f"worker\t{RID}", "any tab-separated id"),
    (f"retrying after RequestId: {RID.upper()}", "any RequestId: <id>"),
]


def _form_of(message: str) -> str | None:
    return next((name for name, form in REQUEST_ID_FORMS if form.search(message)), None)


@pytest.mark.parametrize(("message", "form"), FORMS, ids=[f"{form}: {message[:40]}" for message, form in FORMS])
def test_every_runtime_form_names_its_request_id(message, form):
    assert _form_of(message) == form
    assert request_id_of(message) in (RID, RID.upper())
    assert LogLine(0, "/aws/lambda/f", message).request_id in (RID, RID.upper())


def test_every_form_in_the_table_is_exercised():
    assert {name for name, _ in REQUEST_ID_FORMS} == {form for _, form in FORMS}


@pytest.mark.parametrize("key", ["function_request_id", "requestId", "awsRequestId", "aws_request_id",
                                 "request_id"])
def test_structured_lines_name_it_in_a_field(key):
    message = json.dumps({"level": "INFO", "message": "m", key: RID, "correlation_id": "order-9"})
    line = LogLine(0, "/aws/lambda/f", message)
    assert (line.request_id, line.correlation_id) == (RID, "order-9")


@pytest.mark.parametrize("message", [
    "just a print",
    "Traceback (most recent call last):",
    f"order {RID} shipped",  # an id-shaped value in the text is not the invocation's
    "START RequestId:  Version: $LATEST",  # a runtime that lost the id
    "INIT_START Runtime Version: python:3.13.v1",
])
def test_lines_that_name_no_request_id(message):
    assert request_id_of(message) is None


def test_a_line_without_an_id_belongs_to_the_invocation_it_was_written_in():
    other = "0b5c8a0e-1f2d-4c3b-9a8e-7d6c5b4a3f21"

    def line(message, stream="s1", group="/aws/lambda/f"):
        return LogLine(0, group, message, stream)

    lines = [line(f"START RequestId: {RID} Version: $LATEST"),
             line(f"START RequestId: {other} Version: $LATEST", stream="s2"),  # another environment
             line("[ERROR] ValueError: boom"),
             line("printed by the other environment", stream="s2"),
             line(f"END RequestId: {RID}"),
             line("printed between invocations (init code of nothing)"),
             line("a line of another function", group="/aws/lambda/g")]
    assert [enclosing_request_id(lines, i) for i in (2, 3, 5, 6)] == [RID, other, None, None]


def test_a_one_event_traceback_reads_as_lines():
    """A Python runtime's uncaught error is one event whose lines are joined by "\\r" (as on AWS): the TUI's list shows
    it on one row with ⏎ between its lines, its details and `sandbox logs FUNCTION` line by line; its level is the
    first line's."""
    from tui.format import one_line

    message = "[ERROR] ValueError: boom\rTraceback (most recent call last):\r\u00a0\u00a0File \"/var/task/app.py\""
    line = LogLine(0, "/aws/lambda/f", message)
    assert line.level == "ERROR"
    assert line.text.splitlines() == ["[ERROR] ValueError: boom", "Traceback (most recent call last):",
                                      "\u00a0\u00a0File \"/var/task/app.py\""]
    assert one_line(line.message) == ("[ERROR] ValueError: boom ⏎ Traceback (most recent call last): ⏎ "
                                      "\u00a0\u00a0File \"/var/task/app.py\"")
    assert one_line("a\r\nb\tc") == "a ⏎ b  c"
