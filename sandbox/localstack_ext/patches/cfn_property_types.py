"""A `Type: Number` parameter referenced where a resource wants a string fails the deploy.

LocalStack's CloudFormation engine (`localstack.services.cloudformation.engine.v2.change_set_model_preproc`,
localstack-core 2026.3.0) resolves `!Ref` of a Number parameter to an int. CloudFormation passes it as the string it
is and converts property values to the types of the resource's schema; LocalStack does not, so a tag value
(`Tags: {threshold: !Ref Threshold}`: "Invalid type for parameter Tags.threshold, value: 100, type: <class 'int'>")
or a state machine's `DefinitionSubstitutions` ("replace() argument 2 must be str, not int") failed the stack, while
`MemorySize: !Ref Memory` worked only because there an int is wanted.

Workaround, as CloudFormation does: before a resource provider runs
(`resource_provider.ResourceProviderExecutor.execute_action`), a number or boolean where the provider's schema wants
only a string becomes that string (`100`, `1.5`, `true`); and a state machine's substitutions are inserted as text
(`aws_stepfunctions_statemachine._apply_substitutions`: AWS allows string, number and boolean values there).
"""

from __future__ import annotations

import json
import re

TARGET = ("localstack.services.cloudformation.resource_provider",
          "localstack.services.stepfunctions.resource_providers.aws_stepfunctions_statemachine")
_NON_STRING = frozenset({"integer", "number", "boolean"})
_MAX_DEPTH = 40


def as_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def coerce(value, node: dict, definitions: dict, depth: int = 0):
    """`value` with every number or boolean that `node` (a JSON schema) wants as a string made one; dicts and lists
    changed in place."""
    if depth > _MAX_DEPTH or not isinstance(node, dict):
        return value
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/definitions/"):
        node = definitions.get(ref.rsplit("/", 1)[-1]) or {}
    if isinstance(value, (bool, int, float)):
        types = node.get("type")
        types = {types} if isinstance(types, str) else set(types or ())
        return as_text(value) if "string" in types and not types & _NON_STRING else value
    if isinstance(value, dict):
        properties = node.get("properties") or {}
        patterns = node.get("patternProperties") or {}
        additional = node.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key)
            if sub is None:
                sub = next((s for pattern, s in patterns.items() if _matches(pattern, key)), None)
            if sub is None and isinstance(additional, dict):
                sub = additional
            if sub is not None:
                value[key] = coerce(item, sub, definitions, depth + 1)
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for i, item in enumerate(value):
            value[i] = coerce(item, node["items"], definitions, depth + 1)
    return value


def _matches(pattern: str, key: str) -> bool:
    try:
        return re.search(pattern, key) is not None
    except re.error:
        return False


_schemas: dict[type, dict] = {}


def schema_of(provider) -> dict:
    """A resource provider's schema (its SCHEMA: a path to the JSON, or the loaded dict), read once per class; {}
    when it has none. Shared with cfn_updates_in_place."""
    while "_provider" in getattr(provider, "__dict__", {}):
        provider = provider.__dict__["_provider"]  # a provider wrapped by patch cfn_updates_in_place
    cls = type(provider)
    if cls not in _schemas:
        try:
            schema = provider.SCHEMA
            if not isinstance(schema, dict):
                with open(schema) as f:
                    schema = json.load(f)
        except (AttributeError, OSError, TypeError, ValueError):
            schema = {}
        _schemas[cls] = schema if isinstance(schema, dict) else {}
    return _schemas[cls]


def apply(target: str) -> None:
    if target.endswith("aws_stepfunctions_statemachine"):
        from localstack.services.stepfunctions.resource_providers import aws_stepfunctions_statemachine as module

        original_substitutions = module._apply_substitutions
        if getattr(original_substitutions, "_sandbox_types", False):
            return

        def _apply_substitutions(definition, substitutions):
            return original_substitutions(definition, {k: v if isinstance(v, str) else as_text(v)
                                                       for k, v in (substitutions or {}).items()})

        _apply_substitutions._sandbox_types = True
        module._apply_substitutions = _apply_substitutions
        return

    from localstack.services.cloudformation.resource_provider import ResourceProviderExecutor

    original = ResourceProviderExecutor.execute_action
    if getattr(original, "_sandbox_types", False):
        return

    def execute_action(self, resource_provider, raw_payload):
        data = raw_payload.get("requestData") or {}
        schema = schema_of(resource_provider)
        if schema.get("properties"):
            node = {"properties": schema["properties"]}
            for key in ("resourceProperties", "previousResourceProperties"):
                if isinstance(data.get(key), dict):
                    coerce(data[key], node, schema.get("definitions") or {})
        return original(self, resource_provider, raw_payload)

    execute_action._sandbox_types = True
    ResourceProviderExecutor.execute_action = execute_action
