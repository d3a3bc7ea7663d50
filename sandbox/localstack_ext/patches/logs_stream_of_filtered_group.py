"""CreateLogStream failed in a log group that has a subscription filter, and the lines meant for it were lost.

localstack/services/logs/provider.py patches moto's `LogGroup.create_log_stream` to copy the group's filter pattern
onto the new stream with `self.describe_subscription_filters()[0]["filterPattern"]`; moto now returns a
`dict_values` of SubscriptionFilter objects, so every CreateLogStream in such a group raised
`'dict_values' object is not subscriptable` (a Lambda function's log group with a subscription filter lost its
log lines). LocalStack's patch is taken off and replaced by one that reads the filters as moto gives them.
"""

TARGET = "localstack.services.logs.provider"


def apply() -> None:
    from localstack.utils.patch import Patch
    from moto.logs.models import LogGroup

    for applied in list(Patch.applied_patches):
        if applied.obj is LogGroup and applied.name == "create_log_stream":
            applied.undo()
    create = LogGroup.create_log_stream  # moto's own

    def create_log_stream(self, log_stream_name):
        result = create(self, log_stream_name)
        filters = list(self.describe_subscription_filters())
        self.streams[log_stream_name].filter_pattern = getattr(filters[0], "filter_pattern", None) if filters else None
        return result

    LogGroup.create_log_stream = create_log_stream
