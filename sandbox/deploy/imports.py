"""Which stacks import a stack's exports: AWS refuses to delete a stack whose export another stack imports.

LocalStack 2026.3.0 (cloudformation engine v2) deletes it and records no imports (`ListImports` answers nothing), so
the importer kept running on a deleted topic's ARN. The deployer asks this module before a destroy. Imports are found
in the other stacks' templates: `Fn::ImportValue` of a literal name, or of a `Fn::Sub` over the importing stack's
parameters and pseudo parameters (`!ImportValue !Sub "${NetworkStack}-VpcId"`), which is how templates write them.
Names are read by sandbox/deploy/intrinsics.py (Ref, Fn::Sub, Fn::Join); an import through other functions is not
resolved: that stack is not seen as an importer.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from sandbox.deploy import templates
from sandbox.deploy.intrinsics import literal


def imported_names(template, variables: dict[str, str]) -> set[str]:
    """The export names a template imports, resolved with `variables` (its parameters and pseudo parameters)."""
    found: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "Fn::ImportValue":
                    name = literal(value, variables)
                    if name:
                        found.add(name)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(template)
    return found


def pseudo_parameters(stack: dict) -> dict[str, str]:
    """The pseudo parameters of a stack (DescribeStacks' entry) that export and import names are written with."""
    stack_id = stack.get("StackId", "")
    region = stack_id.split(":")[3] if stack_id.count(":") >= 5 else ""
    account = stack_id.split(":")[4] if stack_id.count(":") >= 5 else ""
    return {"AWS::StackName": stack["StackName"], "AWS::Region": region, "AWS::AccountId": account,
            "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}


def exported_values(template, stack: dict, variables: dict[str, str]) -> tuple[dict[str, object], bool]:
    """({export name: the output's Value as written, `!GetAtt A.B` and `Fn::GetAtt: A.B` alike}, whether every
    export name of the template could be resolved)."""
    names = {**variables, **pseudo_parameters(stack)}
    out, complete = {}, True
    for output in ((template or {}).get("Outputs") or {}).values() if isinstance(template, dict) else ():
        if isinstance(output, dict) and isinstance(output.get("Export"), dict):
            name = literal(output["Export"].get("Name"), names)
            if name:
                out[name] = _canonical(output.get("Value"))
            else:
                complete = False
    return out, complete


def _canonical(value):
    """A value as written, with the two spellings of Fn::GetAtt ("A.B" and [A, B]) made one."""
    if isinstance(value, dict):
        return {k: (v.split(".", 1) if k == "Fn::GetAtt" and isinstance(v, str) else _canonical(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def importers(cfn, stack: dict) -> dict[str, list[str]]:
    """{export name: [stacks importing it]} for the exports of `stack` (DescribeStacks' entry) that other stacks
    import."""
    stack_id, name = stack.get("StackId"), stack["StackName"]
    exports = {e["Name"] for page in cfn.get_paginator("list_exports").paginate() for e in page.get("Exports", [])
               if e.get("ExportingStackId") in (stack_id, name)}
    if not exports:
        return {}
    found: dict[str, list[str]] = {}
    for page in cfn.get_paginator("describe_stacks").paginate():
        for other in page["Stacks"]:
            if other["StackName"] == name or other["StackStatus"] == "DELETE_COMPLETE":
                continue
            try:
                body = cfn.get_template(StackName=other["StackName"])["TemplateBody"]
            except ClientError:
                continue
            template = body if isinstance(body, dict) else _parse(body)
            variables = {p["ParameterKey"]: p.get("ResolvedValue") or p.get("ParameterValue", "")
                         for p in other.get("Parameters") or []}
            variables.update(pseudo_parameters(other))
            for export in imported_names(template, variables) & exports:
                found.setdefault(export, []).append(other["StackName"])
    return found


def _parse(body: str):
    try:
        return templates.parse(body)  # JSON or YAML, short-form intrinsics as their long form
    except Exception:  # noqa: BLE001 - a template we cannot read imports nothing we can see
        return {}
