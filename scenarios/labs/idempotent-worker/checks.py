"""Check of idempotent-worker: a burst of uploads, then the transcodes of each job once the queue is empty."""

from scenarios.labs.kits import media

PATTERN = "media-pipeline"
BURST = 6
TRANSCODE_SECONDS = 3


def check_no_duplicates(ctx):
    keys = [f"{ctx.run_id}/clip-{i}.mp4" for i in range(BURST)]
    queue = ctx.output("JobsQueueUrl")
    for key in keys:
        media.upload(ctx, key)

    def settled():
        found = media.jobs(ctx, keys)
        done = len(found) == len(keys) and all(job.get("status") == "DONE" for job in found.values())
        return found if done and media.queue_depth(ctx, queue) == 0 else None

    found = ctx.wait_until(settled, timeout=90, interval=0.5) or media.jobs(ctx, keys)
    attempts = sorted((job.get("attempts", 0) for job in found.values()), reverse=True)
    twice = [a for a in attempts if a > 1]
    visibility = int(media.queue_attributes(ctx, queue).get("VisibilityTimeout", 30))
    ctx.note(jobs=len(keys), done=sum(j.get("status") == "DONE" for j in found.values()), transcoded_twice=len(twice),
             attempts=attempts, visibility_timeout=visibility)
    if twice:
        ctx.fail(f"{len(twice)} of {len(keys)} jobs were transcoded more than once (attempts {twice}): the queue's "
                 f"visibility timeout ({visibility} s) is shorter than a transcode ({TRANSCODE_SECONDS} s), so the "
                 "message was delivered again while a worker still had it. Make the worker idempotent, or the "
                 "visibility timeout longer than the work.")
    not_done = [k for k in keys if found.get(k, {}).get("status") != "DONE"]
    if not_done:
        job = found.get(not_done[0], {})
        ctx.fail(f"{len(not_done)} of {len(keys)} jobs did not finish within 90 s (e.g. {not_done[0].split('/', 1)[1]}:"
                 f" {job.get('status', 'no job')}{', ' + job['last_error'] if job.get('last_error') else ''})")
    how = ("the worker is idempotent" if visibility < TRANSCODE_SECONDS else
           f"the visibility timeout ({visibility} s) outlasts the work")
    return f"{len(keys)} jobs, each transcoded once: {how}"


CHECKS = {"no-duplicates": check_no_duplicates}
