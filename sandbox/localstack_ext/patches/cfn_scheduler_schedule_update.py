"""A stack update that changes an `AWS::Scheduler::Schedule` reports success and changes nothing.

`localstack.services.scheduler.resource_providers.aws_scheduler_schedule.SchedulerScheduleProvider.update`
(localstack-core 2026.3.0) raises NotImplementedError, which LocalStack's CloudFormation engine
(`resource_provider.ResourceProviderExecutor.execute_action`) turns into a warning and SUCCESS with the previous
state: a redeploy with a new ScheduleExpression, Input or State leaves the old schedule firing as before.

Workaround: update calls UpdateSchedule with the template's properties (UpdateSchedule replaces the whole
schedule, as on AWS; a State left out means ENABLED).
"""

from __future__ import annotations

TARGET = "localstack.services.scheduler.resource_providers.aws_scheduler_schedule"
FIELDS = ("Description", "EndDate", "FlexibleTimeWindow", "GroupName", "KmsKeyArn", "ScheduleExpression",
          "ScheduleExpressionTimezone", "StartDate", "State", "Target")


def apply() -> None:
    from localstack.services.cloudformation.resource_provider import OperationStatus, ProgressEvent
    from localstack.services.scheduler.resource_providers.aws_scheduler_schedule import SchedulerScheduleProvider

    def update(self, request):
        model = dict(request.desired_state)
        previous = request.previous_state or {}
        model["Name"] = model.get("Name") or previous.get("Name")  # create-only: a generated name stays
        params = {k: model[k] for k in FIELDS if model.get(k) is not None}
        params.setdefault("State", "ENABLED")
        result = request.aws_client_factory.scheduler.update_schedule(Name=model["Name"], **params)
        model["Arn"] = result["ScheduleArn"]
        return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model)

    SchedulerScheduleProvider.update = update
