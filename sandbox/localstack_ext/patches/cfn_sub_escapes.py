"""`${!Literal}` in a Fn::Sub is written as `${Literal}`, as CloudFormation does; LocalStack failed the deploy.

CloudFormation's escape for a literal `${...}` in a Fn::Sub string is `${!...}`: IAM policies write
`!Sub "arn:${AWS::Partition}:s3:::bucket/${!aws:username}/*"`, user data `${!HOME}`. LocalStack 2026.3.0's
`localstack/services/cloudformation/engine/v2/change_set_model_preproc.py` (`visit_node_intrinsic_function_fn_sub`,
and the validator's copy of it) takes every `${name}` for a variable: `!aws:username` went to `_resolve_reference`
and `!Shell.Var` to `_resolve_attribute`, and the deploy failed ("Template format error: Unresolved resource
dependencies [!Shell] in the Resources block of the template"). No logical id, parameter or attribute starts with
"!", so those two lookups now answer such a name with its literal text, `${aws:username}`, which the Sub then writes
in place of `${!aws:username}`.
"""

from __future__ import annotations

TARGET = "localstack.services.cloudformation.engine.v2.change_set_model_preproc"


def apply() -> None:
    from localstack.services.cloudformation.engine.v2.change_set_model_preproc import (
        ChangeSetModelPreproc,
        PreprocEntityDelta,
    )

    resolve_reference, resolve_attribute = ChangeSetModelPreproc._resolve_reference, \
        ChangeSetModelPreproc._resolve_attribute

    def _resolve_reference(self, logical_id: str) -> PreprocEntityDelta:
        if isinstance(logical_id, str) and logical_id.startswith("!"):
            literal = "${" + logical_id[1:] + "}"
            return PreprocEntityDelta(before=literal, after=literal)
        return resolve_reference(self, logical_id)

    def _resolve_attribute(self, arguments, select_before: bool):
        if isinstance(arguments, str) and arguments.startswith("!"):
            return "${" + arguments[1:] + "}"
        return resolve_attribute(self, arguments, select_before)

    ChangeSetModelPreproc._resolve_reference = _resolve_reference
    ChangeSetModelPreproc._resolve_attribute = _resolve_attribute
