"""EventBridge rules with a ScheduleExpression fire wrongly, and keep firing after they are gone.

Bugs in `localstack.services.events.rule.RuleService.create_schedule_job` and
`localstack.services.events.scheduler.JobScheduler` (localstack-core 2026.3.0): every PutTargets on a scheduled
rule adds one more job (a rule whose targets were put twice fires twice per period); jobs are never removed -
not by DeleteRule, RemoveTargets or a state reset - and keep sending to the targets they captured; EnableRule /
DisableRule do not reach them; `rate(5 minutes)` becomes the cron `*/5 * * * *` and the loop wakes every 59.9 s,
so firings drift, double up or are skipped; AWS's six-field cron (`cron(0 3 * * ? *)`, day-of-week 1-7 = SUN-SAT)
is handed to a five-field crontab parser.

Workaround: `create_schedule_job` adds no job; the sandbox's schedule engine (sandbox/schedules/engine) fires
scheduled rules, reading them from the events store on every tick, with AWS's expression semantics, their
current state and targets, and the targets' RetryPolicy and DeadLetterConfig.
"""

from __future__ import annotations

TARGET = "localstack.services.events.rule"


def apply() -> None:
    from localstack.services.events.rule import RuleService

    if getattr(RuleService.create_schedule_job, "_sandbox_patch", False):
        return

    def create_schedule_job(self, schedule_job_sender_func) -> None:
        self.job_id = None  # fired by sandbox.schedules.engine instead

    create_schedule_job._sandbox_patch = True
    RuleService.create_schedule_job = create_schedule_job
