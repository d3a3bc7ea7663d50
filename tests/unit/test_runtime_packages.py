"""What a function sees, the pure parts: public layer ARNs, the deploy-time checks of a template's functions, the
choice of interpreter, the runtime site, and what a forked environment forgets of its fork server's imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.deploy import DeployError, function_checks
from sandbox.lambda_process import interpreters, public_layers, runtime_site

ENVIRONMENT = Path(__file__).resolve().parents[2] / "sandbox" / "lambda_process" / "environment"


@pytest.mark.parametrize("arn, bundle", [
    ("arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:18", "powertools-python"),
    ("arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python39-arm64:3", "powertools-python"),
    ("arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV2:79", "powertools-python"),
    ("arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV2-Arm64:79", "powertools-python"),
    ("arn:aws:lambda:ap-south-1:094274105915:layer:AWSLambdaPowertoolsTypeScriptV2:40", "powertools-typescript"),
    ("arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPython:45", None),  # v1
    ("arn:aws:lambda:us-east-1:094274105915:layer:AWSLambdaPowertoolsTypeScript:31", None),  # v1
    ("arn:aws:lambda:us-east-1:770693421928:layer:Klayers-p313-requests:4", None),
    ("arn:aws:lambda:us-east-1:999999999999:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:18", None),
])
def test_public_layers_are_served_only_from_bundled_copies(arn, bundle):
    layer = public_layers.classify(arn)
    assert layer is not None and layer.bundle == bundle
    assert layer.servable == (bundle is not None)
    if bundle is None:
        assert layer.reason and arn in public_layers.refusal("Fn", layer)


def test_the_sandbox_accounts_own_layers_and_non_arns_are_not_public():
    assert public_layers.classify("arn:aws:lambda:us-east-1:000000000000:layer:mine:1") is None
    assert public_layers.classify("not-an-arn") is None
    assert public_layers.classify({"Ref": "MyLayer"}) is None


def _template(function_props: dict, globals_: dict | None = None) -> dict:
    template = {"Transform": "AWS::Serverless-2016-10-31", "Resources": {
        "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "app.handler", **function_props}},
        "Own": {"Type": "AWS::Serverless::LayerVersion", "Properties": {"ContentUri": "layer/"}},
    }}
    if globals_:
        template["Globals"] = {"Function": globals_}
    return template


def test_deploy_refuses_a_public_layer_by_function_and_arn_from_globals_and_sub():
    template = _template({"Runtime": "python3.13", "Layers": [{"Ref": "Own"}]},
                         {"Layers": [{"Fn::Sub": "arn:aws:lambda:${AWS::Region}:770693421928:layer:Klayers-p313-requests:4"}]})
    with pytest.raises(DeployError) as refused:
        function_checks.check(template, "eu-central-1")
    assert "function Fn" in str(refused.value)
    assert "arn:aws:lambda:eu-central-1:770693421928:layer:Klayers-p313-requests:4" in str(refused.value)


def test_a_public_layer_given_as_a_parameter_is_refused_too():
    """The layer checks once read Fn::Sub only: a Ref to a parameter holding a public layer's ARN went unseen (and
    LocalStack failed the function deep in the stack)."""
    template = _template({"Runtime": "python3.13", "Layers": [{"Ref": "RequestsLayer"}]})
    template["Parameters"] = {"RequestsLayer": {
        "Type": "String", "Default": "arn:aws:lambda:us-east-1:770693421928:layer:Klayers-p313-requests:4"}}
    assert function_checks.refused_layers(template, "us-east-1")
    assert "Klayers-p313-requests:9" in " ".join(function_checks.refused_layers(
        template, "us-east-1", {"RequestsLayer": "arn:aws:lambda:us-east-1:770693421928:layer:Klayers-p313-requests:9"}))


def test_deploy_accepts_powertools_and_own_layers():
    template = _template({"Runtime": "python3.13", "Layers": [
        {"Fn::Sub": ["arn:aws:lambda:${AWS::Region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-${Py}-x86_64:18",
                     {"Py": "python313"}]}, {"Ref": "Own"},
        "arn:aws:lambda:us-east-1:000000000000:layer:mine:1"]})
    assert function_checks.refused_layers(template, "us-east-1") == []


def test_deploy_notes_each_runtime_without_its_interpreter_once(monkeypatch):
    monkeypatch.setattr(interpreters, "pythons", lambda: {12: "/usr/bin/python3.12", 13: "/opt/py/bin/python3.13"})
    template = {"Globals": {"Function": {"Runtime": "python3.14"}}, "Resources": {
        "A": {"Type": "AWS::Serverless::Function", "Properties": {}},
        "B": {"Type": "AWS::Serverless::Function", "Properties": {"FunctionName": "named-b"}},
        "C": {"Type": "AWS::Lambda::Function", "Properties": {"Runtime": "python3.12"}}}}
    assert function_checks.interpreter_notes(template) == [
        "python3.14 runs on Python 3.13 (/opt/py/bin/python3.13): this machine has no Python 3.14; it runs A, "
        "named-b. Install Python 3.14 to run them on the version AWS uses."]


def test_deploy_notes_a_log_group_it_does_not_apply_from_globals_or_the_function():
    template = {"Globals": {"Function": {"LoggingConfig": {"LogFormat": "JSON", "LogGroup": "/shared/app"}}},
                "Resources": {
                    "Api": {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": "python3.13"}},
                    "Own": {"Type": "AWS::Lambda::Function", "Properties": {"LoggingConfig": {"LogGroup": "/own"}}},
                    "Plain": {"Type": "AWS::Lambda::Function", "Properties": {"LoggingConfig": {"LogFormat": "JSON"}}}}}
    [note] = function_checks.logging_notes(template)
    assert "the logs of Api, Own go to /aws/lambda/<function name>" in note and "Plain" not in note
    assert function_checks.logging_notes({"Resources": {"Plain": template["Resources"]["Plain"]}}) == []
    assert note in function_checks.check(template, "us-east-1")


def test_the_matching_interpreter_wins_else_the_nearest(monkeypatch):
    monkeypatch.setattr(interpreters, "pythons", lambda: {10: "/p310", 13: "/p313"})
    monkeypatch.setattr(interpreters, "nodes", lambda: {20: ("/n20", "20.1.0"), 24: ("/n24", "24.0.1")})
    assert interpreters.resolve("python3.10") == interpreters.Interpreter("python3.10", "/p310", "3.10", True)
    assert interpreters.resolve("python3.14").path == "/p313"
    assert interpreters.resolve("python3.11").path == "/p310"  # as close as 3.13: the older
    assert interpreters.resolve("python3.12").path == "/p313"
    assert interpreters.resolve("nodejs22.x") == interpreters.Interpreter("nodejs22.x", "/n20", "20.1.0", False)
    assert interpreters.resolve("nodejs24.x").exact
    assert interpreters.resolve("java21") is None


def test_the_machines_interpreters_are_found_and_run():
    own = interpreters.pythons()[sys.version_info[1]]
    assert own == sys.executable  # the sandbox's own interpreter first: its fork server is warm
    for minor, path in interpreters.pythons().items():
        assert os.access(path, os.X_OK) and path.endswith(f"python3.{minor}") or path == sys.executable


def test_the_runtime_site_holds_what_aws_ships_and_nothing_else(tmp_path):
    site = runtime_site.runtime_site(tmp_path)
    names = {p.name for p in site.iterdir()}
    assert {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3"} <= names
    assert not {"requests", "click", "aws_lambda_powertools", "typing_extensions.py", "certifi"} & names
    assert (site / "boto3").resolve() == Path(__import__("boto3").__file__).parent.resolve()
    layer = runtime_site.powertools_python_layer(tmp_path)
    assert (layer / "python" / "aws_lambda_powertools").is_dir() and (layer / "python" / "typing_extensions.py").exists()
    assert runtime_site.runtime_site(tmp_path) == site  # built once


def _runtime_process(tmp_path: Path, code_files: dict[str, str], modules: tuple[str, ...]) -> dict:
    """A child that preloads as the fork server does, then forgets what a function with `code_files` and the
    runtime site could not import; it reports what is left importable."""
    task = tmp_path / "task"
    task.mkdir()
    for name, text in code_files.items():
        (task / name).write_text(text)
    site = runtime_site.runtime_site(tmp_path / "packages")
    powertools = runtime_site.powertools_python_layer(tmp_path / "packages")
    script = f"""
import json, sys
sys.path.insert(0, {str(ENVIRONMENT)!r})
import bootstrap, supervisor
sys.path[:] = [{str(ENVIRONMENT)!r}] + bootstrap.lambda_sys_path({{"SANDBOX_RUNTIME_SITE": {f"{site}:{powertools}/python"!r}}})
import boto3, aws_lambda_powertools, urllib3
preloaded = {{n.split(".")[0] for n in sys.modules}}
env = {{"SANDBOX_PYTHONPATH": {str(task)!r}, "SANDBOX_RUNTIME_SITE": {str(site)!r}}}
supervisor.forget_unreachable_modules(bootstrap.lambda_sys_path(env), [{str(task)!r}], preloaded)
sys.path[:] = bootstrap.lambda_sys_path(env)
out = {{}}
for name in {list(modules)!r}:
    try:
        out[name] = __import__(name).__file__
    except ImportError as e:
        out[name] = type(e).__name__
print(json.dumps(out))
"""
    done = subprocess.run([sys.executable, "-s", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_forked_environment_forgets_what_its_function_cannot_import(tmp_path):
    seen = _runtime_process(tmp_path, {"app.py": ""}, ("boto3", "urllib3", "aws_lambda_powertools", "requests"))
    assert seen["aws_lambda_powertools"] == "ModuleNotFoundError" and seen["requests"] == "ModuleNotFoundError"
    assert "python-runtime" in seen["boto3"] and "python-runtime" in seen["urllib3"]


def test_a_function_shipping_its_own_copy_gets_it_and_the_sdk_uses_it(tmp_path):
    seen = _runtime_process(tmp_path, {"urllib3.py": "PINNED = True\n", "json.py": "MINE = True\n"},
                            ("urllib3", "json", "botocore.httpsession"))
    assert seen["urllib3"].endswith("task/urllib3.py") and seen["json"].endswith("task/json.py")
    # botocore is imported afresh, so it gets the function's urllib3 (as on AWS): this one is too thin for it
    assert seen["botocore.httpsession"] == "ImportError"
