"""A create-only property (a queue's, table's, rule's, parameter's, bucket's NAME) changed through a parameter was
updated in place, or not at all, instead of replacing the resource.

`localstack.services.cloudformation.engine.v2.change_set_model.ChangeSetModel._resolve_requires_replacement`
(localstack-core 2026.3.0, change_set_model.py:864) replaces a resource when one of its schema's
`createOnlyProperties` changed, but it reads the change from the template's model, where
`_resolve_intrinsic_function_fn_sub` (line 736) gives a `!Sub` the change type of its (unchanged) string only:
`QueueName: !Sub "rq-${Suffix}"` with a new `Suffix` was "unchanged", no replacement; the executor, which compares
resolved values (`ChangeSetModelExecutor.visit_node_resource`, executor line 265), sent the new name to the
provider's *update* (line 388). So: an SQS queue and a DynamoDB table kept their old names (no warning); a schedule
and a state machine kept theirs (`!GetAtt Machine.Name` printed the new, false one); a rule's update (PutRule:
cfn_updates_in_place) and an SSM parameter's made a second, new resource and left the old one running, which
`destroy` then leaked (the leaked rule's name clashed with the next deploy); a bucket's update reported "NOT
APPLIED" while the stack recorded a bucket that did not exist. SNS topics, Lambda functions and IAM roles seemed to
work only because their providers' update deletes and creates the resource again itself (`aws_sns_topic.py:193`,
`aws_lambda_function.py:559`, `aws_iam_role.py:252`): at once, not in the cleanup, so a failed update could not
restore it, and what refers to them was not replaced with them (a renamed function lost its function URL).

Workaround, for every type from its own schema (as AWS): when the executor changes a resource, its resolved
create-only properties (before and after, parameters and references resolved) are compared; one that differs
makes it a replacement, LocalStack's own path: the new resource is created, references and outputs follow it, and
the old one is deleted in the update's cleanup (`cleanup-from-replacement-<id>`; cfn_replacement_state keeps the
stack's record right, cfn_update_rollback deletes the new one if the update fails). A replacement LocalStack itself
decided is left as it is. Should the new resource come out with the old one's physical id (a type whose id does not
follow the changed property), the cleanup is dropped: it would delete the resource just made.
"""

from __future__ import annotations

import logging

TARGET = "localstack.services.cloudformation.engine.v2.change_set_model_executor"
LOG = logging.getLogger(__name__)
_MISSING = object()


def create_only_paths(schema: dict) -> list[tuple[str, ...]]:
    """The schema's createOnlyProperties as key paths: "/properties/A/B" -> ("A", "B")."""
    out = []
    for path in schema.get("createOnlyProperties") or []:
        parts = tuple(p for p in str(path).split("/") if p)
        if len(parts) >= 2 and parts[0] == "properties" and "*" not in parts:
            out.append(parts[1:])
    return out


def _at(properties, path: tuple[str, ...]):
    value = properties
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def _same(a, b) -> bool:
    """Equal values, a scalar's type aside (`true` and "true", 5 and "5": the same to CloudFormation)."""
    if a == b:
        return True
    scalar = (str, int, float, bool)
    if not (isinstance(a, scalar) and isinstance(b, scalar)):
        return False
    if isinstance(a, bool) or isinstance(b, bool):  # true and "true"; names are case-sensitive: only booleans fold
        return str(a).lower() == str(b).lower()
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):
        try:
            return float(a) == float(b)
        except ValueError:
            return False
    return False  # two different strings (`Jobs-Dev` and `jobs-dev` are two queues)


def changed_create_only(schema: dict, before: dict | None, after: dict | None) -> list[str]:
    """The create-only properties ("A" or "A/B") whose resolved value differs between `before` and `after`: set,
    changed or removed."""
    before, after = before or {}, after or {}
    return ["/".join(path) for path in create_only_paths(schema)
            if not _same(_at(before, path), _at(after, path))]


def _schema_of_type(resource_type: str) -> dict:
    from localstack.services.cloudformation.resource_provider import ResourceProviderExecutor

    from sandbox.localstack_ext.patches.cfn_property_types import schema_of

    provider = ResourceProviderExecutor.try_load_resource_provider(resource_type)
    return schema_of(provider) if provider is not None else {}


def apply() -> None:
    from localstack.services.cloudformation.engine.v2 import change_set_model_executor as executor_module
    from localstack.services.cloudformation.engine.v2.change_set_model import is_nothing

    Executor = executor_module.ChangeSetModelExecutor
    original = Executor._execute_resource_change
    if getattr(original, "_sandbox_patch", False):
        return

    def _execute_resource_change(self, name, before, after):
        flagged = False
        if not is_nothing(before) and not is_nothing(after) and before.resource_type == after.resource_type \
                and not after.requires_replacement:
            try:
                changed = changed_create_only(_schema_of_type(after.resource_type),
                                              getattr(before.properties, "properties", None),
                                              getattr(after.properties, "properties", None))
            except Exception:  # noqa: BLE001 - no schema to tell: LocalStack's decision stands
                LOG.debug("create-only check of %s failed", name, exc_info=True)
                changed = []
            if changed:
                LOG.info("Stack %s: %s (%s) is replaced, its create-only %s changed",
                         self._change_set.stack.stack_name, name, after.resource_type, ", ".join(changed))
                after.requires_replacement = flagged = True
        result = original(self, name, before, after)
        if flagged:
            new = (self.resources.get(name) or {}).get("PhysicalResourceId")
            if new and new == getattr(before, "physical_resource_id", None):
                cleanup = f"cleanup-from-replacement-{name}"
                self._deferred_actions[:] = [d for d in self._deferred_actions if d.name != cleanup]
        return result

    _execute_resource_change._sandbox_patch = True
    Executor._execute_resource_change = _execute_resource_change
