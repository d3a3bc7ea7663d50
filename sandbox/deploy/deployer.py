"""Package a SAM/CloudFormation template (as `aws cloudformation package` does) and create or update its stack.

Local `CodeUri`, `ContentUri`, `DefinitionUri`, layers etc. are zipped and uploaded to a sandbox artifact
bucket by awscli's own packager (`artifact_exporter.Template` + `S3Uploader`), content-addressed, so an unchanged
function is not redeployed and a changed one is. Stack events stream to a callback while we wait. A failed
create names the failing resources and deletes the stack, so nothing half-deployed is left behind; a failed update
names them, and LocalStack rolls it back (patch cfn_update_rollback), as AWS does.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from sandbox.deploy import function_checks, intrinsics
from sandbox.deploy.patterns import load_template
from sandbox.localstack_ext.patches.cfn_updates_in_place import NOT_APPLIED
from sandbox.lambda_process import public_layers

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
TERMINAL_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
MAX_TEMPLATE_BODY = 51_200
# execute-api URLs as a template would write them (AWS form) or as LocalStack renders them (its DNS names).
EXECUTE_API_URL = re.compile(r"https?://([a-z0-9]+)\.execute-api\.[A-Za-z0-9.\-]+(?::\d+)?(/[^\s]*)?")
# Lambda function URLs as AWS writes them (<id>.lambda-url.<region>.on.aws) or LocalStack (<id>.lambda-url.<region>.<host>)
FUNCTION_URL = re.compile(r"https?://([a-z0-9]+)\.lambda-url\.([a-z0-9-]+)\.[A-Za-z0-9.\-]+(?::\d+)?(/[^\s]*)?")


class _QuietTransfers:
    """A TransferManager without awscli's progress printer (it writes to stderr, from any thread)."""

    def __init__(self, manager):
        self._manager = manager

    def upload(self, fileobj, bucket, key, extra_args=None, subscribers=None):
        return self._manager.upload(fileobj, bucket, key, extra_args)

    def __getattr__(self, name):
        return getattr(self._manager, name)


class DeployError(Exception):
    """A deployment that failed, with what failed and why (and what to change) in the message."""

    def __init__(self, message: str, failures: list[dict] | None = None):
        super().__init__(message)
        self.failures = failures or []


@dataclass
class StackEvent:
    timestamp: float
    logical_id: str
    resource_type: str
    status: str
    reason: str

    @property
    def failed(self) -> bool:
        return self.status.endswith("FAILED")


@dataclass
class DeployResult:
    stack_name: str
    status: str
    outputs: dict[str, str]
    seconds: float
    changed: bool = True
    events: list[StackEvent] = field(default_factory=list)
    builds: list[dict] = field(default_factory=list)  # what the build step did (sandbox/deploy/build.py)
    warnings: list[str] = field(default_factory=list)  # e.g. a runtime on another interpreter (function_checks.py)
    apis: dict[str, str] = field(default_factory=dict)  # local URL of each API stage (resources.api_urls)
    kept: dict[str, str] = field(default_factory=dict)  # parameters not given that kept the stack's value (keep_previous)

    def as_dict(self) -> dict:
        return {"stack_name": self.stack_name, "status": self.status, "outputs": self.outputs,
                "seconds": round(self.seconds, 2), "changed": self.changed, "builds": self.builds,
                "warnings": self.warnings, "apis": self.apis, "kept": self.kept}


def not_default(template: dict, kept: dict[str, str]) -> dict[str, str]:
    """The kept parameters whose value is not the template's default: those a deploy without them would have changed."""
    declared = template.get("Parameters") or {}

    def text(value) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)  # YAML's `Default: true` is "true"

    return {k: v for k, v in kept.items() if text((declared.get(k) or {}).get("Default", "")) != v}


def supported_resource_types() -> set[str]:
    """Resource types LocalStack's CloudFormation engine has providers for (lower-case, from its plugins)."""
    return {ep.name for ep in entry_points(group="localstack.cloudformation.resource_providers")}


# What to do instead, for the unsupported types users meet most (matched in "LogicalId (Type)").
UNSUPPORTED_HINTS = {
    "AWS::Cognito::": "Cognito is not in LocalStack's community edition: protect an HTTP API with a JWT authorizer "
                      "(tokens are checked offline, see docs/fidelity.md) or a Lambda authorizer instead.",
    "AWS::AppSync::": "AppSync (GraphQL) is not in LocalStack's community edition: use an HTTP or REST API.",
    "AWS::CodeDeploy::": "CodeDeploy is not in LocalStack's community edition; SAM creates these resources for a "
                         "function's `DeploymentPreference` (gradual deployments): remove DeploymentPreference.",
    "AWS::ApplicationInsights::": "Application Insights (SAM init's monitoring option) is not in LocalStack's "
                                  "community edition: remove the ApplicationInsightsMonitoring resource.",
    "AWS::ResourceGroups::": "Resource groups (SAM init's monitoring option) are not in LocalStack's community "
                             "edition: remove the ApplicationResourceGroup resource.",
}


def _resources(template: dict):
    """(logical id, resource) of the template's resources; `Fn::ForEach::*` entries (AWS::LanguageExtensions, expanded
    by CloudFormation) are not resources and are left out."""
    for logical_id, resource in (template.get("Resources") or {}).items():
        if isinstance(resource, dict) and not str(logical_id).startswith("Fn::"):  # Fn::ForEach::*, Fn::Transform
            yield logical_id, resource


@functools.lru_cache(maxsize=256)
def provider_schema(rtype: str) -> dict:
    """The schema LocalStack's provider for `rtype` (any case) was generated from ({} when it has none)."""
    import importlib.util

    eps = {ep.name: ep.value for ep in entry_points(group="localstack.cloudformation.resource_providers")}
    module = eps.get(rtype.lower(), "").split(":", 1)[0]
    try:
        origin = importlib.util.find_spec(module).origin if module.endswith("_plugin") else None
        return json.loads(Path(origin.removesuffix("_plugin.py") + ".schema.json").read_text()) if origin else {}
    except (ImportError, AttributeError, OSError, ValueError):
        return {}


def type_properties(rtype: str) -> frozenset[str]:
    """The properties of a resource type (most of its Fn::GetAtt attributes), from its provider's schema."""
    return frozenset(provider_schema(rtype).get("properties") or ())


def _aws_schemas():
    """cfn-lint's copy of AWS's resource schemas: every real type and its Fn::GetAtt attributes. Loaded only to confirm
    a suspected typo (its import takes ~3 s)."""
    from cfnlint.schema.manager import PROVIDER_SCHEMA_MANAGER

    return PROVIDER_SCHEMA_MANAGER


def sam_resource_types() -> frozenset[str]:
    """The AWS::Serverless::* types SAM's transform knows (aws-sam-translator's resource classes)."""
    from samtranslator.model import sam_resources

    return frozenset(cls.resource_type for cls in vars(sam_resources).values()
                     if isinstance(cls, type) and str(getattr(cls, "resource_type", "")).startswith("AWS::Serverless::"))


def misspelt_types(template: dict, supported: set[str], region: str = "us-east-1") -> list[str]:
    """Resources whose Type is no type at all, with the nearest real one: SAM's transform passes an unknown
    AWS::Serverless::* type through, and LocalStack then "deploys" it as a fallback that creates nothing (a template
    with `AWS::Serverless::Functon` ended in CREATE_COMPLETE without its function); a type in the wrong case
    (`AWS::Sqs::Queue`) did the same. A real type LocalStack has no provider for is unsupported_types' to report."""
    import difflib

    out = []
    for logical_id, resource in _resources(template):
        rtype = str(resource.get("Type", ""))
        near: list[str] = []
        if rtype.startswith("AWS::Serverless::"):
            sam = sam_resource_types()
            if rtype in sam:
                continue
            names = {t.rsplit("::", 1)[1].lower(): t for t in sam}
            near = [names[n] for n in difflib.get_close_matches(rtype.rsplit("::", 1)[1].lower(), sorted(names), n=1,
                                                                cutoff=0.75)]
        elif rtype.startswith("AWS::") and rtype.lower() in supported:
            proper = provider_schema(rtype).get("typeName")
            if not proper or proper == rtype:
                continue
            near = [proper]  # the same type in another case: CloudFormation's types are case-sensitive
        elif rtype.startswith("AWS::"):
            schemas = _aws_schemas()
            real = set(schemas.get_resource_types(region)) | set(schemas.get_resource_types("us-east-1"))
            if rtype in real:  # (a region may not list a type us-east-1 has)
                continue
            by_lower = {t.lower(): t for t in real}
            near = [by_lower[n] for n in difflib.get_close_matches(rtype.lower(), sorted(by_lower), n=1, cutoff=0.85)]
        else:
            continue
        out.append(f"{logical_id} ({rtype or 'no Type'}" + (f": did you mean {near[0]}?)" if near else
                                                               ": not a resource type)"))
    return out


def misspelt_attributes(template: dict, region: str = "us-east-1") -> list[str]:
    """`Fn::GetAtt` attributes a resource's type does not have, when one it has is near (a typo: `Queue.Arnn`). AWS
    refuses them when it validates the template; LocalStack 2026.3.0 tried for ~15 s and failed on another property
    ("Provided ARN: unknown must be of the format..."). Suspected from LocalStack's provider schema, confirmed against
    AWS's list of the type's attributes (cfn-lint's); one near nothing is left to CloudFormation."""
    import difflib
    import re as regex

    resources = dict(_resources(template))
    out: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "Fn::GetAtt":
                    check(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    def check(value) -> None:
        if isinstance(value, str) and "." in value:
            value = value.split(".", 1)
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
            return
        target, attribute = value
        rtype = str((resources.get(target) or {}).get("Type", ""))
        if not rtype.startswith("AWS::") or rtype.startswith("AWS::Serverless::"):
            return
        names = type_properties(rtype)
        if not names or attribute.split(".", 1)[0] in names or \
                not difflib.get_close_matches(attribute, sorted(names), n=1, cutoff=0.8):
            return
        try:
            known = list(_aws_schemas().get_type_getatts(rtype, region))
        except Exception:  # noqa: BLE001 - a type cfn-lint does not know: nothing to confirm with
            return
        if any(regex.fullmatch(pattern, attribute) for pattern in known):
            return
        near = difflib.get_close_matches(attribute, sorted(k for k in known if "*" not in k), n=1, cutoff=0.8)
        if near:
            entry = f"{target}.{attribute} ({rtype} has no attribute {attribute}: did you mean {near[0]}?)"
            if entry not in out:
                out.append(entry)

    walk(resources)
    walk(template.get("Outputs") or {})
    return out


def sam_without_transform(template: dict) -> list[str]:
    """AWS::Serverless::* resources in a template without SAM's transform. CloudFormation refuses it ("Unrecognized
    resource types"); LocalStack 2026.3.0 "deployed" each as a no-op fallback: CREATE_COMPLETE, nothing made."""
    from sandbox.deploy import transform

    if transform.uses_sam(template):
        return []
    return [f"{logical_id} ({resource.get('Type')})" for logical_id, resource in _resources(template)
            if str(resource.get("Type", "")).startswith("AWS::Serverless::")]


def unknown_dependencies(template: dict, *others: dict) -> list[str]:
    """DependsOn names no resource of the template (nor of what SAM expanded it to) has. CloudFormation refuses the
    template; LocalStack 2026.3.0 failed the create, rolled it back, and then reported CREATE_COMPLETE."""
    known = {logical_id for t in (template, *others) for logical_id, _ in _resources(t)}
    out = []
    for logical_id, resource in _resources(template):
        depends = resource.get("DependsOn") or []
        for name in depends if isinstance(depends, list) else [depends]:
            if isinstance(name, str) and name not in known:
                out.append(f"{logical_id} DependsOn {name}")
    return out


def _referenced(node, names: set[str], out: set[str], local: frozenset[str] = frozenset()) -> None:
    """The logical ids of `names` that `node` refers to: Ref, Fn::GetAtt and the ${Name} / ${Name.Attr} of Fn::Sub
    (not the names Fn::Sub's own variable map defines)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                out.update({value} & names)
            elif key == "Fn::GetAtt":
                target = value.split(".", 1)[0] if isinstance(value, str) else \
                    value[0] if isinstance(value, list) and value and isinstance(value[0], str) else None
                if target in names:
                    out.add(target)
                _referenced(value, names, out, local)
            elif key == "Fn::Sub":
                body, variables = intrinsics.sub_parts(value) or (None, {})
                inner = local | frozenset(variables)
                if body is not None:
                    out.update(n for n in map(intrinsics.logical_id, intrinsics.sub_names(body))
                               if n in names and n not in inner)
                _referenced(variables, names, out, local)
            else:
                _referenced(value, names, out, local)
    elif isinstance(node, list):
        for item in node:
            _referenced(item, names, out, local)


def circular_dependencies(template: dict) -> list[list[str]]:
    """The groups of resources that depend on each other in a circle (Ref, Fn::GetAtt, Fn::Sub, DependsOn).
    CloudFormation refuses the template ("Circular dependency between resources"); LocalStack 2026.3.0 recursed
    until "maximum recursion depth exceeded", rolled back, then said CREATE_COMPLETE, or with a DependsOn circle
    made a queue twice and left one outside the stack."""
    resources = dict(_resources(template))
    names = set(resources)
    edges: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        found: set[str] = set()
        _referenced(resource.get("Properties"), names, found)
        depends = resource.get("DependsOn") or []
        found.update(d for d in (depends if isinstance(depends, list) else [depends]) if d in names)
        edges[logical_id] = found
    # Tarjan's strongly connected components, iteratively (a template may have hundreds of resources)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    circles: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1 or node in edges[node]:
                    circles.append(sorted(group))
    return sorted(circles)


def misspelt_properties(template: dict, region: str = "us-east-1") -> list[str]:
    """Properties a resource's type does not have (`VisibilityTimeOut` on a queue). CloudFormation refuses them
    ("extraneous key [...] is not permitted"); LocalStack 2026.3.0 ignored them, so the resource silently had the
    default. Suspected from LocalStack's provider schema, confirmed against AWS's (cfn-lint's copy); SAM's own
    types are checked by its transform."""
    import difflib

    suspects = []
    for logical_id, resource in _resources(template):
        rtype, properties = str(resource.get("Type", "")), resource.get("Properties")
        if not rtype.startswith("AWS::") or rtype.startswith("AWS::Serverless::") or not isinstance(properties, dict):
            continue
        names = type_properties(rtype)
        odd = [p for p in properties if names and p not in names and not str(p).startswith("Fn::")]
        if odd:
            suspects.append((logical_id, rtype, odd))
    out = []
    for logical_id, rtype, odd in suspects:
        try:
            known = set(_aws_schemas().get_resource_schema(region, rtype).schema.get("properties") or ())
        except Exception:  # noqa: BLE001 - a type cfn-lint does not know: nothing to confirm with
            continue
        for name in odd:
            if known and name not in known:
                near = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
                out.append(f"{logical_id}: {name} is not a property of {rtype}"
                           + (f" (did you mean {near[0]}?)" if near else ""))
    return out


def custom_resource_notes(template: dict) -> list[str]:
    """Custom resources deploy, but LocalStack 2026.3.0's CloudFormation engine only pretends to create them (its
    "fallback"): the function behind one is never invoked, and its Fn::GetAtt attributes read "unknown". Said, not
    refused: the rest of such a template works."""
    custom = [f"{logical_id} ({resource.get('Type')})" for logical_id, resource in _resources(template)
              if str(resource.get("Type", "")).startswith("Custom::")
              or resource.get("Type") == "AWS::CloudFormation::CustomResource"]
    if not custom:
        return []
    return [f"custom resource(s) {', '.join(custom)} are not run by LocalStack's community edition: their function is "
            "never invoked and their Fn::GetAtt attributes read \"unknown\"; do what they do in a script after the "
            "deploy"]


def unsupported_types(template: dict, supported: set[str]) -> list[str]:
    out = []
    for logical_id, resource in _resources(template):
        rtype = str(resource.get("Type", ""))
        if rtype.startswith(("AWS::Serverless::", "Custom::")) or rtype == "AWS::CloudFormation::CustomResource":
            continue
        if rtype.lower() not in supported:
            out.append(f"{logical_id} ({rtype or 'no Type'})")
    return out


def parameter_problems(name: str, spec: dict, value: str) -> list[str]:
    """What is wrong with `value` for the parameter declared by `spec` (CloudFormation's rules)."""
    out = []
    allowed = spec.get("AllowedValues")
    if allowed and value not in [str(v) for v in allowed]:
        out.append(f"{name}={value!r} is not one of {', '.join(map(str, allowed))}")
    pattern = spec.get("AllowedPattern")
    if pattern and not re.fullmatch(str(pattern), value):
        out.append(f"{name}={value!r} does not match {pattern}" + (
            f" ({spec['ConstraintDescription']})" if spec.get("ConstraintDescription") else ""))
    if str(spec.get("Type", "String")) == "Number":
        try:
            number = float(value)
        except ValueError:
            return out + [f"{name}={value!r} is not a number"]
        if "MinValue" in spec and number < float(spec["MinValue"]):
            out.append(f"{name}={value} is below MinValue {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            out.append(f"{name}={value} is above MaxValue {spec['MaxValue']}")
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        out.append(f"{name} is shorter than MinLength {spec['MinLength']}")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        out.append(f"{name} is longer than MaxLength {spec['MaxLength']}")
    return out


# CloudFormation's quotas: a template (the file `sam deploy` uploads) of at most 1 MB, at most 500 resources once SAM
# has expanded it. LocalStack 2026.3.0 took a 5 MB template and 560 resources (found by an adversarial probe).
MOST_TEMPLATE_BYTES = 1_000_000
MOST_RESOURCES = 500


def read_template(path: Path) -> dict:
    try:
        size = Path(path).stat().st_size
    except OSError as e:
        raise DeployError(f"cannot read template {path}: {e.strerror}") from None
    if size > MOST_TEMPLATE_BYTES:
        raise DeployError(f"{path} is {size:,} bytes: CloudFormation takes templates of at most "
                          f"{MOST_TEMPLATE_BYTES:,} bytes (\"Template may not exceed {MOST_TEMPLATE_BYTES} bytes in "
                          "size\"). Split it into nested stacks (AWS::Serverless::Application) or move large inline "
                          "code and definitions into files (CodeUri, DefinitionUri).")
    try:
        template = load_template(path)
    except OSError as e:
        raise DeployError(f"cannot read template {path}: {e.strerror}") from None
    except Exception as e:  # noqa: BLE001 - yaml raises many types; all mean the same to the user
        raise DeployError(f"{path} is not a valid YAML/JSON template: {e}") from None
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise DeployError(f"{path} has no Resources section: a CloudFormation/SAM template needs one")
    return template


def local_urls(value: str, endpoint: str) -> str:
    """Rewrites execute-api URLs to the sandbox's path form `/_aws/execute-api/<id>/<stage>/...` (an HTTP API's
    `$default` stage has no stage segment: `/_aws/execute-api/<id>/<path>`), and function URLs to
    `http://<id>.lambda-url.<region>.localhost:<port>/`."""
    value = EXECUTE_API_URL.sub(lambda m: f"{endpoint}/_aws/execute-api/{m[1]}{m[2] or '/'}", value)
    # a function URL is routed by its host name: `<id>.lambda-url.<region>.localhost` resolves to loopback in
    # browsers and curl (LocalStack's `...127.0.0.1` form resolves nowhere)
    port = endpoint.rsplit(":", 1)[-1].strip("/")
    return FUNCTION_URL.sub(lambda m: f"http://{m[1]}.lambda-url.{m[2]}.localhost:{port}{m[3] or '/'}", value)


STUCK_AFTER = 30.0  # seconds without a stack event after which an operation in progress is taken as never ending


class Deployer:
    def __init__(self, sandbox, region: str | None = None, *, observer: bool = False):
        """`observer`: only to read (the TUI polls the stacks); the recorder files its calls as platform noise."""
        self.sandbox = sandbox
        self.region = region or sandbox.settings.region
        self.cfn = sandbox.client("cloudformation", region=self.region, observer=observer)
        self.s3 = sandbox.client("s3", region=self.region, observer=observer)
        # what the deployer reads to follow a stack (its status, events, resources, exports) is the sandbox's own
        # watching, not the user's traffic: a deploy's ~250 polls filled the service map ("external -> stack")
        self.watch = sandbox.client("cloudformation", region=self.region, observer=True)

    # --- packaging -------------------------------------------------------------------------------------
    @property
    def artifact_bucket(self) -> str:
        return f"sandbox-artifacts-{self.region}"

    def _ensure_bucket(self) -> None:
        try:
            self.s3.head_bucket(Bucket=self.artifact_bucket)
        except ClientError:
            kwargs = {}
            if self.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            self.s3.create_bucket(Bucket=self.artifact_bucket, **kwargs)

    def package(self, template_path: Path, parameters: dict | None = None, on_built=None) -> dict:
        """The template with every local artifact built (sandbox/deploy/build.py; `on_built` hears of each) and
        uploaded, and replaced by its S3 location."""
        from awscli.customizations.cloudformation import exceptions as cfn_exceptions
        from awscli.customizations.cloudformation.artifact_exporter import Template
        from awscli.customizations.s3uploader import S3Uploader
        from s3transfer.manager import TransferManager

        from sandbox.deploy.build import build_for_deploy
        from sandbox.deploy.templates import apply_packaging_globals

        template_path = Path(template_path).resolve()
        template = read_template(template_path)
        built = build_for_deploy(self.sandbox.settings.state_dir, apply_packaging_globals(template),
                                 template_path.parent, parameters, on_built)
        self._ensure_bucket()
        uploader = S3Uploader(self.s3, self.artifact_bucket, prefix="artifacts",
                              transfer_manager=_QuietTransfers(TransferManager(self.s3)))
        try:
            exporter = Template(template_path.name, str(template_path.parent), uploader)
            # read as CloudFormation reads it (dates stay strings), with the Globals that decide what is packaged
            exporter.template_dict = built
            return exporter.export()
        except cfn_exceptions.CloudFormationCommandError as e:
            raise DeployError(f"packaging {template_path.name} failed: {e}") from None

    # --- stacks ----------------------------------------------------------------------------------------
    def _previous_parameters(self, stack_name: str, template: dict, given: dict) -> tuple[dict[str, str], list[str]]:
        """(the stack's values of the parameters the template declares and `given` leaves out, the NoEcho ones among
        them, whose value CloudFormation hides: sent as UsePreviousValue). None for a stack whose create failed: it is
        deleted and created again."""
        st = self.stack(stack_name)
        # a stack still changing is settled later (`_settled`); one whose create failed is created again
        if st is None or not st["StackStatus"].endswith("_COMPLETE") or st["StackStatus"] in (
                "ROLLBACK_COMPLETE", "DELETE_COMPLETE"):
            return {}, []
        declared = template.get("Parameters") or {}
        kept, hidden = {}, []
        for p in st.get("Parameters") or []:
            key = p.get("ParameterKey")
            if key not in declared or key in given or "ParameterValue" not in p:
                continue
            if (declared.get(key) or {}).get("NoEcho") in (True, "true", "True") or p["ParameterValue"] == "****":
                hidden.append(key)  # CloudFormation shows "****" for a value that was NoEcho: never re-sent as such
            else:
                kept[key] = p["ParameterValue"]
        return kept, hidden

    def stack(self, name: str) -> dict | None:
        try:
            return self.watch.describe_stacks(StackName=name)["Stacks"][0]
        except ClientError as e:
            if "does not exist" in str(e):
                return None
            if e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
                self._stopped_meanwhile(name)
            raise
        except (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError):
            self._stopped_meanwhile(name)
            raise

    def _stopped_meanwhile(self, name: str) -> None:
        """A DeployError when the sandbox went away during an operation on stack `name` (`sandbox down` in another
        terminal: the deploy ended in a botocore traceback, a 503 from the gateway shutting down)."""
        if not self.sandbox.is_running():
            raise DeployError(f"the sandbox stopped while stack {name} was being deployed or deleted (`sandbox down` "
                              f"in another terminal?): {self.sandbox.not_running_message()} Then deploy again.") \
                from None

    def deploy(
        self,
        template_path: Path,
        stack_name: str,
        parameters: dict[str, str] | None = None,
        on_event: Callable[[StackEvent], None] | None = None,
        timeout: float = 300,
        keep_previous: bool = False,
    ) -> DeployResult:
        """`keep_previous`: a parameter the template declares and `parameters` leaves out keeps the value the stack
        has, as `sam deploy` and `aws cloudformation deploy` do (UsePreviousValue); otherwise it takes its default."""
        started = time.perf_counter()
        original = read_template(Path(template_path))
        kept, hidden = self._previous_parameters(stack_name, original, parameters or {}) if keep_previous else ({}, [])
        parameters = {**kept, **(parameters or {})} if kept or parameters else parameters
        self._check_parameters(original, parameters or {}, kept=set(kept), hidden=set(hidden))
        # public layers it cannot serve are refused; a runtime on another interpreter is a warning
        warnings = function_checks.check(original, self.region, parameters) + custom_resource_notes(original)
        builds: list[dict] = []

        def on_built(record) -> None:
            builds.append(record.as_dict())
            if on_event:
                on_event(StackEvent(time.time(), record.logical_id, record.resource_type, "BUILD_COMPLETE",
                                    record.summary))

        template = self.package(Path(template_path), parameters, on_built)
        expanded = self._check_resource_types(template, parameters or {})
        body = json.dumps(template)
        kwargs = {"StackName": stack_name, "Capabilities": CAPABILITIES,
                  "Parameters": [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in (parameters or {}).items()]
                  + [{"ParameterKey": k, "UsePreviousValue": True} for k in hidden]}
        kwargs.update(self._template_argument(body, stack_name))

        existing, stuck = self._settled(stack_name, on_event, timeout)
        if stuck:
            raise DeployError(f"stack {stack_name} has been {existing['StackStatus']} with no progress for "
                              f"{STUCK_AFTER:.0f} s and will not finish: `sandbox destroy {stack_name}` deletes it, "
                              "then deploy again")
        if existing and existing["StackStatus"] in ("ROLLBACK_COMPLETE", "CREATE_FAILED", "ROLLBACK_FAILED"):
            self._delete_and_wait(stack_name, timeout)  # a failed first create cannot be updated
            existing = None
        if existing is None and hidden:  # the stack went meanwhile: nothing to keep a NoEcho value from
            raise DeployError(f"stack {stack_name} no longer exists: pass --param " +
                              " ".join(f"{k}=..." for k in hidden))
        self._check_names(expanded, parameters or {}, stack_name, existing)
        if existing:
            self._check_exports_in_use(existing, template, parameters or {})
        seen = self._event_ids(stack_name) if existing else set()
        try:
            if existing:
                self.cfn.update_stack(**kwargs)
            else:
                self.cfn.create_stack(**kwargs)
        except ClientError as e:
            if "No updates are to be performed" in str(e):
                return DeployResult(stack_name, existing["StackStatus"], self._outputs(existing),
                                    time.perf_counter() - started, changed=False, builds=builds,
                                    warnings=warnings, kept=not_default(original, kept))
            if not existing:
                self._forget_refused(stack_name, timeout)
            raise DeployError(f"CloudFormation refused the template: {e.response['Error']['Message']}") from None

        stack, events = self._wait(stack_name, seen, on_event, timeout)
        status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
        # an update that fails is rolled back to the stack's previous state (patch cfn_update_rollback); whatever
        # failed while rolling back comes after the stack's UPDATE_ROLLBACK_IN_PROGRESS
        rollback_at = next((i for i, e in enumerate(events)
                            if e.logical_id == stack_name and e.status == "UPDATE_ROLLBACK_IN_PROGRESS"), len(events))
        failures = [e for e in events[:rollback_at] if e.failed and e.logical_id != stack_name]
        unrolled = sorted({e.logical_id for e in events[rollback_at:] if e.failed and e.logical_id != stack_name})
        # (without the patch LocalStack ends such an update in UPDATE_COMPLETE, half-updated; a resource an update
        # removes and cannot delete is left behind, as on AWS, where an update's clean-up never fails it)
        failed_update = existing is not None and any(
            e.status in ("CREATE_FAILED", "UPDATE_FAILED") or (e.logical_id == stack_name and "ROLLBACK" in e.status)
            for e in events)
        # a create that failed a resource failed (LocalStack 2026.3.0 could end one that recursed without end in
        # CREATE_COMPLETE after rolling it back, its resources CREATE_FAILED)
        failed_create = existing is None and any(e.status == "CREATE_FAILED" and e.logical_id != stack_name
                                                 for e in events)
        if status not in TERMINAL_OK or failed_update or failed_create:
            detail = "; ".join(f"{e.logical_id} ({e.resource_type}): {e.reason or e.status}" for e in failures)
            if not detail and stack and stack.get("StackStatusReason"):
                detail = stack["StackStatusReason"]
            if not existing:
                self._delete_and_wait(stack_name, timeout)
                tail = "The stack was deleted: nothing is left behind."
            elif status == "UPDATE_ROLLBACK_COMPLETE" and not unrolled:
                tail = ("The update was rolled back, as on AWS: the stack runs its previous template, parameters and "
                        "outputs again (UPDATE_ROLLBACK_COMPLETE).")
            else:
                tail = (f"The stack is in {status}" + (f" and {', '.join(unrolled)} could not be rolled back"
                                                      if unrolled else "")
                        + f": it may be half-updated. Fix the template and deploy again, or `sandbox destroy "
                          f"{stack_name}`.")
            raise DeployError(
                f"deploying stack {stack_name} failed "
                f"({'update failed' if failed_update else 'create failed' if failed_create else status}). "
                f"{detail or 'No resource reported a reason.'} {tail}",
                failures=[e.__dict__ for e in failures],
            )
        from sandbox.deploy.resources import api_urls, stack_resources

        apis = api_urls(self.sandbox, stack_resources(self.sandbox, stack_name)) if stack else {}
        warnings = warnings + [f"{e.logical_id} ({e.resource_type}): {e.reason[len(NOT_APPLIED):].strip()}"
                               for e in events if e.reason.startswith(NOT_APPLIED)]
        return DeployResult(stack_name, status, self._outputs(stack), time.perf_counter() - started, events=events,
                            builds=builds, warnings=warnings, apis=apis, kept=not_default(original, kept))

    def _check_exports_in_use(self, existing: dict, template: dict, parameters: dict[str, str]) -> None:
        """AWS fails an update that removes or changes an export another stack imports ("Cannot update export X as
        it is in use by Y"); LocalStack 2026.3.0 changed it, and the importer kept the old value. Seen from the
        templates: the export's output gone, or its Value written differently (a change that comes only from a
        replaced resource is not seen here)."""
        from sandbox.deploy.imports import exported_values, importers

        used = importers(self.watch, existing)
        if not used:
            return
        try:
            body = self.watch.get_template(StackName=existing["StackName"])["TemplateBody"]
        except ClientError:
            return
        from sandbox.deploy import templates

        try:
            before = body if isinstance(body, dict) else templates.parse(body)
        except Exception:  # noqa: BLE001 - a stored template we cannot read: nothing to compare with
            return
        variables = {p["ParameterKey"]: p.get("ResolvedValue") or p.get("ParameterValue", "")
                     for p in existing.get("Parameters") or []}
        old, _ = exported_values(before, existing, variables)
        new, complete = exported_values(template, existing, {**variables, **parameters})
        # refused only when certain: an export name written in a way not resolved here may still be the same name
        changed = [name for name in used if name in old and
                   (new[name] != old[name] if name in new else complete)]
        if changed:
            raise DeployError("; ".join(f"Cannot update export {name} as it is in use by {', '.join(used[name])}"
                                        + (" (the template no longer exports it)" if name not in new else
                                           " (its Value changes)") for name in changed)
                              + f". Nothing was changed. As on AWS: update the importing stacks first so that they "
                                f"no longer import it.")

    def destroy(self, stack_name: str, timeout: float = 300, on_event=None) -> bool:
        """Deletes the stack (once what runs on it has finished, or is stuck); False if there was none."""
        before = self.stack(stack_name)
        if before is None:
            return False
        st, _ = self._settled(stack_name, on_event, timeout)
        if st is None:  # it was being deleted: it is now
            return before["StackStatus"] == "DELETE_IN_PROGRESS"
        from sandbox.deploy.imports import importers

        used = importers(self.watch, st)
        if used:  # AWS refuses the delete (LocalStack deleted it, the importers kept the deleted resources' names)
            uses = "; ".join(f"export {export} is imported by {', '.join(stacks)}" for export, stacks in used.items())
            users = sorted({s for stacks in used.values() for s in stacks})
            raise DeployError(f"stack {stack_name} cannot be deleted while other stacks use its exports, as on AWS: "
                              f"{uses}. Destroy {', '.join(users)} first.")
        self._delete_and_wait(stack_name, timeout)
        return True

    def list_stacks(self) -> list[dict]:
        out = []
        for page in self.watch.get_paginator("describe_stacks").paginate():
            for st in page["Stacks"]:
                if st["StackStatus"] != "DELETE_COMPLETE":
                    out.append({"name": st["StackName"], "status": st["StackStatus"],
                                "created": st["CreationTime"].isoformat(), "outputs": self._outputs(st)})
        return out

    # --- helpers ---------------------------------------------------------------------------------------
    def _check_parameters(self, template: dict, parameters: dict[str, str], kept: set[str] = frozenset(),
                          hidden: set[str] = frozenset()) -> None:
        """Unknown names and values outside the declared constraints are refused before anything is created. `kept`:
        values kept from the stack (said so when refused); `hidden`: NoEcho values the stack keeps (not checked).

        LocalStack 2026.3.0 does not enforce AllowedValues/AllowedPattern/Min*/Max* (cloudformation engine v2):
        a bad value would create resources and then fail obscurely, or deploy silently.
        """
        declared = template.get("Parameters") or {}
        unknown = sorted(set(parameters) - set(declared))
        if unknown:
            valid = ", ".join(sorted(declared)) or "(the template declares none)"
            raise DeployError(f"unknown parameter(s) {', '.join(unknown)}. Valid: {valid}")
        problems = []
        for name, spec in declared.items():
            if not isinstance(spec, dict) or name in hidden:
                continue
            value = parameters.get(name, spec.get("Default"))
            if value is None:
                problems.append(f"{name} has no default: pass --param {name}=...")
                continue
            found = parameter_problems(name, spec, str(value))
            if name in kept:  # a value the user did not pass: say where it came from
                found = [f"{problem} (kept from the stack: pass --param {name}=... to change it)" for problem in found]
            problems += found
        if problems:
            raise DeployError("invalid parameter value(s): " + "; ".join(problems))
        missing = self._missing_ssm_parameters(declared, parameters, hidden)
        if missing:  # LocalStack said "Parameter X should either have input value or default value"
            raise DeployError(f"Parameters: [{', '.join(missing)}] cannot be found (as AWS words it): the template "
                              "reads them from SSM Parameter Store (Type: AWS::SSM::Parameter::Value<...>). Create "
                              "them first (`aws ssm put-parameter --name NAME --value ... --type String`), or pass "
                              "--param with a name that exists.")

    def _missing_ssm_parameters(self, declared: dict, parameters: dict[str, str], hidden: set[str]) -> list[str]:
        """The SSM parameter names that parameters of type AWS::SSM::Parameter::Value<...> give and SSM lacks."""
        names = [str(parameters.get(name, spec.get("Default"))) for name, spec in declared.items()
                 if isinstance(spec, dict) and name not in hidden and
                 str(spec.get("Type", "")).startswith("AWS::SSM::Parameter::Value<") and
                 parameters.get(name, spec.get("Default")) is not None]
        if not names:
            return []
        ssm = self.sandbox.client("ssm", region=self.region, observer=True)
        missing = []
        for start in range(0, len(names), 10):  # GetParameters takes 10 names at a time
            missing += ssm.get_parameters(Names=names[start:start + 10]).get("InvalidParameters", [])
        return missing

    def _check_resource_types(self, template: dict, parameters: dict[str, str]) -> None:
        """Every resource LocalStack would only pretend to create is refused before anything is created: the
        template's own, and what SAM's transform expands it to (sandbox/deploy/transform.py)."""
        from sandbox.deploy import transform

        without = sam_without_transform(template)
        if without:
            raise DeployError("the template uses SAM's resource types (" + ", ".join(without) + ") but has no "
                              "`Transform: AWS::Serverless-2016-10-31` line: add it at the top level of the template, "
                              "as SAM's examples have it (without it AWS refuses the template: \"Unrecognized resource "
                              "types\").")
        supported = supported_resource_types()
        misspelt = misspelt_types(template, supported, self.region)
        if misspelt:
            raise DeployError("unknown resource type(s): " + ", ".join(misspelt) + ". Check the spelling of Type "
                              "(types are case-sensitive).")
        attributes = misspelt_attributes(template, self.region)
        if attributes:
            raise DeployError("Fn::GetAtt of an attribute the resource does not have: " + ", ".join(attributes) + ".")
        missing = unsupported_types(template, supported)
        try:
            expanded = transform.expand(template, parameters, self.region)
        except transform.TransformError as e:
            raise DeployError(f"the template is not valid SAM: {e}") from None
        # every logical id is known only when nothing is left to expand later: not with Fn::ForEach
        # (AWS::LanguageExtensions), nor a SAM template whose transform could not run here
        all_known = "AWS::LanguageExtensions" not in transform.transforms(template) and (
            not transform.uses_sam(template) or (expanded is not None and expanded is not template))
        if expanded is not None and expanded is not template:
            missing += [m for m in unsupported_types(expanded, supported) if m not in missing]
        else:
            expanded = template
        count = sum(1 for _ in _resources(expanded))
        if count > MOST_RESOURCES:
            raise DeployError(f"Template format error: Number of resources, {count}, is greater than maximum allowed, "
                              f"{MOST_RESOURCES} (as AWS words it; SAM's expansion counts). Split the template into "
                              "nested stacks (AWS::Serverless::Application).")
        unknown = unknown_dependencies(template, expanded) if all_known else []
        if unknown:
            raise DeployError("DependsOn names a resource the template does not have: " + ", ".join(unknown) + ". "
                              "Check the logical id's spelling (AWS refuses the template: \"Unresolved resource "
                              "dependencies\").")
        circles = circular_dependencies(expanded) if all_known else []
        if circles:
            raise DeployError("resources depend on each other in a circle: " + "; ".join(
                ", ".join(c) for c in circles) + ". Break each circle: a resource cannot Ref, GetAtt, Sub or "
                "DependsOn one that (in turn) depends on it (AWS refuses the template: \"Circular dependency between "
                "resources\").")
        properties = misspelt_properties(template, self.region)
        if properties:
            raise DeployError("unknown propert" + ("ies" if len(properties) > 1 else "y") + ": "
                              + "; ".join(properties) + ". Property names are case-sensitive (AWS refuses the "
                              "template: \"extraneous key ... is not permitted\").")
        if missing:
            hints = sorted({hint for m in missing for marker, hint in UNSUPPORTED_HINTS.items() if marker in m})
            raise DeployError(
                "the sandbox cannot create these resources (LocalStack's community edition has no provider for their "
                "types, and would only pretend to create them): " + ", ".join(missing) + ". "
                + (" ".join(hints) + " " if hints else "")
                + "Remove them or replace them with supported types (docs/fidelity.md lists what the sandbox "
                  "creates).")
        return expanded

    def _check_names(self, template: dict, parameters: dict[str, str], stack_name: str, existing: dict | None) -> None:
        """A queue, topic, bucket or rule the template names that exists outside this stack is refused, as AWS fails
        it (sandbox/deploy/named_resources.py)."""
        from sandbox.deploy import named_resources

        def own() -> dict[str, str]:
            if not existing:
                return {}
            return {r["LogicalResourceId"]: r["ResourceType"]
                    for r in self.watch.describe_stack_resources(StackName=stack_name)["StackResources"]}

        taken = named_resources.conflicts(self.sandbox, template, parameters, stack_name, self.region,
                                          public_layers.SANDBOX_ACCOUNT, own)
        if taken:
            raise DeployError(
                "these names are taken by resources outside this stack: " + ", ".join(taken) + ". CloudFormation on "
                "AWS fails such a create (\"already exists\"); here the stacks would share them, and destroying one "
                "would delete what the other uses. Give them other names (with ${AWS::StackName} in them, say), or "
                "leave the name out and let CloudFormation generate one.")

    def _forget_refused(self, stack_name: str, timeout: float) -> None:
        """LocalStack 2026.3.0 (cloudformation engine v2, CreateStack) registers a new stack before it validates the
        template: a template it refuses (unresolved references, say) leaves a stack in CREATE_IN_PROGRESS that never
        ends, and the next deploy would update that ghost. Deletes it, so a refusal leaves nothing behind."""
        try:
            if self.stack(stack_name) is not None:
                self._delete_and_wait(stack_name, timeout)
        except (ClientError, DeployError):
            pass

    def _template_argument(self, body: str, stack_name: str) -> dict:
        if len(body) <= MAX_TEMPLATE_BODY:
            return {"TemplateBody": body}
        key = f"templates/{stack_name}-{int(time.time() * 1000)}.json"
        self.s3.put_object(Bucket=self.artifact_bucket, Key=key, Body=body.encode())
        return {"TemplateURL": f"{self.sandbox.endpoint}/{self.artifact_bucket}/{key}"}

    def _outputs(self, stack: dict) -> dict[str, str]:
        return {o["OutputKey"]: local_urls(str(o["OutputValue"]), self.sandbox.endpoint)
                for o in stack.get("Outputs", []) or []}

    def _event_ids(self, stack_name: str) -> set[str]:
        try:
            return {e["EventId"] for e in self.watch.describe_stack_events(StackName=stack_name)["StackEvents"]}
        except ClientError:
            return set()

    def _wait(self, stack_name, seen, on_event, timeout) -> tuple[dict | None, list[StackEvent]]:
        deadline = time.monotonic() + timeout
        events: list[StackEvent] = []

        def drain() -> None:
            try:
                raw = self.watch.describe_stack_events(StackName=stack_name)["StackEvents"]
            except ClientError:
                raw = []
            for e in reversed(raw):  # oldest first
                if e["EventId"] in seen:
                    continue
                seen.add(e["EventId"])
                ev = StackEvent(e["Timestamp"].timestamp(), e["LogicalResourceId"], e.get("ResourceType", ""),
                                e["ResourceStatus"], e.get("ResourceStatusReason") or "")
                events.append(ev)
                if on_event:
                    on_event(ev)

        while True:
            drain()
            stack = self.stack(stack_name)
            if stack is None or not stack["StackStatus"].endswith("_IN_PROGRESS"):
                drain()  # the events written while the stack reached its final status
                return stack, events
            if time.monotonic() > deadline:
                raise DeployError(f"stack {stack_name} did not finish within {timeout:.0f}s "
                                  f"(status {stack['StackStatus']})")
            time.sleep(0.1)

    def _settled(self, stack_name: str, on_event, timeout: float) -> tuple[dict | None, bool]:
        """(the stack once no operation runs on it, or None if there is none; whether it is stuck). A deploy
        interrupted by Ctrl-C goes on in LocalStack: an UpdateStack sent meanwhile ran beside the create (AWS refuses
        it), and a DeleteStack was undone when the create finished - the stack came back after `destroy`, its
        resources with it. A stack in REVIEW_IN_PROGRESS (a change set never executed) runs nothing; one whose
        operation writes no event for STUCK_AFTER seconds never ends (a template LocalStack refused after
        registering the stack, a crash): stuck."""
        st = self.stack(stack_name)
        if st is None or not st["StackStatus"].endswith("_IN_PROGRESS") or st["StackStatus"] == "REVIEW_IN_PROGRESS":
            return st, False
        status = st["StackStatus"]
        if on_event:
            on_event(StackEvent(time.time(), stack_name, "AWS::CloudFormation::Stack", status,
                                "an earlier operation on this stack is still running (an interrupted deploy?): "
                                "waiting for it to finish"))
        deadline = time.monotonic() + timeout
        seen, quiet_since = self._event_ids(stack_name), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            st = self.stack(stack_name)
            if st is None or not st["StackStatus"].endswith("_IN_PROGRESS"):
                return st, False
            now_seen = self._event_ids(stack_name)
            if now_seen - seen:
                seen, quiet_since = now_seen, time.monotonic()
            elif time.monotonic() - quiet_since > STUCK_AFTER:
                return st, True
        return st, True

    def _delete_and_wait(self, stack_name: str, timeout: float) -> None:
        """Deletes the stack, retrying a DELETE_FAILED.

        LocalStack 2026.3.0 (cloudformation/resource_provider.py, "Remove") fails to delete a resource whose create
        had failed (e.g. the DynamoDB table provider reads a TableName that was never set), and a delete issued
        while the engine is still rolling back fails the same way. A second attempt, then one that retains the
        resources that never existed, gets the rest of the stack deleted.
        """
        deadline = time.monotonic() + timeout
        retain: list[str] = []
        for attempt in range(3):
            kwargs = {"StackName": stack_name}
            if retain:
                kwargs["RetainResources"] = retain
            self.cfn.delete_stack(**kwargs)
            while time.monotonic() < deadline:
                st = self.stack(stack_name)
                if st is None or st["StackStatus"] == "DELETE_COMPLETE":
                    return
                if st["StackStatus"] == "DELETE_FAILED":
                    break
                time.sleep(0.1)
            else:
                raise DeployError(f"stack {stack_name} was not deleted within {timeout:.0f}s")
            if attempt >= 1:
                resources = self.watch.describe_stack_resources(StackName=stack_name)["StackResources"]
                retain = [r["LogicalResourceId"] for r in resources
                          if r["ResourceStatus"] in ("CREATE_FAILED", "DELETE_FAILED")]
            time.sleep(0.3)
        st = self.stack(stack_name) or {}
        raise DeployError(f"deleting stack {stack_name} failed: {st.get('StackStatusReason') or st.get('StackStatus')}")
