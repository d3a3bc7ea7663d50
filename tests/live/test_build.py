"""The build step of `sandbox deploy` (sandbox/deploy/build.py), on SAM apps written as `sam init` writes them
(tests/apps/): requirements.txt, package.json and esbuild are built as `sam build` builds them, each function's
response proves its dependency was used, a redeploy is served from the cache (the deploy's report says so), and
what cannot be built is refused, naming it, before anything is created."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from sandbox.deploy import DeployError

APPS = Path(__file__).resolve().parents[1] / "apps"


def get(url: str) -> dict:
    session = requests.Session()
    session.trust_env = False  # loopback only
    response = session.get(url, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def files_of(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*")}


def deploy(sb, path, **kwargs):
    """Deploys, keeping the progress lines the CLI would print."""
    events = []
    result = sb.deploy(str(path), on_event=events.append, **kwargs)
    return result, [e for e in events if e.status == "BUILD_COMPLETE"]


def deployed_template(sb, result) -> str:
    """The packaged template CloudFormation holds: the artifacts' S3 keys are the hashes of their zips."""
    return sb.client("cloudformation").get_template(StackName=result.stack_name)["TemplateBody"]


def test_python_requirements_and_a_layer_are_built_then_served_from_the_cache(sb):
    app = APPS / "python-requirements"
    before = files_of(app)
    result, lines = deploy(sb, app)
    builds = {b["logical_id"]: b for b in result.builds}
    assert set(builds) == {"HelloWorldFunction", "JokesLayer"}
    assert not any(b["cached"] for b in builds.values()), builds
    assert builds["HelloWorldFunction"]["ran"] == "uv pip install -r requirements.txt (3.13, x86_64-manylinux_2_34)"
    # one progress line per function/layer: runtime, what ran, time
    assert [e.logical_id for e in lines] == ["HelloWorldFunction", "JokesLayer"]
    assert lines[0].reason.startswith("python3.13: uv pip install") and lines[0].reason.endswith("s")

    body = get(result.outputs["HelloWorldApi"])
    assert body["table"].splitlines()[0].replace(" ", "") == "|runtime|installer|", body  # tabulate, from PyPI
    assert body["tabulate_version"] and body["joke"], body  # pyjokes, from the layer's requirements.txt
    assert files_of(app) == before, "the app's own folder was written to"

    packaged = deployed_template(sb, result)
    again, lines = deploy(sb, app)
    assert [b["cached"] for b in again.builds] == [True, True], again.builds
    assert all("cached" in e.reason for e in lines)
    assert deployed_template(sb, again) == packaged, "a cached build is the very same zip"


def test_a_source_change_reuses_the_installed_requirements(sb, tmp_path):
    app = tmp_path / "greeter"
    shutil.copytree(APPS / "python-requirements", app)
    first, _ = deploy(sb, app)
    assert get(first.outputs["HelloWorldApi"])["joke"]
    code = app / "hello_world" / "app.py"
    code.write_text(code.read_text().replace('"installer"', '"builder"'))
    second, _ = deploy(sb, app)
    function = next(b for b in second.builds if b["logical_id"] == "HelloWorldFunction")
    assert (function["cached"], function["deps_cached"]) == (False, True), function
    assert "dependencies from the cache" in function["ran"]
    assert "builder" in get(second.outputs["HelloWorldApi"])["table"]


def test_a_node_function_gets_its_package_json_dependencies(sb):
    result, lines = deploy(sb, APPS / "node-package")
    (build,) = result.builds
    assert build["ran"] == "npm install --omit=dev" and not build["cached"]
    assert lines[0].reason.startswith("nodejs20.x: npm install --omit=dev")
    artifact = Path(build["artifact"])
    assert (artifact / "node_modules" / "dayjs").is_dir()
    assert not (artifact / "node_modules" / "mocha").exists(), "devDependencies are not deployed"
    body = get(result.outputs["HelloWorldApi"])
    assert body == {"message": "hello world", "nextYear": "2025-02-28", "isDayjs": True}, body

    packaged = deployed_template(sb, result)
    again, _ = deploy(sb, APPS / "node-package")
    assert again.builds[0]["cached"] is True and deployed_template(sb, again) == packaged


def test_typescript_is_bundled_with_esbuild(sb):
    result, lines = deploy(sb, APPS / "typescript-esbuild")
    (build,) = result.builds
    assert "esbuild" in build["ran"] and "app.ts" in build["ran"]
    # bundled: the dependency is inside app.js, no node_modules, the source map asked for (Sourcemap: true)
    assert sorted(os.listdir(build["artifact"])) == ["app.js", "app.js.map"]
    body = get(result.outputs["HelloWorldApi"])
    assert body["message"] == "hello world" and body["uuidVersion"] == 4 and len(body["requestId"]) == 36, body
    # debug requires ms, its own dependency: bundled from a real node_modules (a symlink to the cache made esbuild
    # look for ms beside the cache's real path: "Could not resolve", as for any AWS SDK v3 client)
    assert body["humanized"] == "1m", body

    again, _ = deploy(sb, APPS / "typescript-esbuild")
    assert again.builds[0]["cached"] is True


def test_a_makefile_build_is_refused_with_what_to_do(sb, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (tmp_path / "src" / "Makefile").write_text("build-MakeFunction:\n\tcp *.py $(ARTIFACTS_DIR)\n")
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  MakeFunction:\n    Type: AWS::Serverless::Function\n"
        "    Properties:\n      CodeUri: src/\n      Handler: app.handler\n      Runtime: python3.13\n"
        "    Metadata:\n      BuildMethod: makefile\n")
    with pytest.raises(DeployError) as info:
        sb.deploy(str(tmp_path), stack_name="makefile-app")
    message = str(info.value)
    assert "MakeFunction" in message and "BuildMethod: makefile" in message
    assert "point CodeUri at the output" in message
    assert sb.stacks() == []


NOT_A_PACKAGE = "sandbox-test-no-such-package-4f1c"


@pytest.mark.parametrize("runtime, files", [
    ("python3.13", {"app.py": "def handler(e, c):\n    return 1\n", "requirements.txt": f"{NOT_A_PACKAGE}\n"}),
    ("nodejs20.x", {"app.js": "exports.handler = async () => 1;\n",
                    "package.json": json.dumps({"name": "x", "version": "1.0.0",
                                                "dependencies": {NOT_A_PACKAGE: "^1.0.0"}})}),
], ids=["pypi", "npm"])
def test_a_package_that_does_not_exist_is_refused_naming_it(sb, tmp_path, runtime, files):
    write_app(tmp_path, runtime, files)
    with pytest.raises(DeployError) as info:
        sb.deploy(str(tmp_path), stack_name="unknown-package")
    message = str(info.value)
    assert f"building BrokenFunction ({runtime}) failed" in message and f"could not fetch {NOT_A_PACKAGE}" in message
    assert sb.stacks() == [] and sb.client("lambda").list_functions()["Functions"] == []


def test_offline_the_package_that_cannot_be_fetched_is_named(sb, tmp_path, monkeypatch):
    """No network: the package index is a closed port on loopback (uv and npm read these variables)."""
    monkeypatch.setenv("UV_DEFAULT_INDEX", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")
    write_app(tmp_path, "python3.13", {"app.py": "import tabulate\n\ndef handler(e, c):\n    return 1\n",
                                       "requirements.txt": "tabulate  # offline\n"})
    with pytest.raises(DeployError, match=r"building BrokenFunction \(python3.13\) failed: uv could not fetch "
                                          r"tabulate from PyPI .*no network"):
        sb.deploy(str(tmp_path), stack_name="offline")
    assert sb.stacks() == []


def write_app(folder: Path, runtime: str, files: dict[str, str]) -> None:
    (folder / "src").mkdir()
    for name, text in files.items():
        (folder / "src" / name).write_text(text)
    (folder / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  BrokenFunction:\n    Type: AWS::Serverless::Function\n"
        f"    Properties:\n      CodeUri: src/\n      Handler: app.handler\n      Runtime: {runtime}\n")


def test_with_a_lockfile_npm_ci_installs_exactly_it(sb, tmp_path):
    app = tmp_path / "locked"
    shutil.copytree(APPS / "node-package", app)
    subprocess.run(["npm", "install", "--package-lock-only", "--no-audit", "--no-fund", "--loglevel=error"],
                   cwd=app / "hello-world", check=True, capture_output=True, timeout=300)
    locked = json.loads((app / "hello-world" / "package-lock.json").read_text())["packages"]["node_modules/dayjs"]
    result, _ = deploy(sb, app)
    (build,) = result.builds
    assert build["ran"] == "npm ci --omit=dev", build
    installed = json.loads((Path(build["artifact"]) / "node_modules" / "dayjs" / "package.json").read_text())
    assert installed["version"] == locked["version"]
    assert get(result.outputs["HelloWorldApi"])["nextYear"] == "2025-02-28"
