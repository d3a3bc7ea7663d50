"""EventBridge -> Step Functions targets with `InputPath` (or `InputTransformer`) never start an execution.

Bug in `localstack.services.events.target.StatesTargetSender.send_event` (localstack-core 2026.3.0): it names
the execution after the event, `event["id"]`, unless the target has a constant `Input`. But `send_event` is
called by `TargetSender.process_event` *after* `InputPath` / `InputTransformer` reshaped the event, so with
`InputPath: "$.detail"` the payload is the detail (no "id" key: KeyError 'id'), and with an InputTransformer it
may be a plain string (TypeError). `PutEvents` still answers success; the only trace is an INFO log line
`TargetDeliveryFailure ... Failed to deliver to target ...: 'id'` and no execution is ever started.
(A detail that happens to carry its own "id" is worse: that value becomes the execution name, so a second
event with the same detail id fails with ExecutionAlreadyExists.)

Workaround: `process_event` remembers the id of the original, untransformed event for the duration of the
call; `send_event` names the execution after that id (as LocalStack does for untransformed events), or a
fresh uid when there is none (scheduled events with constant `Input`, direct calls). The input sent to
`StartExecution` is unchanged: the transformed payload.
"""

from __future__ import annotations

import logging
import threading

LOG = logging.getLogger(__name__)

_current = threading.local()


TARGET = "localstack.services.events.target"


def apply() -> None:
    from localstack.services.events.target import StatesTargetSender
    from localstack.services.events.utils import to_json_str
    from localstack.utils.patch import Patch, patch
    from localstack.utils.strings import long_uid

    # process_event is inherited from TargetSender: `@patch` would patch the base class (every target type),
    # so the override is set on StatesTargetSender alone.
    inherited_process_event = StatesTargetSender.process_event

    def process_event(self, event, trace_header):
        previous = getattr(_current, "event_id", None)
        _current.event_id = event.get("id") if isinstance(event, dict) else None
        try:
            return inherited_process_event(self, event, trace_header)
        finally:
            _current.event_id = previous

    Patch(StatesTargetSender, "process_event", process_event).apply()

    @patch(StatesTargetSender.send_event, pass_target=False)
    def send_event(self, event, trace_header):
        self.service = "stepfunctions"
        event_id = getattr(_current, "event_id", None)
        execution_name = event_id if event_id and not self.target.get("Input") else long_uid()
        self.client.start_execution(
            stateMachineArn=self.target["Arn"], name=execution_name, input=to_json_str(event)
        )
