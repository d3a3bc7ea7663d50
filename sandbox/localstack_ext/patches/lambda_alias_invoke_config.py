"""An EventInvokeConfig put on an alias applies to the async events invoked through that alias.

`localstack.services.lambda_.invocation.event_manager.Poller.handle_message` (localstack-core 2026.3.0) looks the
event's invoke config up by the qualifier of the version that runs it (`function_version.id.qualifier`), never by
the qualifier that was invoked: an async invoke of alias `live` (SAM's `AutoPublishAlias` with `EventInvokeConfig`
puts the config there) ran with the config of version 1 - usually none - so its OnSuccess/OnFailure destinations
got nothing, MaximumRetryAttempts/MaximumEventAge were the defaults (2 retries, 6 hours); a config on the version
behind the alias applied to alias invokes instead. On AWS the config of the qualifier invoked applies: an alias's
for an alias invoke, a version's for a version invoke, $LATEST's for an unqualified one.

The queued event carries the ARN it was invoked with (`Invocation.invoked_arn`, with the alias as its qualifier).
The patch hands `Poller`'s three users of the config - `_handle_invoke_exception` (event age, OnFailure on a
throttle), `_handle_function_error` (retries, event age, OnFailure) and `process_success_destination` - the config
of that qualifier, and the retry count that config sets; an event invoked unqualified or by the version keeps
LocalStack's lookup.
"""

from __future__ import annotations

TARGET = "localstack.services.lambda_.invocation.event_manager"

DEFAULT_RETRIES = 2  # LocalStack's (and AWS's) MaximumRetryAttempts without a config


def invoked_qualifier(invoked_arn: str) -> str | None:
    """The qualifier of the ARN an event was invoked with (None when unqualified)."""
    from localstack.services.lambda_.api_utils import function_locators_from_arn

    return function_locators_from_arn(invoked_arn or "")[1]


def apply() -> None:
    from localstack.services.lambda_.invocation.event_manager import Poller

    if getattr(Poller.process_success_destination, "_sandbox_alias_config", False):
        return
    original_exception = Poller._handle_invoke_exception
    original_error = Poller._handle_function_error
    original_success = Poller.process_success_destination

    def config_of(poller, sqs_invocation, config):
        """(config, whether it is another than LocalStack's): the config of the qualifier invoked."""
        qualifier = invoked_qualifier(sqs_invocation.invocation.invoked_arn)
        if not qualifier or qualifier == poller.version_manager.function_version.id.qualifier:
            return config, False
        return poller.version_manager.function.event_invoke_configs.get(qualifier), True

    def _handle_invoke_exception(self, sqs_invocation, error, event_invoke_config):
        event_invoke_config, _ = config_of(self, sqs_invocation, event_invoke_config)
        return original_exception(self, sqs_invocation, error, event_invoke_config)

    def _handle_function_error(self, sqs_invocation, response_payload, event_invoke_config, max_retry_attempts):
        event_invoke_config, other = config_of(self, sqs_invocation, event_invoke_config)
        if other:
            max_retry_attempts = DEFAULT_RETRIES
            if event_invoke_config and event_invoke_config.maximum_retry_attempts is not None:
                max_retry_attempts = event_invoke_config.maximum_retry_attempts
        return original_error(self, sqs_invocation, response_payload, event_invoke_config, max_retry_attempts)

    def process_success_destination(self, sqs_invocation, response_payload, event_invoke_config):
        event_invoke_config, _ = config_of(self, sqs_invocation, event_invoke_config)
        return original_success(self, sqs_invocation, response_payload, event_invoke_config)

    process_success_destination._sandbox_alias_config = True
    Poller._handle_invoke_exception = _handle_invoke_exception
    Poller._handle_function_error = _handle_function_error
    Poller.process_success_destination = process_success_destination
