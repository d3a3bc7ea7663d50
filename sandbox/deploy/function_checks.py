"""What a template's Lambda functions ask of the machine, checked before anything is created.

* A public layer the sandbox cannot serve (another account's, not Powertools) is refused by name: LocalStack
  would fail the function deep inside the stack with an AccessDenied that names no function.
* A runtime whose interpreter the machine lacks (python3.14 without a Python 3.14) still deploys, on the nearest
  interpreter, and the deploy says so once: which function runs on what.
* A LoggingConfig.LogGroup deploys too, and the deploy says the logs still go to /aws/lambda/<function name>.

Runs on the host, on the template as written (before packaging and building): SAM's Globals are merged here.
"""

from __future__ import annotations

import dataclasses

from sandbox import node_sdk
from sandbox.deploy.intrinsics import literal
from sandbox.lambda_process import interpreters, public_layers


def _node_powertools() -> bool:
    return (node_sdk.NODE_POWERTOOLS_DIR / "node_modules").is_dir()


FUNCTION_TYPES = ("AWS::Lambda::Function", "AWS::Serverless::Function")


def functions(template: dict) -> list[tuple[str, dict]]:
    """(name, properties) of each function: its FunctionName when literal, else its logical id. A SAM
    function's Runtime comes from Globals when it has none, and its Layers are the Globals' then its own."""
    out = []
    globals_ = ((template.get("Globals") or {}).get("Function") or {}) if isinstance(template.get("Globals"), dict) \
        else {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict) or resource.get("Type") not in FUNCTION_TYPES:
            continue
        props = dict(resource.get("Properties") or {})
        if resource["Type"] == "AWS::Serverless::Function" and isinstance(globals_, dict):
            props.setdefault("Runtime", globals_.get("Runtime"))
            props.setdefault("LoggingConfig", globals_.get("LoggingConfig"))
            shared = globals_.get("Layers") if isinstance(globals_.get("Layers"), list) else []
            own = props.get("Layers") if isinstance(props.get("Layers"), list) else []
            props["Layers"] = shared + own
        name = props.get("FunctionName") if isinstance(props.get("FunctionName"), str) else logical_id
        out.append((name, props))
    return out


def check(template: dict, region: str, parameters: dict[str, str] | None = None) -> list[str]:
    """Raises DeployError naming every public layer the sandbox cannot serve; returns the interpreter notes."""
    from sandbox.deploy.deployer import DeployError

    refused = refused_layers(template, region, parameters)
    if refused:
        raise DeployError(" ".join(refused))
    return interpreter_notes(template) + logging_notes(template)


def refused_layers(template: dict, region: str, parameters: dict[str, str] | None = None,
                   account: str = public_layers.SANDBOX_ACCOUNT) -> list[str]:
    """One message per function and public layer the sandbox cannot serve."""
    values = {"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws",
              "AWS::URLSuffix": "amazonaws.com"}
    for name, spec in (template.get("Parameters") or {}).items():
        if isinstance(spec, dict) and "Default" in spec:
            values[name] = str(spec["Default"])
    values.update({k: str(v) for k, v in (parameters or {}).items()})
    problems = []
    for function, props in functions(template):
        layers = props.get("Layers")
        for raw in layers if isinstance(layers, list) else ():
            layer = public_layers.classify(literal(raw, values) or "", account)
            if layer is not None and layer.bundle == public_layers.POWERTOOLS_TYPESCRIPT and not _node_powertools():
                layer = dataclasses.replace(layer, bundle=None, reason=(
                    "its bundled copy is not installed: run `npm ci --prefix "
                    f"{node_sdk.NODE_POWERTOOLS_DIR}` (`sandbox up` does when node and npm exist)"))
            if layer is not None and not layer.servable:
                problems.append(public_layers.refusal(function, layer))
    return problems


def interpreter_notes(template: dict) -> list[str]:
    """One line per runtime the machine has no matching interpreter for, naming the functions that use it."""
    by_runtime: dict[str, list[str]] = {}
    for function, props in functions(template):
        runtime = props.get("Runtime")
        if isinstance(runtime, str):
            by_runtime.setdefault(runtime, []).append(function)
    notes = []
    for runtime, names in sorted(by_runtime.items()):
        interpreter = interpreters.resolve(runtime)
        if interpreter is not None and not interpreter.exact:
            notes.append(f"{interpreter.describe()}; it runs {', '.join(sorted(names))}. Install "
                         f"{interpreter.language} {interpreters.wanted_version(runtime)} to run "
                         f"{'them' if len(names) > 1 else 'it'} on the version AWS uses.")
    return notes


def logging_notes(template: dict) -> list[str]:
    """One line naming the functions whose LoggingConfig.LogGroup is not applied (LocalStack 2026.3.0 ships every
    function's logs to /aws/lambda/<name>, where the sandbox's logs, TUI and DLQ views read them)."""
    names = sorted(function for function, props in functions(template)
                   if isinstance(props.get("LoggingConfig"), dict) and props["LoggingConfig"].get("LogGroup"))
    if not names:
        return []
    return [f"LoggingConfig.LogGroup is not applied: the logs of {', '.join(names)} go to /aws/lambda/<function name> "
            f"(LogFormat and the log levels are)."]
