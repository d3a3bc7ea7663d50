"""Checks of retries-that-help: they read the deployed definition, then run onboardings through injected faults.

A transient outage is a sandbox Lambda fault (TransientEmailError on every call) switched on until each execution
has failed once, then off: with a retry the next attempt succeeds; without, the execution has already failed.
"""

import json

PATTERN = "user-onboarding"
TRANSIENT = "TransientEmailError"
PERMANENT = "PermanentEmailError"


def _definition(ctx) -> dict:
    sfn = ctx.sb.client("stepfunctions", observer=True)  # the check reading: noise, not billed
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=ctx.output("StateMachineArn"))["definition"])
    state = definition.get("States", {}).get("SendWelcomeEmail")
    if not state:
        ctx.fail("the state machine has no SendWelcomeEmail state any more: keep its name, the check looks for it")
    return state


def _covers(retrier: dict, error: str) -> bool:
    names = retrier.get("ErrorEquals", [])
    return error in names or "States.ALL" in names or "States.TaskFailed" in names


def _start(ctx, users: list[dict]) -> list[str]:
    sfn = ctx.sb.client("stepfunctions")
    return [sfn.start_execution(stateMachineArn=ctx.output("StateMachineArn"), name=f"{u['user_id']}",
                                input=json.dumps(u))["executionArn"] for u in users]


def _history(ctx, arn: str) -> list[dict]:
    return ctx.sb.client("stepfunctions", observer=True).get_execution_history(executionArn=arn, maxResults=1000)["events"]


def _email_attempts(events: list[dict]) -> int:
    return sum(1 for e in events if e["type"] == "TaskScheduled"
               and e.get("taskScheduledEventDetails", {}).get("resourceType") == "lambda")


def _email_failed(events: list[dict]) -> bool:
    return any(e["type"] in ("TaskFailed", "LambdaFunctionFailed") for e in events)


def _status(ctx, arn: str) -> dict:
    return ctx.sb.client("stepfunctions", observer=True).describe_execution(executionArn=arn)


def _finished(ctx, arns: list[str], timeout: float) -> dict[str, dict]:
    done = ctx.wait_until(lambda: (lambda s: s if all(x["status"] != "RUNNING" for x in s.values()) else None)(
        {arn: _status(ctx, arn) for arn in arns}), timeout=timeout, interval=0.5)
    return done or {arn: _status(ctx, arn) for arn in arns}


def _record(ctx, user_id: str) -> bool:
    return "Item" in ctx.sb.client("dynamodb", observer=True).get_item(TableName=ctx.output("UsersTableName"),
                                                                       Key={"user_id": {"S": user_id}}, ConsistentRead=True)


def check_retry_transient(ctx):
    retriers = _definition(ctx).get("Retry", [])
    transient = next((r for r in retriers if _covers(r, TRANSIENT)), None)
    if not transient:
        ctx.fail(f"SendWelcomeEmail has no Retry for {TRANSIENT}: one SES hiccup fails the whole onboarding. Add a "
                 "Retry with ErrorEquals [\"TransientEmailError\", ...]")
    if float(transient.get("BackoffRate", 2.0)) <= 1 or transient.get("JitterStrategy") != "FULL":
        ctx.fail("the Retry waits the same time before every attempt, and every execution retries in step: "
                 "set BackoffRate above 1 (exponential backoff) and JitterStrategy FULL, so a recovering SES is "
                 "not hit by all of them at once")
    if int(transient.get("MaxAttempts", 3)) < 3:
        ctx.fail(f"MaxAttempts {transient.get('MaxAttempts')} leaves no room for an outage of a few seconds: "
                 "allow 3 or more")
    users = [{"user_id": f"{ctx.run_id}-{i}", "email": f"user{i}@example.com", "name": f"User {i}"} for i in range(4)]
    function = ctx.output("SendWelcomeEmailFunctionName")
    rule = {"function": function, "fault": "error", "probability": 1.0,
            "error": {"type": TRANSIENT, "message": "SES is throttling (injected by the lab's check)"}}
    ctx.sb.faults.add_lambda(rule)
    try:
        arns = _start(ctx, users)
        ctx.wait_until(lambda: all(_email_failed(_history(ctx, arn)) for arn in arns), timeout=30, interval=0.2)
    finally:
        ctx.sb.faults.remove_lambda(rule)
    finished = _finished(ctx, arns, timeout=60)
    failed = {arn: s for arn, s in finished.items() if s["status"] != "SUCCEEDED"}
    attempts = [_email_attempts(_history(ctx, arn)) for arn in arns]
    ctx.note(executions=len(arns), succeeded=len(arns) - len(failed), email_attempts=attempts)
    if failed:
        example = next(iter(failed.values()))
        ctx.fail(f"{len(failed)} of {len(arns)} onboardings ended {example['status']} "
                 f"({example.get('error', '?')}) after a short SES outage the check injected: the retries did not "
                 "outlast it")
    return f"{len(arns)} onboardings survived an SES outage ({', '.join(map(str, attempts))} email attempts)"


def check_compensate(ctx):
    retriers = _definition(ctx).get("Retry", [])
    wasted = [r for r in retriers if _covers(r, PERMANENT)]
    users = [{"user_id": f"{ctx.run_id}-ok-{i}", "email": f"ok{i}@example.com", "name": f"Ok {i}"} for i in range(2)]
    bounced = [{"user_id": f"{ctx.run_id}-bounce-{i}", "email": f"gone{i}@bounce.example", "name": f"Gone {i}"}
               for i in range(2)]
    arns = _start(ctx, users + bounced)
    finished = _finished(ctx, arns, timeout=60)
    by_user = dict(zip([u["user_id"] for u in users + bounced], arns))
    not_welcomed = [u["user_id"] for u in users if finished[by_user[u["user_id"]]]["status"] != "SUCCEEDED"
                    or not _record(ctx, u["user_id"])]
    left_behind = [u["user_id"] for u in bounced if _record(ctx, u["user_id"])]
    attempts = [_email_attempts(_history(ctx, by_user[u["user_id"]])) for u in bounced]
    ctx.note(onboarded=len(users) - len(not_welcomed), left_behind=len(left_behind), bounce_attempts=attempts)
    if not_welcomed:
        ctx.fail(f"{len(not_welcomed)} of {len(users)} good users were not onboarded (no SUCCEEDED execution with "
                 "a user record): the compensation must only run when the email failed")
    if left_behind:
        ctx.fail(f"{len(left_behind)} of {len(bounced)} failed onboardings left their user record behind: a user "
                 "who never got the welcome email is half onboarded. Add a Catch on SendWelcomeEmail that deletes "
                 "the record (compensation), then ends in a Fail state")
    if wasted or max(attempts) > 1:
        ctx.fail(f"a bounced address was tried {max(attempts)} times: {PERMANENT} can never succeed, so retrying it "
                 "only delays the compensation. Retry only the transient errors.")
    return (f"{len(users)} users onboarded; {len(bounced)} bounced addresses tried once, their records removed "
            "(compensated)")


CHECKS = {"retry-transient": check_retry_transient, "compensate": check_compensate}
