"""What a function sees (#12, 6 and 7): the packages AWS's runtime ships, its own code and its layers - not the
sandbox's virtualenv; Powertools from AWS's public layer ARN; and the interpreter of its runtime's version, or a
word at deploy time saying which one runs it instead."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.deploy import DeployError
from sandbox.lambda_process import interpreters, public_layers, runtimes

APP = Path(__file__).resolve().parents[1] / "apps" / "python-isolation"
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
NOT_ON_AWS = ("requests", "click", "textual", "yaml", "localstack", "sandbox", "aws_lambda_powertools",
              "typing_extensions", "certifi")
POWERTOOLS = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:18"


def _invoke(sb, name: str, event: dict | None = None) -> dict:
    resp = sb.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event or {}), LogType="Tail")
    body = json.loads(resp["Payload"].read())
    assert "FunctionError" not in resp, body
    return body


@pytest.fixture(scope="module")
def app(sandbox):
    sandbox.reset()
    result = sandbox.deploy(str(APP), stack_name="python-isolation")
    yield result
    sandbox.reset()


def test_a_function_imports_what_aws_ships_and_nothing_of_the_sandbox(sandbox, app):
    probe = _invoke(sandbox, app.outputs["ProbeFunctionName"])
    imports = probe["imports"]
    assert all(imports[name] is True for name in RUNTIME_PACKAGES), imports
    for name in NOT_ON_AWS:
        assert imports[name] == f"ModuleNotFoundError: No module named '{name}'", (name, imports[name])
    assert not [p for p in probe["sys_path"] if "site-packages" in p and "python-runtime" not in p
                and "/opt" not in p], probe["sys_path"]


def test_a_warm_environment_forgets_what_the_fork_server_preloaded(sandbox, app):
    """The fork server preloads Powertools (for functions with its layer): one without the layer must not get it,
    on the first invocation or later ones, and `import boto3` must give the preloaded copy."""
    name = app.outputs["ProbeFunctionName"]
    for _ in range(2):
        imports = _invoke(sandbox, name, {"modules": ["aws_lambda_powertools", "boto3", "requests"]})["imports"]
        assert imports["aws_lambda_powertools"] != True and imports["requests"] != True  # noqa: E712
        assert imports["boto3"] is True


def test_powertools_comes_from_its_public_layer_arn(sandbox, app):
    lam = sandbox.client("lambda")
    name = app.outputs["OrdersFunctionName"]
    config = lam.get_function_configuration(FunctionName=name)
    assert [layer["Arn"] for layer in config["Layers"]] == [POWERTOOLS], "the function keeps AWS's ARN"
    resp = lam.invoke(FunctionName=name, LogType="Tail",
                      Payload=json.dumps({"order_id": "o-1", "items": [{"price": 5, "quantity": 3}, {"price": 2}]}))
    assert json.loads(resp["Payload"].read()) == {"order_id": "o-1", "total": 17}
    import base64

    lines = [json.loads(line) for line in base64.b64decode(resp["LogResult"]).decode().splitlines()
             if line.startswith("{")]
    accepted = [line for line in lines if line.get("message") == "order accepted"]
    assert accepted and accepted[0]["service"] == "orders" and accepted[0]["total"] == 17, lines
    assert accepted[0]["function_name"] == name and accepted[0]["cold_start"] is True


@pytest.mark.skipif(runtimes.bundled_layer_root(public_layers.POWERTOOLS_TYPESCRIPT) is None,
                    reason="Powertools for TypeScript is not installed (npm ci --prefix "
                           "sandbox/lambda_process/environment/node_powertools/nodejs)")
def test_powertools_for_typescript_comes_from_its_public_layer_arn(sandbox, app):
    import base64

    resp = sandbox.client("lambda").invoke(FunctionName=app.outputs["NodeOrdersFunctionName"], LogType="Tail",
                                           Payload=json.dumps({"order_id": "o-2"}))
    assert json.loads(resp["Payload"].read()) == {"order_id": "o-2"}
    lines = [json.loads(line[line.index("{"):]) for line in base64.b64decode(resp["LogResult"]).decode().splitlines()
             if "order accepted" in line]
    assert lines and lines[0]["service"] == "orders" and lines[0]["orderId"] == "o-2", lines


def test_each_runtime_runs_on_its_interpreter_or_the_deploy_says_which(sandbox, app):
    for output, runtime in (("LegacyProbeFunctionName", "python3.11"), ("NextProbeFunctionName", "python3.14"),
                            ("ProbeFunctionName", "python3.13")):
        expected = interpreters.resolve(runtime)
        probe = _invoke(sandbox, app.outputs[output], {"modules": ["boto3"]})
        assert probe["python"].rsplit(".", 1)[0] == expected.version, (runtime, probe["python"], expected)
        assert probe["imports"]["boto3"] is True
        said = [w for w in app.warnings if w.startswith(f"{runtime} runs on")]
        assert len(said) == (0 if expected.exact else 1), app.warnings
    node = interpreters.resolve("nodejs24.x")
    edge = _invoke(sandbox, app.outputs["EdgeFunctionName"])
    assert edge["node"] == f"v{node.version}"
    assert edge["imports"]["@aws-sdk/client-s3"] is True and edge["imports"]["express"] == "ERR_MODULE_NOT_FOUND"
    assert edge["imports"]["@aws-lambda-powertools/logger"] == "ERR_MODULE_NOT_FOUND", "Powertools needs its layer"
    if not node.exact:
        [note] = [w for w in app.warnings if w.startswith("nodejs24.x runs on")]
        assert "EdgeFunction" in note and "no Node.js 24" in note


def _cli(sandbox, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "sandbox"), "--state-dir",
                           str(sandbox.settings.state_dir), *args], capture_output=True, text=True, timeout=300)


def test_status_shows_which_interpreter_runs_each_runtime(sandbox):
    by_runtime = {r["runtime"]: r for r in sandbox.status()["lambda_runtimes"]}
    assert by_runtime["python3.13"]["exact"] and by_runtime["python3.13"]["version"] == "3.13"
    assert by_runtime["python3.14"]["exact"] == (interpreters.resolve("python3.14").exact)
    out = _cli(sandbox, "status").stdout
    [line] = [line for line in out.splitlines() if line.startswith("lambda runtimes: ")]
    python314 = interpreters.resolve("python3.14")
    assert f"python3.14 -> {python314.version}{'' if python314.exact else ' (nearest)'}" in line, line


def test_the_cli_deploy_says_once_which_interpreter_runs_a_runtime_it_lacks(sandbox, app):
    done = _cli(sandbox, "deploy", str(APP), "--stack-name", "python-isolation")
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    lacking = [r for r in ("nodejs24.x", "python3.14") if not interpreters.resolve(r).exact]
    assert [w.split()[1] for w in warnings] == lacking, done.stderr


def test_an_unknown_public_layer_is_refused_by_name_before_anything_is_created(sb):
    with pytest.raises(DeployError) as refused:
        sb.deploy(str(APP / "unknown-layer.yaml"), stack_name="unknown-layer")
    message = str(refused.value)
    assert "FetchFunction" in message and "arn:aws:lambda:us-east-1:770693421928:layer:Klayers-p313-requests:4" in message
    assert "cannot serve" in message
    assert "unknown-layer" not in [s["StackName"] for s in sb.client("cloudformation").describe_stacks()["Stacks"]]


def test_a_layer_of_the_sandbox_account_still_works_and_the_api_refuses_unknown_public_ones(sb, helpers):
    """Without a template: CreateFunction with the Powertools ARN works, another account's layer is refused with
    AWS's AccessDenied (LocalStack's check, answered by our layer fetcher)."""
    code = "from aws_lambda_powertools import Logger\ndef handler(event, context):\n    return Logger().service\n"
    name = helpers.create_function(sb, code, Layers=[POWERTOOLS])
    body, _ = helpers.invoke(sb, name)
    assert body == "service_undefined"
    with pytest.raises(sb.client("lambda").exceptions.ClientError) as denied:
        helpers.create_function(sb, code, Layers=["arn:aws:lambda:us-east-1:123456789012:layer:private-tools:3"])
    assert "AccessDenied" in str(denied.value)
