"""Reading SAM/CloudFormation templates the way CloudFormation does, and getting them ready for packaging.

* Short-form intrinsics (`!Ref`, `!GetAtt A.B`, `!Sub`) as awscli's packager reads them.
* Scalars YAML would turn into dates stay strings: `Version: 2012-10-17` in an inline policy is the string
  "2012-10-17" to CloudFormation (PyYAML made it a `datetime.date`, and the deploy died in `json.dumps`).
* `Globals` that decide what gets packaged are applied first (SAM's own merge): a function without a `CodeUri`
  of its own takes `Globals.Function.CodeUri` - awscli's packager would otherwise zip the whole template folder
  as its code, and the handler would not be found at run time.
"""

from __future__ import annotations

import copy
import json
from collections import OrderedDict
from pathlib import Path

import yaml
from awscli.customizations.cloudformation.yamlhelper import intrinsics_multi_constructor

TIMESTAMP = "tag:yaml.org,2002:timestamp"
# CloudFormation's short forms (and AWS::LanguageExtensions'): any other `!Tag` is a typo CloudFormation refuses
SHORT_FORMS = frozenset({"And", "Base64", "Cidr", "Condition", "Equals", "FindInMap", "GetAtt", "GetAZs", "If",
                         "ImportValue", "Join", "Length", "Not", "Or", "Ref", "Select", "Split", "Sub",
                         "ToJsonString", "Transform",
                         # the rule functions of a template's Rules section
                         "Contains", "EachMemberEquals", "EachMemberIn", "RefAll", "ValueOf", "ValueOfAll"})
# A template expands to at most this many values: YAML aliases (`*name`) repeat what they name, and nine nested
# aliases of nine made a 365-byte file that deploy walked for ever (CloudFormation takes no aliases at all; SAM CLI
# expands them, so a few are fine). A 1 MB template, CloudFormation's limit, holds far fewer.
MOST_VALUES = 1_000_000


class CfnLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading as CloudFormation does (see the module docstring)."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def _mapping(loader: CfnLoader, node: yaml.MappingNode) -> OrderedDict:
    loader.flatten_mapping(node)  # merge keys (<<)
    return OrderedDict(loader.construct_pairs(node))


def _short_form(loader: CfnLoader, tag_prefix: str, node: yaml.Node) -> dict:
    if node.tag[1:] not in SHORT_FORMS:
        raise yaml.constructor.ConstructorError(
            None, None, f"unknown tag {node.tag}: CloudFormation's short forms are "
            + ", ".join(f"!{name}" for name in sorted(SHORT_FORMS)), node.start_mark)
    return intrinsics_multi_constructor(loader, tag_prefix, node)


CfnLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
CfnLoader.add_multi_constructor("!", _short_form)


def parse(text: str) -> dict:
    """A template's text (JSON or YAML) as a dict; yaml.YAMLError/ValueError when it is neither."""
    try:
        return json.loads(text, object_pairs_hook=OrderedDict)
    except ValueError:
        template = yaml.load(text, Loader=CfnLoader) or {}
    _check_expansion(template)
    return template


def _check_expansion(template) -> None:
    """ValueError when the template expands (its aliases repeated) to more than MOST_VALUES values."""
    seen, stack = 0, [template]
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MOST_VALUES:
            raise ValueError(f"it expands to more than {MOST_VALUES:,} values: its YAML aliases (*name) repeat what "
                             "they name, nested in each other. CloudFormation takes no aliases; write the values out "
                             "or use SAM's Globals")
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def load(path: Path) -> dict:
    return parse(Path(path).read_text())


# Properties of a resource that awscli's packager uploads, per type, that SAM's Globals may give it.
PACKAGED_FROM_GLOBALS = {
    "AWS::Serverless::Function": ("Function", "CodeUri"),
    "AWS::Serverless::Api": ("Api", "DefinitionUri"),
    "AWS::Serverless::HttpApi": ("HttpApi", "DefinitionUri"),
}


def apply_packaging_globals(template: dict) -> dict:
    """A copy of `template` whose resources carry the packaged properties `Globals` gives them (SAM's rule: a
    resource's own value wins). A function with inline code or an image has no CodeUri to take."""
    globals_ = template.get("Globals")
    if not isinstance(globals_, dict):
        return template
    out = copy.deepcopy(template)
    for resource in (out.get("Resources") or {}).values():
        if not isinstance(resource, dict) or resource.get("Type") not in PACKAGED_FROM_GLOBALS:
            continue
        section, prop = PACKAGED_FROM_GLOBALS[resource["Type"]]
        value = (globals_.get(section) or {}).get(prop)
        props = resource.setdefault("Properties", OrderedDict())
        if value is None or prop in props or not isinstance(props, dict):
            continue
        if prop == "CodeUri" and ("InlineCode" in props or props.get("PackageType") == "Image"
                                  or "ImageUri" in props):
            continue
        props[prop] = copy.deepcopy(value)
    for section, prop in PACKAGED_FROM_GLOBALS.values():
        # given to every resource above: a local path left in Globals would reach SAM's transform unpackaged
        if isinstance(out["Globals"].get(section), dict):
            out["Globals"][section].pop(prop, None)
    return out
