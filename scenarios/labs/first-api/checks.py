"""Checks of first-api: they read the function's logs and the recorder's traces, never ask the attendee to trust us."""

import re

from scenarios.labs.kits.http import call, session

PATTERN = "crud-api"
FIELDS = {"correlation id": "correlation", "trace id": "trace", "lambda request id": "request"}


def _handled(ctx) -> list[dict]:
    """The function's "request handled" log lines (method, path, status), oldest first."""
    lines = ctx.sb.logs.read(functions=[ctx.output("FunctionName")], contains="request handled")
    return [line.json for line in lines if isinstance(line.json, dict)]


def _item_exists(ctx, item_id: str) -> bool:
    table = ctx.sb.client("dynamodb", observer=True)  # the check reading: noise, not billed
    return "Item" in table.get_item(TableName=ctx.output("ItemsTableName"), Key={"id": {"S": item_id}})


def check_create_and_read(ctx):
    handled = _handled(ctx)
    posts = [h for h in handled if h.get("method") == "POST" and h.get("path") == "/items" and h.get("status") == 201]
    ctx.note(requests=len(handled), created=len(posts))
    if not posts:
        tried = [f"{h.get('method')} {h.get('path')} -> {h.get('status')}" for h in handled][-3:]
        # named: with crud-api deployed too, `sandbox stacks` lists its URL first, and calls there did not count
        ctx.fail("no POST /items answered 201 yet" + (f" (the function saw: {', '.join(tried)})" if tried else
                 " (the function has not been called)") + ": create an item with a JSON body "
                 f"{{\"payload\": {{...}}}} at {ctx.output('ApiUrl').rstrip('/')}/items (this lab's stack, "
                 f"{ctx.stack}; calls to another stack's API do not count)")
    reads = [h for h in handled if h.get("method") == "GET" and h.get("status") == 200
             and re.fullmatch(r"/items/[^/]+", h.get("path") or "")]
    found = [h for h in reads if _item_exists(ctx, h["path"].rsplit("/", 1)[1])]
    if not found:
        ctx.fail("you created an item but did not read it back: GET /items/<its id> "
                 "(the id is in the answer to your POST)" if not reads else
                 "the items you read back are gone from the table: create one and read it back")
    return f"created {len(posts)} item(s) and read {found[-1]['path']} back"


def _answers(ctx) -> dict[str, str]:
    path = ctx.workspace / "answers.md"
    if not path.is_file():
        ctx.fail(f"{path} is missing: `sandbox lab reset` puts the starter's answers.md back")
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        label, sep, value = line.partition(":")
        if sep and label.strip().lower() in FIELDS and value.strip():
            found[FIELDS[label.strip().lower()]] = value.strip().strip("`")
    return found


def check_find_the_trace(ctx):
    answers = _answers(ctx)
    missing = [label for label, key in FIELDS.items() if key not in answers]
    if missing:
        ctx.fail(f"answers.md has no {', no '.join(missing)} yet: fill in the value after the colon")
    cid, trace_id, request = answers["correlation"], answers["trace"], answers["request"]
    lines = [line for line in ctx.sb.logs.read(functions=[ctx.output("FunctionName")], contains=cid)
             if line.correlation_id == cid and (line.json or {}).get("message") == "item created"]
    if not lines:
        ctx.fail(f"no 'item created' log line has the correlation id {cid!r}: send POST /items with the header "
                 f"x-correlation-id: {cid}")
    logged = lines[-1].request_id
    try:
        spans = ctx.sb.trace(trace_id).get("spans", [])
    except Exception:  # noqa: BLE001 - SandboxError "No recorded spans for trace ..."
        ctx.fail(f"the recorder has no trace {trace_id!r}: copy the trace id (1-...) from "
                 f"`sandbox events --correlation {cid}`")
    api_id = ctx.output("ApiUrl").split("/_aws/execute-api/")[-1].split("/")[0]
    calls = [s for s in spans if s.get("service") == "apigateway" and (s.get("resource_name") or "").startswith(api_id)]
    runs = {s.get("request_id") for s in spans if s.get("hop") == "lambda-exec"}
    ctx.note(trace_spans=len(spans), log_request_id=logged)
    if not calls:
        ctx.fail(f"trace {trace_id} is not a call of your API (it holds "
                 f"{', '.join(sorted({s.get('service', '?') + ' ' + s.get('operation', '?') for s in spans}))})")
    if not any(line.request_id in runs for line in lines):
        ctx.fail(f"trace {trace_id} is another request than the one with correlation id {cid!r}: its function ran as "
                 f"{', '.join(sorted(r for r in runs if r)) or 'nothing'}, your log line is from {logged}")
    if request not in {line.request_id for line in lines}:
        ctx.fail(f"the 'item created' log line of {cid!r} was written by Lambda request {logged}, not {request}")
    return f"trace {trace_id} and the log line of Lambda request {request} are the same request: {cid}"


def solve_create_and_read(ctx):
    http = session()
    status, item, _ = call(ctx, http, "POST", "items", {"payload": {"name": "my first item"}})
    if status != 201:
        ctx.fail(f"POST /items answered {status}")
    call(ctx, http, "GET", f"items/{item['id']}")


def solve_find_the_trace(ctx):
    cid = f"lab-{ctx.run_id}"
    call(ctx, session(), "POST", "items", {"payload": {"name": "traced"}}, headers={"x-correlation-id": cid})
    spans = ctx.wait_until(lambda: ctx.sb.events(correlation=cid, limit=50)["events"], timeout=30)
    lines = ctx.wait_until(lambda: [line for line in ctx.sb.logs.read(functions=[ctx.output("FunctionName")],
                                                                      contains=cid)
                                    if (line.json or {}).get("message") == "item created"], timeout=30)
    if not spans or not lines:
        ctx.fail(f"the request with correlation id {cid} was not recorded or logged within 30 s")
    (ctx.workspace / "answers.md").write_text(
        "# Your answers (task find-the-trace)\n\n"
        f"correlation id: {cid}\ntrace id: {spans[-1]['trace_id']}\nlambda request id: {lines[-1].request_id}\n",
        encoding="utf-8")


CHECKS = {"create-and-read": check_create_and_read, "find-the-trace": check_find_the_trace}
SOLVERS = {"create-and-read": solve_create_and_read, "find-the-trace": solve_find_the_trace}
