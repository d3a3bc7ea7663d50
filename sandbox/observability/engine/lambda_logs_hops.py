"""A function's log lines, shipped to CloudWatch Logs in the trace of the execution that wrote them.

Patched LocalStack behaviour (localstack-core 2026.3.0, `localstack.services.lambda_.invocation`):

* `version_manager.LambdaVersionManager.store_logs` runs right after an execution, in the invoking thread, and
  queues the execution's logs (`logs.LogHandler.add_logs(LogItem)`).
* `logs.LogHandler.run_log_loop`, on a thread of its own ("log_handler"), takes each item off
  `LogHandler.log_queue` and sends it with PutLogEvents (CreateLogGroup/CreateLogStream first, if needed).

So the PutLogEvents - and what CloudWatch Logs does with the lines: a subscription filter's delivery to a
function, a Kinesis stream or a Firehose stream (logs_hops) - started a new trace. The patch remembers, with
each queued item, the execution it came from (lambda_hops.execution_of), and the log thread's queue binds the
thread to that execution whenever it hands out an item: Lambda's PutLogEvents is then the execution's child,
attributed to the function (LocalStack's logs client names no calling service).
"""

from __future__ import annotations

from queue import Queue

from sandbox.observability.engine import lambda_hops, propagation

ITEM_ATTR = "_sandbox_current"
SHIPPING_OPERATIONS = frozenset({"PutLogEvents", "CreateLogGroup", "CreateLogStream"})


class BindingQueue(Queue):
    """LogHandler's queue: `get` binds the calling (log) thread to the execution the item came from."""

    def get(self, block=True, timeout=None):
        item = super().get(block, timeout)
        propagation.set_current(getattr(item, ITEM_ATTR, None))
        return item


def install() -> None:
    from localstack.services.lambda_.invocation.logs import LogHandler
    from localstack.services.lambda_.invocation.version_manager import LambdaVersionManager

    if getattr(LambdaVersionManager.store_logs, "_sandbox_observability", False):
        return
    original_store, original_add, original_init = (LambdaVersionManager.store_logs, LogHandler.add_logs,
                                                   LogHandler.__init__)

    def store_logs(self, invocation_result, execution_env):
        known = lambda_hops.execution_of(getattr(invocation_result, "request_id", None))
        if known is None:
            return original_store(self, invocation_result, execution_env)
        fn_arn, _ = lambda_hops._function_arn(self.function_version)
        # LocalStack's logs client names no principal: the calls are attributed to the function here
        hop = {"caller": {"kind": "service", "name": "lambda", "source_arn": fn_arn}}
        with propagation.bound(propagation.Current(*known, hop=hop, hop_ops=SHIPPING_OPERATIONS)):
            return original_store(self, invocation_result, execution_env)

    def add_logs(self, log_item):
        cur = propagation.current()
        if cur is not None:
            try:
                object.__setattr__(log_item, ITEM_ATTR, cur)  # LogItem is a frozen dataclass
            except (AttributeError, TypeError):
                pass
        return original_add(self, log_item)

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if type(self.log_queue) is Queue:
            self.log_queue = BindingQueue()

    for fn in (store_logs, add_logs, __init__):
        fn._sandbox_observability = True
    LambdaVersionManager.store_logs, LogHandler.add_logs, LogHandler.__init__ = store_logs, add_logs, __init__
