"""A deploy that waited for UPDATE_COMPLETE could read the previous update's outputs and parameters.

In localstack-core 2026.3.0 (`localstack.services.cloudformation.v2.provider`) UpdateStack's worker (`update_stack`'s
`_run`) sets the stack's status to UPDATE_COMPLETE first and only then stores the outputs, parameters, resources
and template the update made; ExecuteChangeSet's worker does the same with the outputs. A client polling
DescribeStacks (`sandbox deploy`, `aws cloudformation deploy`, `sam deploy`) can see the final status in between,
and reads the old values: `sandbox deploy --param Stage=prod` printed `Stage: dev` (seen in CI). AWS shows a
stack's final status only with its final outputs.

Workaround: when the change set's execution succeeds (`ChangeSetModelExecutor.execute`, run by both workers before
they set the status), what the worker stores afterwards is stored on the stack first. The worker then stores the
same values again.
"""

from __future__ import annotations

TARGET = "localstack.services.cloudformation.engine.v2.change_set_model_executor"


def apply() -> None:
    from localstack.aws.api.cloudformation import StackStatus
    from localstack.services.cloudformation.engine.v2.change_set_model_executor import ChangeSetModelExecutor

    original_execute = ChangeSetModelExecutor.execute
    if getattr(original_execute, "_sandbox_patch", False):
        return

    def execute(self):
        result = original_execute(self)
        change_set = self._change_set
        stack = change_set.stack
        if result.failure_message or stack.status == StackStatus.DELETE_IN_PROGRESS:
            return result  # a failure keeps the stack's previous values (cfn_update_rollback); a deletion has none
        stack.resolved_outputs = result.outputs
        stack.resolved_exports = {o["ExportName"]: o["OutputValue"] for o in result.outputs if o.get("ExportName")}
        stack.resolved_resources = result.resources
        stack.resolved_parameters = change_set.resolved_parameters
        stack.template, stack.template_body = change_set.template, change_set.template_body
        stack.processed_template = change_set.processed_template
        return result

    execute._sandbox_patch = True
    ChangeSetModelExecutor.execute = execute
