"""Deleting a stack whose create failed deleted a resource the stack never created: someone's table and its data.

`localstack.services.cloudformation.v2.provider.CloudFormationProviderV2.delete_stack` (localstack-core 2026.3.0)
removes every resource of the stack's processed template (`ChangeSetModelExecutor._execute_resource_action` with
"Remove"), including one whose create failed - `TableName: shared-orders` when a table of that name already
existed ("Table already exists") - and ones the failed create never reached. Their providers delete by the name in
the template: the existing table, function or schedule went, with its data. It ignores `RetainResources` too. The
sandbox deletes a stack whose first create failed at once ("nothing is left behind"), so a name clash destroyed
what it clashed with. On AWS a resource whose create failed is never deleted.

Workaround: a removal is made only for a resource the stack holds (it has a physical id and its create did not
fail); the others are skipped, as deleted. Replacements and the update rollback's removals (what the update created,
`cfn_update_rollback`) are left as they are.
"""

from __future__ import annotations

import logging

TARGET = "localstack.services.cloudformation.engine.v2.change_set_model_executor"
LOG = logging.getLogger(__name__)


def holds(resolved: dict | None) -> bool:
    """Whether the stack holds this resource (its resolved state, as LocalStack keeps it): created, with an id."""
    return bool(resolved) and str(resolved.get("ResourceStatus") or "") != "CREATE_FAILED" and \
        bool(resolved.get("PhysicalResourceId"))


def apply() -> None:
    from localstack.aws.api.cloudformation import ChangeAction
    from localstack.services.cloudformation.engine.v2.change_set_model_executor import ChangeSetModelExecutor
    from localstack.services.cloudformation.resource_provider import OperationStatus, ProgressEvent

    original = ChangeSetModelExecutor._execute_resource_action
    if getattr(original, "_sandbox_patch", False):
        return

    def _execute_resource_action(self, action, logical_resource_id, resource_type, before_properties,
                                 after_properties, part_of_replacement=False):
        if action == ChangeAction.Remove and not part_of_replacement:
            stack = self._change_set.stack
            if not holds((stack.resolved_resources or {}).get(logical_resource_id)):
                LOG.info("Stack %s: not deleting %s (%s): the stack never created it", stack.stack_name,
                         logical_resource_id, resource_type)
                return ProgressEvent(status=OperationStatus.SUCCESS, resource_model={})
        return original(self, action, logical_resource_id, resource_type, before_properties, after_properties,
                        part_of_replacement)

    _execute_resource_action._sandbox_patch = True
    ChangeSetModelExecutor._execute_resource_action = _execute_resource_action
