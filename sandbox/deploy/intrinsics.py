"""A template's values read before CloudFormation evaluates them: strings fixed by Ref, Fn::Sub and Fn::Join of
parameters and pseudo parameters, and the names a Fn::Sub uses.

The deployer's checks run before a template is sent (names already taken, layer ARNs, export and import names,
circles between resources). Each once carried its own Fn::Sub reader, and they differed: one left `${!Literal}`
as written (CloudFormation makes it `${Literal}`), one ignored a Sub's own variable map when it held a Ref, one
knew Fn::Join. This module is the one reader of the host's checks (LocalStack's patches read its parsed nodes:
cfn_condition_switches).
"""

from __future__ import annotations

import re

# ${Name}, ${Name.Attribute}, ${AWS::Region}; ${!Literal} is the escape for a literal "${Literal}"
SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def sub_parts(argument) -> tuple[str, dict] | None:
    """(text, its own variable map) of a Fn::Sub's argument, written `"text"` or `["text", {name: value}]`; None when
    it is neither."""
    if isinstance(argument, str):
        return argument, {}
    if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str) and \
            isinstance(argument[1], dict):
        return argument[0], argument[1]
    return None


def sub_names(text: str) -> list[str]:
    """The variables a Fn::Sub text uses, as written (`Name`, `Name.Attribute`, `AWS::Region`); not the escaped
    `${!Literal}`."""
    return [name for name in SUB_VARIABLE.findall(text) if not name.startswith("!")]


def logical_id(name: str) -> str:
    """The resource or parameter a Sub variable names: `Queue` of `Queue.Arn`."""
    return name.split(".", 1)[0]


def literal(value, values: dict[str, str]) -> str | None:
    """`value` as a string when the template fixes it through `values` (parameters and pseudo parameters): a string,
    a Ref, a Fn::Sub (its variable map read the same way) or a Fn::Join of those; None for anything else (a resource's
    Ref or attribute, a condition, an unknown name)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or len(value) != 1:
        return None
    (function, argument), = value.items()
    if function == "Ref":
        return values.get(argument) if isinstance(argument, str) else None
    if function == "Fn::Sub":
        parts = sub_parts(argument)
        if parts is None:
            return None
        text, own = parts
        names = {**values, **{k: literal(v, values) for k, v in own.items()}}
        unknown = False

        def put(match: re.Match) -> str:
            nonlocal unknown
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            found = names.get(name)
            unknown = unknown or not isinstance(found, str)
            return found if isinstance(found, str) else ""

        out = SUB_VARIABLE.sub(put, text)
        return None if unknown else out
    if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2 and \
            isinstance(argument[0], str) and isinstance(argument[1], list):
        parts = [literal(part, values) for part in argument[1]]
        return None if any(part is None for part in parts) else argument[0].join(parts)
    return None
