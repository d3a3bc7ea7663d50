"""A stack update that fails is not rolled back: the stack is left half-updated and the next update fails too. And
one that succeeds is not what DeleteStack deletes.

In localstack-core 2026.3.0 (`localstack.services.cloudformation.engine.v2.change_set_model_executor`,
`ChangeSetModelExecutor.execute`) a resource that fails stops the update where it is, and then:
- the resources removed by the new template are deleted anyway (its deferred actions run on failure too);
- the stack keeps only the resources visited before the failure (`result.resources`), and UpdateStack
  (`v2/provider.py`) stores them with the new template, empty outputs and status UPDATE_COMPLETE;
- the next update of that stack fails on every resource the failure left out (`self.resources[...]["ResourceStatus"]`:
  a KeyError on the empty state it copies for an unchanged resource), so even redeploying the previous template fails.

AWS rolls the update back (UPDATE_ROLLBACK_COMPLETE): what the update created is deleted, what it changed is put back,
what it would have removed stays, and the stack keeps its previous template, parameters and outputs.

Workaround, for updates (UpdateStack, or an UPDATE change set executed): when the update fails, the resources it created are deleted (newest first), the
ones it changed get their previous properties again, the removals are not performed, and the change set hands the
stack its previous template, parameters, resources and outputs; the stack ends in UPDATE_ROLLBACK_COMPLETE.

Also (`v2/provider.py`, `update_stack`'s `_run`): a successful UpdateStack stores the new template but leaves the
stack's `processed_template` (SAM's transform applied) as it was; DeleteStack deletes the resources that one names,
so what any update added survived `sandbox destroy`. The patched `execute` stores it on success.
"""

from __future__ import annotations

import logging

LOG = logging.getLogger(__name__)

TARGET = "localstack.services.cloudformation.engine.v2.change_set_model_executor"
ROLLED_BACK = "_sandbox_update_rolled_back"  # set on the stack until UpdateStack's own status change is replaced


def apply() -> None:
    from localstack.aws.api.cloudformation import ChangeAction, ResourceStatus, StackStatus
    from localstack.services.cloudformation.engine.v2 import change_set_model_executor as executor_module
    from localstack.services.cloudformation.engine.v2.change_set_model_preproc import PreprocProperties
    from localstack.services.cloudformation.resource_provider import OperationStatus
    from localstack.services.cloudformation.v2.entities import Stack

    Executor = executor_module.ChangeSetModelExecutor
    original_execute = Executor.execute
    original_set_status = Stack.set_stack_status

    def execute(self):
        change_set = self._change_set
        stack = change_set.stack
        # an update (UpdateStack's change set says CREATE: the stack's status tells)
        if stack.status != StackStatus.UPDATE_IN_PROGRESS:
            return original_execute(self)
        failure = None
        try:
            self.process()
        except executor_module.TriggerRollback as e:
            failure = e.reason or f"{e.logical_resource_id} failed"
        except Exception as e:  # noqa: BLE001 - as LocalStack's execute: any error fails the update
            failure = str(e) or type(e).__name__
        if failure is None:  # as LocalStack: the deferred actions (removals, replaced resources), newest first
            if self._deferred_actions:
                stack.set_stack_status(StackStatus.UPDATE_COMPLETE_CLEANUP_IN_PROGRESS)
                for deferred in self._deferred_actions[::-1]:
                    deferred.action()
            # UpdateStack (v2/provider.py) stores the new template but not the processed one (CreateStack and
            # ExecuteChangeSet do); DeleteStack deletes what the processed template names, so whatever an update had
            # added (a function, a queue) outlived `destroy`. The new template's processed form, stored here.
            stack.processed_template = change_set.processed_template
            return executor_module.ChangeSetModelExecutorResult(resources=self.resources, outputs=self.outputs)
        LOG.warning("Stack %s: update failed (%s), rolling it back", stack.stack_name, failure)
        stack.set_stack_status(StackStatus.UPDATE_ROLLBACK_IN_PROGRESS)
        _roll_back(self, stack)
        previous = dict(stack.resolved_resources)
        for logical_id in [k for k in stack.resource_states if k not in previous]:  # failed to create: not there
            stack.resource_states.pop(logical_id, None)
        # what UpdateStack and ExecuteChangeSet store on the stack after this: what it had before
        change_set.template, change_set.template_body = stack.template, stack.template_body
        change_set.processed_template = stack.processed_template
        change_set.resolved_parameters = stack.resolved_parameters
        outputs = list(stack.resolved_outputs or [])
        stack.set_stack_status(StackStatus.UPDATE_ROLLBACK_COMPLETE, reason=failure)
        stack.__dict__[ROLLED_BACK] = True
        return executor_module.ChangeSetModelExecutorResult(resources=previous, outputs=outputs,
                                                            failure_message=failure)

    def _roll_back(self, stack) -> None:
        """Deletes what the failed update created and puts back the previous properties of what it changed."""
        before = stack.resolved_resources
        for logical_id, resource in reversed(list(self.resources.items())):
            status, rtype = resource.get("ResourceStatus"), resource.get("Type")
            previous = before.get(logical_id)
            # a replacement the update made (a create-only property changed): its old resource is still there (the
            # cleanup that deletes it runs only after a successful update), so the new one goes
            replaced = previous is not None and status == ResourceStatus.CREATE_COMPLETE and \
                resource.get("PhysicalResourceId") != previous.get("PhysicalResourceId")
            kept = stack.resource_states.get(logical_id) if replaced else None
            if (logical_id not in before or replaced) and status == ResourceStatus.CREATE_COMPLETE:
                action, before_props, after_props = ChangeAction.Remove, resource.get("Properties"), None
            elif previous is not None and status == ResourceStatus.UPDATE_COMPLETE and \
                    previous.get("Type") == rtype and previous.get("Properties") != resource.get("Properties"):
                action, before_props, after_props = ChangeAction.Modify, resource.get("Properties"), \
                    previous.get("Properties")
            else:
                continue
            self._process_event(action=action, logical_resource_id=logical_id, resource_type=rtype,
                                event_status=OperationStatus.IN_PROGRESS)
            try:
                event = self._execute_resource_action(
                    action=action, logical_resource_id=logical_id, resource_type=rtype,
                    before_properties=PreprocProperties(properties=before_props or {}),
                    after_properties=None if after_props is None else PreprocProperties(properties=after_props),
                    part_of_replacement=True)  # leaves the executor's own state (self.resources) alone
                status, reason = event.status, event.message
            except Exception as e:  # noqa: BLE001 - one resource that cannot be rolled back does not stop the rest
                status, reason = OperationStatus.FAILED, str(e)
            self._process_event(action=action, logical_resource_id=logical_id, resource_type=rtype,
                                event_status=status, reason=reason)
            if replaced and kept is not None:  # the stack's resource is the old one again, not gone
                stack.resource_states[logical_id] = {**kept, "PhysicalResourceId": previous.get("PhysicalResourceId"),
                                                     "ResourceStatus": ResourceStatus.UPDATE_COMPLETE}

    def set_stack_status(self, status, reason=None):
        # UpdateStack sets UPDATE_COMPLETE after execute() returns, whatever it returned
        if self.__dict__.pop(ROLLED_BACK, False) and status == StackStatus.UPDATE_COMPLETE:
            return
        return original_set_status(self, status, reason)

    Executor.execute = execute
    Stack.set_stack_status = set_stack_status
