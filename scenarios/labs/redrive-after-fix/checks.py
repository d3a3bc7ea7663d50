"""Checks of redrive-after-fix. SETUP replays "this morning": uploads of which three fail and are dead-lettered."""

from scenarios.labs.kits import media

PATTERN = "media-pipeline"
GOOD = ["setup/clip-1.mp4", "setup/clip-2.mp4", "setup/interview.mp4"]
FAILED = ["setup/summer.2025.mp4", "setup/cat.on.a.sofa.mp4", "setup/v2.final.mp4"]


def _scan(ctx) -> dict[str, dict]:
    return media.jobs(ctx, GOOD + FAILED)


def setup(ctx):
    """Uploads the morning's files and waits until the failed ones are parked in the DLQ."""
    for key in GOOD + FAILED:
        media.upload(ctx, key)
    dlq = ctx.output("DeadLetterQueueUrl")
    parked = ctx.wait_until(lambda: set(FAILED) <= set(media.parked_keys(ctx, dlq)), timeout=90)
    if not parked:
        ctx.fail("the morning's failed uploads did not reach the dead-letter queue within 90 s")


def check_fix_the_bug(ctx):
    keys = [f"{ctx.run_id}/holiday.2025.mp4", f"{ctx.run_id}/a.b.c.mp4", f"{ctx.run_id}/plain.mp4"]
    for key in keys:
        media.upload(ctx, key)
    found = ctx.wait_until(lambda: (lambda j: j if all(j.get(k, {}).get("status") in ("DONE", "FAILED")
                                                       for k in keys) else None)(media.jobs(ctx, keys)),
                           timeout=60) or media.jobs(ctx, keys)
    failed = {k: found.get(k, {}) for k in keys if found.get(k, {}).get("status") != "DONE"}
    ctx.note(uploaded=len(keys), failed=len(failed))
    if failed:
        key, job = next(iter(failed.items()))
        ctx.fail(f"{len(failed)} of {len(keys)} uploads still fail: {key.split('/', 1)[1]} -> "
                 f"{job.get('last_error') or job.get('status', 'no job')}")
    return f"{len(keys)} uploads with one, two and three dots in their names were transcoded"


def check_redrive(ctx):
    jobs = _scan(ctx)
    if len(jobs) < len(GOOD + FAILED):
        ctx.fail("the morning's jobs are gone (was the sandbox reset or restarted?): `sandbox lab reset` replays "
                 "the morning (and puts the starter back)")
    parked = [k for k in media.parked_keys(ctx, ctx.output("DeadLetterQueueUrl")) if k in FAILED]
    not_done = [k for k in FAILED if jobs[k].get("status") != "DONE"]
    ctx.note(parked=len(parked), not_done=len(not_done))
    if parked:
        again = [k for k in parked if jobs[k].get("attempts", 0) > 3]
        ctx.fail(f"the dead-letter queue still holds {len(parked)} failed job(s)" +
                 (f", {len(again)} of them redriven and failed again: deploy the fix first (task fix-the-bug)"
                  if again else ": redrive them to the jobs queue once the fix is deployed (`sandbox dlq redrive`)"))
    if not_done:
        ctx.fail(f"the dead-letter queue is empty but {len(not_done)} job(s) are not DONE "
                 f"({', '.join(k.split('/', 1)[1] for k in not_done)}): a purged message is a lost job. "
                 "`sandbox lab reset` replays the morning")
    return f"the dead-letter queue is empty and all {len(jobs)} jobs of the morning are DONE"


def solve_redrive(ctx):
    ctx.sb.dlq.redrive(ctx.output("DeadLetterQueueUrl"))
    done = ctx.wait_until(lambda: all(j.get("status") == "DONE" for j in _scan(ctx).values()), timeout=60)
    if not done:
        ctx.fail("after the redrive the jobs did not finish within 60 s: is the fix deployed?")


CHECKS = {"fix-the-bug": check_fix_the_bug, "redrive": check_redrive}
SOLVERS = {"redrive": solve_redrive}
SETUP = setup
