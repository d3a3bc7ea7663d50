"""workflow-retries: Step Functions Retry with backoff rides out a transient SES failure; a permanent one is
caught and compensated. Without Retry, the first hiccup kills the onboarding."""

import json

from scenarios.kits import onboarding as kit
from scenarios.model import Expectation, Scenario, Step, Variant, observed
from scenarios.runner import RunContext

USER_OK, USER_DOOMED = "ada", "grace"


def onboard_through_transient_failure(ctx: RunContext) -> None:
    event_id = kit.put_user_created(ctx, USER_OK, f"{USER_OK}@example.com", correlation_id="wf-transient")
    execution = kit.finished_execution(ctx, event_id)
    history = kit.execution_history(ctx, execution["executionArn"])
    attempts = kit.task_failures(history, "SendWelcomeEmail") + (execution["status"] == "SUCCEEDED")
    ctx.count("retried", attempts - 1)
    ctx.observe("transient.status", execution["status"])
    ctx.observe("transient.email_attempts", attempts)
    ctx.observe("transient.user_kept", kit.user_exists(ctx, USER_OK))
    ctx.observe("transient.transitions", kit.state_transitions(history))
    ctx.latencies.append((execution["stopDate"] - execution["startDate"]).total_seconds() * 1000)
    ctx.state["outcomes"] = {"wf-transient": (execution["status"], kit.user_exists(ctx, USER_OK))}


def onboard_during_ses_outage(ctx: RunContext) -> None:
    ctx.sb.faults.apply("service-outage", service="ses")
    event_id = kit.put_user_created(ctx, USER_DOOMED, f"{USER_DOOMED}@example.com", correlation_id="wf-outage")
    execution = kit.finished_execution(ctx, event_id)
    ctx.sb.faults.clear()
    history = kit.execution_history(ctx, execution["executionArn"])
    ctx.count("retried", max(kit.task_failures(history, "SendWelcomeEmail") - 1, 0))
    ctx.observe("outage.status", execution["status"])
    ctx.observe("outage.user_kept", kit.user_exists(ctx, USER_DOOMED))
    ctx.observe("outage.transitions", kit.state_transitions(history))
    outcomes = ctx.state["outcomes"]
    outcomes["wf-outage"] = (execution["status"], kit.user_exists(ctx, USER_DOOMED))
    # every failed execution reports itself with a user.onboarding_failed event carrying its correlation id
    failed = {cid for cid, (status, _) in outcomes.items() if status != "SUCCEEDED"}
    reported: dict[str, int] = {}

    def all_reported():
        for message in kit.drain(ctx, ctx.output("user-onboarding", "OnboardingFailuresQueueUrl")):
            cid = json.loads(message["Body"]).get("detail", {}).get("correlation_id")
            reported[cid] = reported.get(cid, 0) + 1
        return failed <= set(reported)

    ctx.wait_until(all_reported, timeout=30, what=f"{len(failed)} user.onboarding_failed event(s)")
    ctx.observe("outage.failure_events", reported.get("wf-outage", 0))
    # each onboarding sent ends one way: done, failed and compensated (record removed, failure reported), or lost
    succeeded = sum(status == "SUCCEEDED" and kept for status, kept in outcomes.values())
    compensated = sum(status != "SUCCEEDED" and not kept and cid in reported
                      for cid, (status, kept) in outcomes.items())
    ctx.set_count("succeeded", succeeded)
    ctx.set_count("compensated", compensated)
    ctx.set_count("lost", len(outcomes) - succeeded - compensated)
    ctx.narrate(f"{len(outcomes)} onboardings: {succeeded} succeeded, {compensated} failed and were compensated "
                f"(record removed, failure reported), {len(outcomes) - succeeded - compensated} lost")


SCENARIO = Scenario(
    id="workflow-retries",
    title="Workflow retries: ride out transient failures, compensate permanent ones",
    summary="A user.created event starts the onboarding workflow. SES first fails transiently (the email "
            "function's first two attempts per user fail), then goes down for good.",
    learn=[
        "Retry with exponential backoff and jitter turns a transient failure into a short delay",
        "Without Retry the first hiccup fails the whole workflow, and compensation undoes the work",
        "A permanent failure must end in Catch -> compensation, not in endless retries",
        "Every retry is a state transition: it shows in the history and on the bill",
    ],
    patterns=["user-onboarding"],
    outcomes=("succeeded", "compensated", "lost"),
    variants=[
        Variant("broken", "no Retry: RetryMaxAttempts=0",
                parameters={"user-onboarding": {"EmailFailureMode": "transient", "RetryMaxAttempts": "0"}}),
        Variant("fixed", "Retry with backoff and full jitter: MaxAttempts 3 (up to 3 retries, 4 attempts), 1 s, x2",
                parameters={"user-onboarding": {"EmailFailureMode": "transient", "RetryMaxAttempts": "3",
                                                "RetryIntervalSeconds": "1", "RetryBackoffRate": "2"}}),
    ],
    steps=[
        Step("Onboard a user while SES fails transiently", onboard_through_transient_failure,
             "The email Lambda fails its first two attempts for this user. Watch SendWelcomeEmail in the "
             "execution history: with Retry you see TaskFailed, a growing wait, then TaskSucceeded."),
        Step("SES goes down for good", onboard_during_ses_outage,
             "A fault makes every SES call fail with 503. Retries cannot help: the Catch sends the execution to "
             "RemovePartialUserRecord and NotifyOnboardingFailed - the saga undoes what was done."),
    ],
    expectations=[
        Expectation("execution status after the transient failure", observed("transient.status"), "==",
                    "SUCCEEDED", variants=("fixed",), why="Retry with backoff absorbs it"),
        Expectation("execution status after the transient failure", observed("transient.status"), "==",
                    "FAILED", variants=("broken",), why="no Retry: one failure ends the execution"),
        Expectation("user record kept after the transient failure", observed("transient.user_kept"),
                    "==", True, variants=("fixed",)),
        Expectation("email attempts through the transient failure", observed("transient.email_attempts"), "==", 3,
                    variants=("fixed",), why="two failed attempts, then success"),
        Expectation("user record kept after the permanent failure (compensated: no)", observed("outage.user_kept"),
                    "==", False),
        Expectation("user.onboarding_failed events for the permanent failure", observed("outage.failure_events"),
                    ">=", 1),
        Expectation("execution status after the permanent failure", observed("outage.status"), "==",
                    "FAILED"),
    ],
)
