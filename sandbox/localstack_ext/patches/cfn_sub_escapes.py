"""`${!Literal}` in a Fn::Sub is written as `${Literal}`, as CloudFormation does; LocalStack failed the deploy.

CloudFormation's escape for a literal `${...}` in a Fn::Sub string is `${!...}`: IAM policies write
`!Sub "arn:${AWS::Partition}:s3:::bucket/${!aws:username}/*"`, user data `${!HOME}`. LocalStack 2026.3.0's
`localstack/services/cloudformation/engine/v2/change_set_model_preproc.py` (`visit_node_intrinsic_function_fn_sub`,
and the validator's copy of it) takes every `${name}` for a variable: `!aws:username` went to `_resolve_reference`
and `!Shell.Var` to `_resolve_attribute`, and the deploy failed ("Template format error: Unresolved resource
dependencies [!Shell] in the Resources block of the template"); DescribeChangeSet failed the same way in
`change_set_model_describer.py`, which has its own `_resolve_attribute`. No logical id, parameter or attribute starts with
"!", so those two lookups now answer such a name with its literal text, `${aws:username}`, which the Sub then writes
in place of `${!aws:username}`.
"""

from __future__ import annotations

TARGET = ("localstack.services.cloudformation.engine.v2.change_set_model_preproc",
          "localstack.services.cloudformation.engine.v2.change_set_model_describer")


def _escaped(name) -> str | None:
    """`${Literal}` for the name `!Literal` of a `${!Literal}`; None for any other name."""
    return "${" + name[1:] + "}" if isinstance(name, str) and name.startswith("!") else None


def _attribute_escapes_first(resolve):
    def _resolve_attribute(self, arguments, select_before: bool):
        literal = _escaped(arguments)
        return literal if literal is not None else resolve(self, arguments, select_before)

    return _resolve_attribute


def apply(target: str) -> None:
    if target.endswith("describer"):
        # DescribeChangeSet (sam deploy, aws cloudformation deploy) resolves the values after the change with a
        # `_resolve_attribute` of its own
        from localstack.services.cloudformation.engine.v2.change_set_model_describer import ChangeSetModelDescriber

        ChangeSetModelDescriber._resolve_attribute = _attribute_escapes_first(ChangeSetModelDescriber._resolve_attribute)
        return
    from localstack.services.cloudformation.engine.v2.change_set_model_preproc import (
        ChangeSetModelPreproc,
        PreprocEntityDelta,
    )

    resolve_reference = ChangeSetModelPreproc._resolve_reference

    def _resolve_reference(self, logical_id: str) -> PreprocEntityDelta:
        literal = _escaped(logical_id)
        if literal is not None:
            return PreprocEntityDelta(before=literal, after=literal)
        return resolve_reference(self, logical_id)

    ChangeSetModelPreproc._resolve_reference = _resolve_reference
    ChangeSetModelPreproc._resolve_attribute = _attribute_escapes_first(ChangeSetModelPreproc._resolve_attribute)
