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

- `visit_node_intrinsic_function_fn_if` picks a branch for each side, but visiting that branch evaluates both of its
  sides: `!If [TableOn, !GetAtt Table.Arn, !Ref AWS::NoValue]` evaluated the GetAtt "after" too while turning TableOn
  off (and its "before" while turning it on), and refused the update ("Unresolved resource dependencies [Table]",
  "[tableName]" for a policy template under `!If`, "[AdminFunction]" for a conditional SAM function's API event,
  whose route SAM writes under `!If`).

On AWS a resource whose condition becomes false is deleted by the update, DeleteStack deletes everything the
stack holds, and a condition turned back on creates its resources again.

Workaround: a resource the stack holds (created, with a physical id: cfn_delete_spares_foreign.holds) whose condition
is false after the change - or which DeleteStack removes while its condition is false with the stack's parameters -
is removed as a resource deleted from the template is: its "before" is made from what the stack stored of it (type,
physical id, properties, DeletionPolicy), the resources it names (Ref, GetAtt, Sub, DependsOn) are visited first so
that it is removed before them, as LocalStack's removals run in reverse, and its properties are not evaluated again (an update that turns a
condition false must not resolve `!GetAtt Role.Arn` of a role under the same condition: "Unresolved resource
dependencies"). Everything else goes through LocalStack's code as before; a resource the stack never created (its
condition false all along) is skipped, as before. A resource coming back (not held, its condition false before and
true after) has no "before" side anywhere in its properties, as a resource new in the template has none. `Fn::If`
evaluates the branch it picks for a side on that side only (the other side of everything visited meanwhile is left
out, and left out of LocalStack's caches, so it is evaluated when its own side needs it; a resource visited meanwhile
is visited whole, as its visit deploys it).
"""

from __future__ import annotations

TARGET = "localstack.services.cloudformation.engine.v2.change_set_model_preproc"


def apply() -> None:
    import re

    from localstack.services.cloudformation.engine.v2.change_set_model import (
        ChangeType,
        NodeArray,
        NodeIntrinsicFunction,
        NodeResource,
        Nothing,
        TerminalValue,
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
    ONE_SIDE = "_sandbox_one_side"  # "before" or "after" while an Fn::If branch is evaluated for that side only

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
        template = self._change_set.update_model.node_template
        for name in sorted(named_resources(node_resource) - {node_resource.name}):
            dependency = next((r for r in template.resources.resources if r.name == name), None)
            if dependency is not None:
                self.visit(dependency)  # removed after this one (a function before its role, a custom resource
                # before its service token's function), as LocalStack orders the removals it visits
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

    def named_resources(node_resource) -> set[str]:
        """The logical ids a resource's properties and DependsOn name (Ref, Fn::GetAtt, Fn::Sub), read from its
        nodes without evaluating them; not all of them are resources (parameters are left out by the caller)."""
        names, pending = set(), [node_resource.properties, node_resource.depends_on]
        while pending:
            node = pending.pop()
            if is_nothing(node) or node is None:
                continue
            if isinstance(node, NodeIntrinsicFunction):
                value = getattr(node.arguments, "value", None)
                if node.intrinsic_function == "Ref" and isinstance(value, str):
                    names.add(value)
                elif node.intrinsic_function == "Fn::GetAtt" and isinstance(value, str):
                    names.add(value.split(".")[0])
                elif node.intrinsic_function == "Fn::GetAtt" and isinstance(node.arguments, NodeArray) and \
                        node.arguments.array:
                    names.add(getattr(node.arguments.array[0], "value", None))
                elif node.intrinsic_function == "Fn::Sub":
                    template = node.arguments.array[0] if isinstance(node.arguments, NodeArray) and \
                        node.arguments.array else node.arguments
                    if isinstance(getattr(template, "value", None), str):
                        names.update(m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)}", template.value))
            if isinstance(node, TerminalValue) and isinstance(node.scope, str) and "/DependsOn" in node.scope:
                values = node.value if isinstance(node.value, list) else [node.value]
                names.update(v for v in values if isinstance(v, str))
            pending.extend(node.get_children())
        names.discard(None)
        return names

    def coming_back(self, node) -> bool:
        """A resource (not held) or output whose condition was false before the change and is true after it."""
        if is_nothing(node.condition_reference) or node.change_type == ChangeType.CREATED:
            return False
        if isinstance(node, NodeResource) and held(self, node.name) is not None:
            return False
        condition = self._resolve_resource_condition_reference(node.condition_reference)
        return not condition.before and condition.after is True

    def no_before_under(self, scope: str) -> None:
        self.__dict__.setdefault(COMING_BACK, set()).add(scope)

    def coming_back_under(self, scope) -> bool:
        """Whether `scope` is, or is under, the scope of a resource or output coming back ("/Outputs/Api" is not
        over "/Outputs/ApiUrl")."""
        scopes = self.__dict__.get(COMING_BACK)
        if not scopes or not isinstance(scope, str):
            return False
        parts = scope.split("/")
        return any("/".join(parts[:i]) in scopes for i in range(1, len(parts) + 1))

    def visit_node_output(self, node_output):
        if coming_back(self, node_output):  # `!GetAtt Fn.Arn` of a function coming back has no "before" either
            no_before_under(self, node_output.scope)
        return original_visit_output(self, node_output)

    def visit(self, change_set_entity):
        side = self.__dict__.get(ONE_SIDE)
        if side is not None:
            return visit_one_side(self, change_set_entity, side)
        delta = original_visit(self, change_set_entity)
        if isinstance(delta, PreprocEntityDelta) and not is_nothing(delta.before) and \
                coming_back_under(self, change_set_entity.scope):
            return PreprocEntityDelta(before=Nothing, after=delta.after)  # it did not exist: nothing before
        return delta

    def visit_one_side(self, entity, side: str):
        """`entity` evaluated on `side` only: its other side is Nothing, and not cached (see the module's doc)."""
        if isinstance(entity, NodeResource):  # visited whole: the executor deploys a resource when it visits it
            self.__dict__[ONE_SIDE] = None
            try:
                return visit(self, entity)
            finally:
                self.__dict__[ONE_SIDE] = side
        scope = entity.scope
        cached = scope in self._before_cache and scope in self._after_cache
        delta = original_visit(self, entity)
        if not isinstance(delta, PreprocEntityDelta):
            return delta
        if not cached:  # computed without its other side: that side is computed again when it is needed
            (self._after_cache if side == "before" else self._before_cache).pop(scope, None)
        before = Nothing if coming_back_under(self, scope) else delta.before
        return PreprocEntityDelta(before=before, after=Nothing) if side == "before" else \
            PreprocEntityDelta(before=Nothing, after=delta.after)

    def branch(self, node_intrinsic_function, condition_name, side: str):
        """The value on `side` of the Fn::If branch its condition picks on that side."""
        node_condition = self._get_node_condition_if_exists(condition_name=condition_name)
        if is_nothing(node_condition):
            from localstack.services.cloudformation.engine.validations import ValidationError

            raise ValidationError(f"Template error: unresolved condition dependency {condition_name} in Fn::If")
        value = getattr(visit(self, node_condition), side)
        arguments = node_intrinsic_function.arguments.array
        outer = self.__dict__.get(ONE_SIDE)
        self.__dict__[ONE_SIDE] = side
        try:
            return getattr(self.visit(arguments[1] if value else arguments[2]), side)
        finally:
            self.__dict__[ONE_SIDE] = outer

    def visit_node_intrinsic_function_fn_if(self, node_intrinsic_function):
        if len(node_intrinsic_function.arguments.array) != 3:
            raise ValueError("Incorrectly constructed Fn::If usage, expected 3 arguments, found "
                             f"{len(node_intrinsic_function.arguments.array)}")
        condition = self.visit(node_intrinsic_function.arguments.array[0])
        delta = PreprocEntityDelta()
        outer = self.__dict__.get(ONE_SIDE)
        if not is_nothing(condition.before) and outer != "after":
            delta.before = branch(self, node_intrinsic_function, condition.before, "before")
        if not is_nothing(condition.after) and outer != "before":
            delta.after = branch(self, node_intrinsic_function, condition.after, "after")
        return delta

    visit_node_resources._sandbox_patch = True
    ChangeSetModelPreproc.visit_node_intrinsic_function_fn_if = visit_node_intrinsic_function_fn_if
    ChangeSetModelPreproc.visit = visit
    ChangeSetModelPreproc.visit_node_output = visit_node_output
    ChangeSetModelPreproc.visit_node_resources = visit_node_resources
    ChangeSetModelPreproc.visit_node_resource = visit_node_resource
