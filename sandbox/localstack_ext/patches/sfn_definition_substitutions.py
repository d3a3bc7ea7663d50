"""A state machine whose definition names a `${Token}` its `DefinitionSubstitutions` lacks failed with
"No active exception to reraise".

`localstack.services.stepfunctions.resource_providers.aws_stepfunctions_statemachine._apply_substitutions`
(localstack-core 2026.3.0) meets an unknown token with a bare `raise` outside any exception: the create failed with
"Resource provider operation failed: No active exception to reraise", the update with "Failed to delete resource"
(nothing was being deleted). It is nearly always a typo: the key in the template and the token in the ASL differ.
AWS leaves the token in the definition, whose validation then fails on it ("SCHEMA_VALIDATION_FAILED ... at
/States/<state>/Resource").

Workaround: the same substitution; an unknown token is refused by name, with the substitutions the template gives
and the nearest of them.
"""

from __future__ import annotations

import difflib
import re

TARGET = "localstack.services.stepfunctions.resource_providers.aws_stepfunctions_statemachine"
TOKEN = re.compile(r"\$\{([a-zA-Z0-9_]+)}")  # LocalStack's pattern


class UnknownSubstitution(ValueError):
    pass


def apply_substitutions(definition: str, substitutions: dict) -> str:
    unknown = sorted({name for name in TOKEN.findall(definition) if name not in substitutions})
    if unknown:
        near = {name: difflib.get_close_matches(name, sorted(substitutions), n=1, cutoff=0.4) for name in unknown}
        raise UnknownSubstitution(
            "the state machine's definition uses " + ", ".join(
                "${" + name + "}" + (f" (did you mean {near[name][0]}?)" if near[name] else "") for name in unknown)
            + " but DefinitionSubstitutions has no such key; it has: " + (", ".join(sorted(substitutions)) or "none")
            + ". Make the key and the token the same (AWS fails the definition's validation on it)")
    return TOKEN.sub(lambda m: str(substitutions[m.group(1)]), definition)


def apply() -> None:
    from localstack.services.stepfunctions.resource_providers import aws_stepfunctions_statemachine as module

    module._apply_substitutions = apply_substitutions
