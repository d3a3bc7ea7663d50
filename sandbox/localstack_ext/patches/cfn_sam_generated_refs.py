"""`!Ref MyApi.Stage` (and `MyFunction.Alias`, `MyFunction.Version`...) in a SAM template failed the deploy.

SAM lets a template name the resources it generates: a usage plan's `Stage: !Ref MyApi.Stage`, an alias's
`!Ref MyFunction.Alias`; the SAM transform turns them into Refs of the generated resources (`Ref: MyApiv1Stage`).
LocalStack 2026.3.0's `localstack/services/cloudformation/engine/v2/change_set_model_transform.py`
(`ChangeSetModelTransform.transform`) first runs `_execute_local_transforms`, which looks for `Fn::Transform` by
evaluating every resource of the template as written, before the SAM transform: `MyApi.Stage` is no resource there,
and the deploy failed ("Template format error: Unresolved resource dependencies [MyApi.Stage] in the Resources block
of the template"). A template without any `Fn::Transform` has nothing for that step to do, so it is skipped then;
one with `Fn::Transform` (AWS::Include in a resource) goes LocalStack's way, as before.
"""

from __future__ import annotations

TARGET = "localstack.services.cloudformation.engine.v2.change_set_model_transform"


def has_local_transform(node) -> bool:
    """Whether `Fn::Transform` appears anywhere in a template (as parsed: dicts, lists, scalars)."""
    pending = [node]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if "Fn::Transform" in node:
                return True
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return False


def apply() -> None:
    from localstack.services.cloudformation.engine.v2.change_set_model_transform import ChangeSetModelTransform

    original = ChangeSetModelTransform._execute_local_transforms

    def _execute_local_transforms(self):
        if has_local_transform(self._before_template) or has_local_transform(self._after_template):
            return original(self)
        return None

    ChangeSetModelTransform._execute_local_transforms = _execute_local_transforms
