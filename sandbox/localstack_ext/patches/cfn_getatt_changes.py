"""A `!GetAtt` pointed at another resource was not a change: the resource holding it was left as it was.

`localstack.services.cloudformation.engine.v2.change_set_model.ChangeSetModel._resolve_intrinsic_function_fn_get_att`
(localstack-core 2026.3.0) gives a GetAtt the change type of the attribute it reads in the resource its arguments
named before, and never looks at the arguments themselves (`Ref` does). So `!GetAtt Orders.Arn` changed to
`!GetAtt Others.Arn` was "Unchanged": an SQS event moved to another queue kept polling the old one (its
`EventSourceArn` is create-only, so AWS replaces the mapping), a subscription kept its old endpoint, an environment
variable kept the old queue's URL, and the deploy said UPDATE_COMPLETE.

Workaround: arguments that changed make the GetAtt changed, as for `Ref`; otherwise LocalStack's answer stands.
"""

from __future__ import annotations

TARGET = "localstack.services.cloudformation.engine.v2.change_set_model"


def apply() -> None:
    from localstack.services.cloudformation.engine.v2.change_set_model import ChangeSetModel, ChangeType

    original = ChangeSetModel._resolve_intrinsic_function_fn_get_att
    if getattr(original, "_sandbox_patch", False):
        return

    def _resolve_intrinsic_function_fn_get_att(self, arguments):
        if arguments.change_type != ChangeType.UNCHANGED:
            return arguments.change_type
        return original(self, arguments)

    _resolve_intrinsic_function_fn_get_att._sandbox_patch = True
    ChangeSetModel._resolve_intrinsic_function_fn_get_att = _resolve_intrinsic_function_fn_get_att
