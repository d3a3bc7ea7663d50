"""A Condition switched off left its resources running (and `destroy` left them too); switched back on, it failed.

`localstack.services.cloudformation.engine.v2.change_set_model_preproc.ChangeSetModelPreproc` (localstack-core
2026.3.0):
- `visit_node_resources` skips every resource whose condition is false *after* the change, without looking at
  before: a resource the stack created while its condition was true is never visited, so never removed. The update
  says UPDATE_COMPLETE and the stack still lists it (a schedule kept firing into a function that was meant to go).
- `visit_node_resource` evaluates the condition *before* with the stack's current parameters; once an update set
  them so that the condition is false, DeleteStack (a change set from the processed template to nothing) sees no
  "before" for that resource and skips it: `sandbox destroy` left the queue, table or schedule behind.
- a resource whose condition turns true again has its properties evaluated on the "before" side too, with the
  parameters of before, when it did not exist: its `!GetAtt Role.Arn` or a SAM policy's `!Sub` of `!Ref Table` of
  resources under the same condition were refused ("Unresolved resource dependencies [tableName]"). Turning a
  condition back on failed for any resource that reads another conditional one (a conditional SAM function reads its
  role's ARN; crud-api keeps its idempotency table unconditional for this reason).

On AWS a resource whose condition becomes false is deleted by the update, DeleteStack deletes everything the
stack holds, and a condition turned back on creates its resources again.

Workaround: a resource the stack holds (created, with a physical id: cfn_delete_spares_foreign.holds) whose condition
is false after the change - or which DeleteStack removes while its condition is false with the stack's parameters -
is removed as a resource deleted from the template is: its "before" is made from what the stack stored of it (type,
physical id, properties, DeletionPolicy), and its properties are not evaluated again (an update that turns a
condition false must not resolve `!GetAtt Role.Arn` of a role under the same condition: "Unresolved resource
dependencies"). Everything else goes through LocalStack's code as before; a resource the stack never created (its
condition false all along) is skipped, as before. A resource coming back (not held, its condition false before and
true after) has no "before" side anywhere in its properties, as a resource new in the template has none.
"""

from __future__ import annotations

TARGET = "localstack.services.cloudformation.engine.v2.change_set_model_preproc"


def apply() -> None:
    from localstack.services.cloudformation.engine.v2.change_set_model import (
        ChangeType,
        NodeResource,
        Nothing,
        is_nothing,
    )
    from localstack.services.cloudformation.engine.v2.change_set_model_preproc import (
        ChangeSetModelPreproc,
        PreprocEntityDelta,
        PreprocProperties,
        PreprocResource,
    )

    from sandbox.localstack_ext.patches.cfn_delete_spares_foreign import holds

    if getattr(ChangeSetModelPreproc.visit_node_resources, "_sandbox_patch", False):
        return
    original_visit_resource = ChangeSetModelPreproc.visit_node_resource
    original_visit = ChangeSetModelPreproc.visit
    original_visit_output = ChangeSetModelPreproc.visit_node_output
    COMING_BACK = "_sandbox_coming_back"  # the properties' scopes of resources coming back: no "before" under them

    def held(self, name: str) -> dict | None:
        """What the stack stored of the resource, when it holds it."""
        resolved = (getattr(self, "_before_resolved_resources", None) or {}).get(name)
        return resolved if holds(resolved) else None

    def goes_away(self, node_resource) -> dict | None:
        """What the stack stored of a resource it holds whose condition makes it go (None: LocalStack's way)."""
        if is_nothing(node_resource.condition_reference):
            return None
        stored = held(self, node_resource.name)
        if stored is None:
            return None
        condition = self._resolve_resource_condition_reference(node_resource.condition_reference)
        removed = node_resource.change_type == ChangeType.REMOVED  # DeleteStack, or gone from the template
        if condition.after is False or (removed and condition.before is not True):
            return stored
        return None

    def visit_node_resources(self, node_resources):
        for node_resource in node_resources.resources:
            if not is_nothing(node_resource.condition_reference) and held(self, node_resource.name) is None:
                if self._resolve_resource_condition_reference(node_resource.condition_reference).after is False:
                    continue  # never created, and not to be: as LocalStack skips it
            self.visit(node_resource)

    def visit_node_resource(self, node_resource):
        stored = goes_away(self, node_resource)
        if stored is None:
            if coming_back(self, node_resource):
                no_before_under(self, node_resource.properties.scope)
            return original_visit_resource(self, node_resource)
        deletion_policy = Nothing
        if not is_nothing(node_resource.deletion_policy):
            deletion_policy = self.visit(node_resource.deletion_policy).before
        before = PreprocResource(
            logical_id=node_resource.name,
            physical_resource_id=stored.get("PhysicalResourceId"),
            condition=True,
            resource_type=stored.get("Type") or self.visit(node_resource.type_).before,
            properties=PreprocProperties(properties=stored.get("Properties") or {}),
            depends_on=Nothing,
            requires_replacement=False,
            deletion_policy=deletion_policy,
        )
        return PreprocEntityDelta(before=before, after=Nothing)

    def coming_back(self, node) -> bool:
        """A resource (not held) or output whose condition was false before the change and is true after it."""
        if is_nothing(node.condition_reference) or node.change_type == ChangeType.CREATED:
            return False
        if isinstance(node, NodeResource) and held(self, node.name) is not None:
            return False
        condition = self._resolve_resource_condition_reference(node.condition_reference)
        return not condition.before and condition.after is True

    def no_before_under(self, scope: str) -> None:
        self.__dict__[COMING_BACK] = (*self.__dict__.get(COMING_BACK, ()), scope + "/", scope)

    def visit_node_output(self, node_output):
        if coming_back(self, node_output):  # `!GetAtt Fn.Arn` of a function coming back has no "before" either
            no_before_under(self, node_output.scope)
        return original_visit_output(self, node_output)

    def visit(self, change_set_entity):
        delta = original_visit(self, change_set_entity)
        prefixes = self.__dict__.get(COMING_BACK)
        if prefixes and isinstance(delta, PreprocEntityDelta) and not is_nothing(delta.before) and \
                isinstance(change_set_entity.scope, str) and change_set_entity.scope.startswith(prefixes):
            return PreprocEntityDelta(before=Nothing, after=delta.after)  # it did not exist: nothing before
        return delta

    visit_node_resources._sandbox_patch = True
    ChangeSetModelPreproc.visit = visit
    ChangeSetModelPreproc.visit_node_output = visit_node_output
    ChangeSetModelPreproc.visit_node_resources = visit_node_resources
    ChangeSetModelPreproc.visit_node_resource = visit_node_resource
