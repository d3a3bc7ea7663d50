"""SAM apps written the way public examples are (tests/apps/), deployed unchanged: each works end to end, or is
refused before anything is created with a message that says what and why - never a silent half-success."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.deploy import DeployError

APPS = Path(__file__).resolve().parents[1] / "apps"


def test_globals_code_uri_and_unquoted_dates_deploy_and_run(sb):
    """#12, 1 and 2: `Version: 2012-10-17` unquoted (a YAML date) in an inline policy, and functions whose code
    location comes from Globals (they used to get the whole folder zipped, handler not found)."""
    result = sb.deploy(str(APPS / "globals-and-dates"))
    lam = sb.client("lambda")
    put, get = result.outputs["PutNoteFunction"], result.outputs["GetNoteFunction"]
    stored = json.loads(lam.invoke(FunctionName=put, Payload=json.dumps({"id": "n1", "text": "hi"}))["Payload"].read())
    assert stored == {"stored": "n1"}
    note = json.loads(lam.invoke(FunctionName=get, Payload=json.dumps({"id": "n1"}))["Payload"].read())
    assert note == {"id": "n1", "text": "hi"}
    config = lam.get_function_configuration(FunctionName=put)
    assert config["Runtime"] == "python3.13" and config["Timeout"] == 10 and config["MemorySize"] == 256
    assert config["CodeSize"] < 2000, "only src/ was packaged, not the whole app folder"


def test_an_http_api_is_refused_before_anything_is_created(sb):
    """#12, 8: what SAM expands to is checked too (an HttpApi event becomes AWS::ApiGatewayV2::* resources, which
    LocalStack's community edition reported CREATE_COMPLETE without creating)."""
    with pytest.raises(DeployError) as info:
        sb.deploy(str(APPS / "http-api"), stack_name="http-api")
    message = str(info.value)
    assert "AWS::ApiGatewayV2::Api" in message and "ServerlessHttpApi" in message, message
    assert "use a REST API" in message
    assert sb.stacks() == [] and sb.client("lambda").list_functions()["Functions"] == []


def test_an_invalid_sam_template_is_explained(sb, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
        "    Properties:\n      CodeUri: src/\n      Handler: app.handler\n      Runtime: python3.13\n"
        "      Events:\n        Tick:\n          Type: Sometimes\n")
    with pytest.raises(DeployError, match="not valid SAM: .*Fn.*Tick.*Sometimes"):
        sb.deploy(str(tmp_path / "template.yaml"), stack_name="bad-sam")
    assert sb.stacks() == []
