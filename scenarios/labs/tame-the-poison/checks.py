"""Checks of tame-the-poison: they upload files themselves and read what the worker did in the Jobs table."""

from scenarios.labs.kits import media

PATTERN = "media-pipeline"
GOOD = 9
RECEIVES = 3
STEADY_SECONDS = 2.0


def _burst(ctx, good: int) -> tuple[list[str], str]:
    """`good` good uploads and one poison one, queued while the worker is paused so they arrive as one batch."""
    keys = [f"{ctx.run_id}/good-{i}.mp4" for i in range(good)]
    poison = f"{ctx.run_id}/poison.mp4"
    with media.worker_paused(ctx):
        for i, key in enumerate(keys):
            if i == good // 2:
                media.upload(ctx, poison, good=False)
            media.upload(ctx, key)
        queued = ctx.wait_until(lambda: len(media.jobs(ctx, keys + [poison])) == good + 1, timeout=60)
        if not queued:
            ctx.fail(f"only {len(media.jobs(ctx, keys + [poison]))} of {good + 1} uploads became jobs within 60 s: "
                     "the ingest function is not doing its part (its log lines are in the TUI's Logs tab)")
        # the ingest writes a job before it queues its message: resumed at once, the last message could arrive in a
        # batch of its own (and a poison alone in its batch hides the very bug the check looks for)
        url = ctx.output("JobsQueueUrl")
        if not ctx.wait_until(lambda: int(media.queue_attributes(ctx, url)["ApproximateNumberOfMessages"]) >= good + 1,
                              timeout=30):
            ctx.fail(f"the {good + 1} jobs were written but their messages did not all reach the jobs queue within "
                     "30 s: the ingest function is not doing its part (its log lines are in the TUI's Logs tab)")
    return keys, poison


def check_partial_batch(ctx):
    keys, poison = _burst(ctx, GOOD)
    visibility = int(media.queue_attributes(ctx, ctx.output("JobsQueueUrl")).get("VisibilityTimeout", 30))

    def settled():
        found = media.jobs(ctx, keys + [poison])
        done = all(found.get(k, {}).get("status") == "DONE" for k in keys)
        twice = any(found.get(k, {}).get("attempts", 0) > 1 for k in keys)
        return found if twice or (done and found.get(poison, {}).get("attempts", 0) >= 2) else None

    # The poison's second try can be the first record of a whole retried batch, its good records tried again right
    # after: judged once the jobs have held still (a check that stopped at the poison's second try passed the
    # starter, on a loaded machine)
    found = ctx.wait_until(settled, timeout=min(3 * visibility, 60) + 20, steady=STEADY_SECONDS) or \
        media.jobs(ctx, keys + [poison])
    twice = [k for k in keys if found.get(k, {}).get("attempts", 0) > 1]
    unfinished = [k for k in keys if found.get(k, {}).get("status") != "DONE"]
    tries = found.get(poison, {}).get("attempts", 0)
    ctx.note(good=len(keys), transcoded_twice=len(twice), unfinished=len(unfinished), poison_attempts=tries)
    if twice:
        ctx.fail(f"{len(twice)} of {len(keys)} good jobs were transcoded more than once: when the poison upload "
                 "failed, the whole batch went back to the queue. Report only the failed records "
                 "(batchItemFailures) instead of raising.")
    if unfinished:
        ctx.fail(f"{len(unfinished)} of {len(keys)} good jobs never finished (e.g. {unfinished[0]}: "
                 f"{found.get(unfinished[0], {}).get('status', 'no job')}): look at the worker's logs "
                 "(the TUI's Logs tab)")
    if tries < 2:
        ctx.fail(f"the poison upload was tried once and never again: its message was deleted as if it had "
                 "succeeded, so a fix could never reprocess it. Lambda ignores batchItemFailures unless the "
                 "worker's SQS event has FunctionResponseTypes: [ReportBatchItemFailures].")
    return (f"{len(keys)} good jobs transcoded once each; the poison upload failed alone and was retried "
            f"({tries} tries so far)")


def check_dead_letter(ctx):
    policy = media.redrive_policy(ctx)
    if not policy:
        ctx.fail("the jobs queue has no dead-letter queue: a poison message comes back forever. Give JobsQueue a "
                 "RedrivePolicy (deadLetterTargetArn, maxReceiveCount: 3) pointing at a new queue.")
    receives = int(policy.get("maxReceiveCount", 0))
    ctx.note(max_receive_count=receives)
    if receives != RECEIVES:
        why = ("a job that fails once for a passing reason (a throttle, a timeout) gets no second chance"
               if receives < RECEIVES else
               f"a poison upload costs {receives} invocations before anyone sees it")
        ctx.fail(f"maxReceiveCount is {receives}: {why}. Set it to {RECEIVES} (one try, two retries).")
    dlq_url = media.queue_url_of(ctx, policy["deadLetterTargetArn"])
    if not dlq_url:
        ctx.fail(f"the redrive policy points at {policy['deadLetterTargetArn']}, which does not exist: use "
                 "!GetAtt DeadLetterQueue.Arn of a queue in the template")
    keys, poison = _burst(ctx, 2)
    visibility = int(media.queue_attributes(ctx, ctx.output("JobsQueueUrl")).get("VisibilityTimeout", 30))

    def parked_now():
        parked = media.parked_keys(ctx, dlq_url)
        return parked if poison in parked else None

    parked = ctx.wait_until(parked_now, timeout=min(RECEIVES * visibility, 90) + 30) or media.parked_keys(ctx, dlq_url)
    found = media.jobs(ctx, keys + [poison])
    tries = found.get(poison, {}).get("attempts", 0)
    ctx.note(poison_attempts=tries, parked=len(parked))
    if poison not in parked:
        ctx.fail(f"the poison upload is not in the dead-letter queue after {tries} tries: check that "
                 "deadLetterTargetArn names the queue you added, and that the worker reports the failure")
    shared = [k for k in keys if k in parked or found.get(k, {}).get("attempts", 0) > 1]
    if shared:
        ctx.fail(f"{len(shared)} good job(s) rode along with the poison one (retried, or dead-lettered with it): "
                 "they shared its failed batch. Finish task partial-batch first.")
    if tries != RECEIVES:
        ctx.fail(f"the poison upload was tried {tries} times before it was parked, not {RECEIVES}")
    return f"the poison upload was tried {tries} times, then parked in {dlq_url.rsplit('/', 1)[-1]}"


CHECKS = {"partial-batch": check_partial_batch, "dead-letter": check_dead_letter}
