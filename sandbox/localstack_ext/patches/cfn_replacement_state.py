"""A resource replaced in a stack update disappeared from the stack's resource list.

`localstack.services.cloudformation.engine.v2.change_set_model_executor.ChangeSetModelExecutor` (localstack-core
2026.3.0) replaces a resource (a create-only property changed: a mapping's queue, a REST API's stage after a route
change, a permission) by creating the new one, then, in a deferred "cleanup-from-replacement-<id>" action, deleting
the old one. That cleanup records its DELETE_COMPLETE under the logical id, which `Stack.set_resource_status` takes
as the resource being gone: `list-stack-resources` and `describe-stack-resources` then left out a resource that was
running (a REST API's `Prod` stage answering, a new event source mapping polling), and the events named the new
physical id as the one deleted.

Workaround: during that cleanup the events name the old physical id, and the logical resource keeps the state its
replacement gave it (UPDATE_COMPLETE, the new physical id), as AWS's stack shows it.
"""

from __future__ import annotations

TARGET = "localstack.services.cloudformation.engine.v2.change_set_model_executor"
CLEANUP = "cleanup-from-replacement-"
CLEANING = "_sandbox_cleaning"  # the logical id whose replaced resource is being deleted


def apply() -> None:
    from localstack.services.cloudformation.engine.v2.change_set_model_executor import ChangeSetModelExecutor

    original_defer, original_physical_id = ChangeSetModelExecutor._defer_action, ChangeSetModelExecutor._get_physical_id
    if getattr(original_defer, "_sandbox_patch", False):
        return

    def _defer_action(self, name, action):
        if not name.startswith(CLEANUP):
            return original_defer(self, name, action)
        logical_id = name[len(CLEANUP):]

        def cleanup():
            states = self._change_set.stack.resource_states
            kept = states.get(logical_id)
            self.__dict__[CLEANING] = logical_id
            try:
                action()
            finally:
                self.__dict__.pop(CLEANING, None)
                if kept is not None:
                    states[logical_id] = kept

        return original_defer(self, name, cleanup)

    def _get_physical_id(self, logical_resource_id, strict: bool = True):
        if self.__dict__.get(CLEANING) == logical_resource_id:  # the replaced resource, not its replacement
            try:
                return self._before_resource_physical_id(logical_resource_id)
            except RuntimeError:
                pass
        return original_physical_id(self, logical_resource_id, strict)

    _defer_action._sandbox_patch = True
    ChangeSetModelExecutor._defer_action = _defer_action
    ChangeSetModelExecutor._get_physical_id = _get_physical_id
