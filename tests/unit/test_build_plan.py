"""The build step's planning (sandbox/deploy/build.py): what `sam build` would build, what is refused, the esbuild
command line, the cache keys, and the names of packages an installer could not fetch. No installer runs here."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.deploy.build import (
    Build,
    BuildError,
    Builder,
    artifact_key,
    deps_key,
    esbuild_args,
    plan,
    python_platform,
    resolve_entry_points,
    tree_digest,
    unfetchable_packages,
)
from sandbox.deploy.templates import apply_packaging_globals, parse


def app(tmp_path: Path, files: dict[str, str], template: str) -> dict:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return apply_packaging_globals(parse(template))


FUNCTIONS = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Py: {Type: String, Default: python3.12}
Globals:
  Function:
    Runtime: python3.13
    CodeUri: py/
Resources:
  WithRequirements:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.h, Architectures: [arm64]}
  FromParameter:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.h, Runtime: !Ref Py}
  NoRequirements:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.h, CodeUri: plain/}
  Node:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.h, CodeUri: node/, Runtime: nodejs20.x}
  NodeWithoutPackageJson:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.h, CodeUri: plain/, Runtime: nodejs22.x}
  Inline:
    Type: AWS::Serverless::Function
    Properties: {Handler: index.h, InlineCode: "def h(e, c): pass"}
  FromS3:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.h, CodeUri: s3://bucket/code.zip}
  Layer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layer/, CompatibleArchitectures: [arm64]}
    Metadata: {BuildMethod: python3.12}
  PlainLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layer/}
  Bucket:
    Type: AWS::S3::Bucket
"""


def test_plan_builds_what_sam_build_would(tmp_path):
    template = app(tmp_path, {"py/requirements.txt": "tabulate\n", "py/app.py": "", "plain/app.py": "",
                              "node/package.json": "{}", "layer/requirements.txt": "pyjokes\n"}, FUNCTIONS)
    builds = {b.logical_id: b for b in plan(template, tmp_path)}
    assert set(builds) == {"WithRequirements", "FromParameter", "Node", "Layer"}
    assert (builds["WithRequirements"].method, builds["WithRequirements"].runtime,
            builds["WithRequirements"].architecture) == ("python", "python3.13", "arm64")
    assert builds["WithRequirements"].source == (tmp_path / "py").resolve()
    assert builds["FromParameter"].runtime == "python3.12"
    assert plan(template, tmp_path, {"Py": "python3.11"})[1].runtime == "python3.11"
    assert (builds["Node"].method, builds["Node"].prop) == ("npm", "CodeUri")
    layer = builds["Layer"]
    assert (layer.layer, layer.prop, layer.runtime, layer.architecture) == (True, "ContentUri", "python3.12", "arm64")


@pytest.mark.parametrize("resource, expected", [
    ("Type: AWS::Serverless::Function\n    Properties: {Handler: a.h, Runtime: python3.13, CodeUri: src/}\n"
     "    Metadata: {BuildMethod: makefile}", "Fn (AWS::Serverless::Function) has Metadata BuildMethod: makefile"),
    ("Type: AWS::Serverless::LayerVersion\n    Properties: {ContentUri: src/}\n    Metadata: {BuildMethod: makefile}",
     "point ContentUri at the output"),
    ("Type: AWS::Serverless::Function\n    Properties: {Handler: a.h, Runtime: provided.al2023, CodeUri: src/}\n"
     "    Metadata: {BuildMethod: rust-cargolambda}", "BuildMethod rust-cargolambda is not supported"),
    ("Type: AWS::Serverless::Function\n    Properties: {Handler: a.h, Runtime: nodejs20.x, CodeUri: src/}\n"
     "    Metadata: {BuildMethod: esbuild}", "needs Metadata.BuildProperties.EntryPoints"),
    ("Type: AWS::Serverless::Function\n    Properties: {Handler: a.h, Runtime: nodejs20.x, CodeUri: src/}\n"
     "    Metadata: {BuildMethod: esbuild, BuildProperties: {EntryPoints: [a.ts], Minfy: true}}",
     "unknown esbuild BuildProperties Minfy. Supported: Minify"),
    ("Type: AWS::Serverless::Function\n    Properties: {Handler: a.h, Runtime: nodejs20.x, CodeUri: src/}\n"
     "    Metadata: {BuildMethod: esbuild, BuildProperties: {EntryPoints: [a.ts], External: '@aws-sdk/*'}}",
     "External must be a list"),
    ("Type: AWS::Serverless::Function\n    Properties: {Handler: a.h, Runtime: python3.13, CodeUri: src/}\n"
     "    Metadata: {BuildMethod: esbuild, BuildProperties: {EntryPoints: [a.ts]}}",
     "esbuild bundles Node.js functions; Runtime python3.13 cannot"),
    ("Type: AWS::Serverless::Function\n    Properties: {Handler: a.h, Runtime: python3.13, CodeUri: s3://b/k.zip}\n"
     "    Metadata: {BuildMethod: python3.13}", "needs CodeUri to be a local folder"),
])
def test_what_is_refused_is_explained(tmp_path, resource, expected):
    template = app(tmp_path, {"src/a.py": ""}, f"Resources:\n  Fn:\n    {resource}\n")
    with pytest.raises(BuildError) as info:
        plan(template, tmp_path)
    assert expected in str(info.value)
    assert "Fn" in str(info.value)


def test_esbuild_args_follow_sam_build(tmp_path):
    out = tmp_path / "out"
    assert esbuild_args({"EntryPoints": ["app.ts"]}, out) == [
        "--bundle", "--platform=node", f"--outdir={out}", "--log-level=warning", "--target=es2020", "--format=cjs",
        "--minify"]
    args = esbuild_args({"EntryPoints": ["app.ts"], "Minify": False, "Sourcemap": True, "Target": "node20",
                         "Format": "esm", "OutExtension": [".js=.mjs"], "External": ["@aws-sdk/*", "pg-native"],
                         "MainFields": ["module", "main"], "Loader": [".png=file"]}, out)
    assert "--minify" not in args and "--sourcemap" in args
    assert {"--target=node20", "--format=esm", "--out-extension:.js=.mjs", "--external:@aws-sdk/*",
            "--external:pg-native", "--main-fields=module,main", "--loader:.png=file"} <= set(args)


def test_entry_points_without_an_extension_are_found_as_sam_finds_them(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.ts").write_text("")
    (tmp_path / "other.js").write_text("")
    assert resolve_entry_points(tmp_path, ["src/app", "other", "src/app.ts"], "Fn") == [
        "src/app.ts", "other.js", "src/app.ts"]
    with pytest.raises(BuildError, match="Fn: esbuild entry point missing"):
        resolve_entry_points(tmp_path, ["missing"], "Fn")


def test_python_platform_is_what_lambda_runs():
    assert python_platform("python3.13", "x86_64") == "x86_64-manylinux_2_34"
    assert python_platform("python3.12", "arm64") == "aarch64-manylinux_2_34"
    assert python_platform("python3.11", "x86_64") == "x86_64-manylinux2014"


def test_cache_keys_change_with_what_the_build_depends_on(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "requirements.txt").write_text("tabulate\n")
    (src / "app.py").write_text("x = 1\n")
    build = Build("Fn", "AWS::Serverless::Function", "CodeUri", "python", "python3.13", "x86_64", src)
    deps, source = deps_key(build), tree_digest(src)
    # what is never part of a build does not change the source's hash
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "app.cpython-313.pyc").write_bytes(b"\0")
    (src / "node_modules").mkdir()
    (src / "node_modules" / "x.js").write_text("")
    assert tree_digest(src) == source
    # a source change keeps the installed dependencies, changes the artifact
    (src / "app.py").write_text("x = 2\n")
    assert deps_key(build) == deps and tree_digest(src) != source
    assert artifact_key(build, deps, tree_digest(src)) != artifact_key(build, deps, source)
    # the runtime, the architecture and the manifest each change the dependencies
    assert deps_key(Build("Fn", "t", "CodeUri", "python", "python3.12", "x86_64", src)) != deps
    assert deps_key(Build("Fn", "t", "CodeUri", "python", "python3.13", "arm64", src)) != deps
    (src / "requirements.txt").write_text("tabulate==0.9.0\n")
    assert deps_key(build) != deps


UV_NOT_FOUND = """error: No solution found when resolving dependencies
  cause: Because sandbox-no-such-package was not found in the package
         registry and you require sandbox-no-such-package, we can conclude that your requirements are unsatisfiable."""
UV_OFFLINE = """error: Request failed after 3 retries in 8.4s
  cause: Failed to fetch: http://127.0.0.1:9/simple/tabulate/
  cause: tcp connect error"""
NPM_NOT_FOUND = """npm error code E404
npm error 404 Not Found - GET https://registry.npmjs.org/@sandbox%2fno-such-package - Not found
npm error 404  The requested resource '@sandbox/no-such-package@^1.0.0' could not be found"""
NPM_OFFLINE = "npm error FetchError: request to http://127.0.0.1:9/dayjs failed, reason: connect ECONNREFUSED"


@pytest.mark.parametrize("tool, output, names", [
    ("uv", UV_NOT_FOUND, ["sandbox-no-such-package"]),
    ("uv", UV_OFFLINE, ["tabulate"]),
    ("npm", NPM_NOT_FOUND, ["@sandbox/no-such-package"]),
    ("npm", NPM_OFFLINE, ["dayjs"]),
    ("npm", "npm error code ERESOLVE\nnpm error ERESOLVE unable to resolve dependency tree", []),
])
def test_the_package_that_could_not_be_fetched_is_named(tool, output, names):
    assert unfetchable_packages(tool, output) == names


def test_nothing_to_build_leaves_the_template_alone(tmp_path):
    template = app(tmp_path, {"src/app.py": ""}, "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                   "    Properties: {Handler: app.h, Runtime: python3.13, CodeUri: src/}\n")
    out, records = Builder(tmp_path / "build").build_template(template, tmp_path)
    assert out is template and records == []
    assert not (tmp_path / "build").exists()


def test_unused_builds_are_pruned(tmp_path):
    import os
    import time

    from sandbox.deploy.build import prune
    old, fresh, broken = (tmp_path / "artifacts" / "old"), (tmp_path / "deps" / "fresh"), \
        (tmp_path / "artifacts" / "abc.tmp-1-2")
    for folder in (old, fresh, broken):
        folder.mkdir(parents=True)
    os.utime(old, (time.time() - 30 * 86400,) * 2)
    os.utime(broken, (time.time() - 2 * 3600,) * 2)
    prune(tmp_path)
    assert not old.exists() and not broken.exists() and fresh.exists()


def test_compiled_extensions_for_another_python_are_flagged(tmp_path, monkeypatch):
    from sandbox.deploy import build as build_module
    monkeypatch.setattr(build_module, "interpreter_version", lambda runtime: "3.13")
    monkeypatch.setattr(build_module.platform, "machine", lambda: "x86_64")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "ext.cpython-312-x86_64-linux-gnu.so").write_bytes(b"")
    older = Build("Fn", "t", "CodeUri", "python", "python3.12", "x86_64", tmp_path)
    assert "runs it on Python 3.13 (x86_64)" in build_module._compiled_warning(older, tmp_path)
    assert "Runtime: python3.13" in build_module._compiled_warning(older, tmp_path)
    arm = Build("Fn", "t", "CodeUri", "python", "python3.13", "arm64", tmp_path)
    assert "Architectures: [x86_64]" in build_module._compiled_warning(arm, tmp_path)
    same = Build("Fn", "t", "CodeUri", "python", "python3.13", "x86_64", tmp_path)
    assert build_module._compiled_warning(same, tmp_path) == ""
    (tmp_path / "pkg" / "ext.cpython-312-x86_64-linux-gnu.so").unlink()
    assert build_module._compiled_warning(older, tmp_path) == ""  # pure Python runs anywhere


def test_uv_is_the_first_candidate_that_runs_not_a_pyenv_shim_that_fails(tmp_path, monkeypatch):
    """`pip install uv` under pyenv puts a shim on PATH that works only where pyenv selects that Python: a deploy
    from the app's own folder failed with "pyenv: uv: command not found"."""
    import os

    from sandbox.deploy import build

    shims, real = tmp_path / "shims", tmp_path / "home" / ".local" / "bin"
    shims.mkdir()
    real.mkdir(parents=True)
    (shims / "uv").write_text("#!/bin/sh\necho 'pyenv: uv: command not found' >&2\nexit 127\n")
    (real / "uv").write_text("#!/bin/sh\necho uv 0.9.0\n")
    for script in (shims / "uv", real / "uv"):
        script.chmod(0o755)
    monkeypatch.delenv("UV", raising=False)
    monkeypatch.setenv("PATH", f"{shims}{os.pathsep}/usr/bin{os.pathsep}/bin")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(build, "_found_uv", [])
    assert build._uv() == str(real / "uv")
    # a pyenv shim that works here is still passed over (it may not in the function's folder); newest Python first
    (shims / "uv").write_text("#!/bin/sh\necho uv 0.9.0\n")
    (real / "uv").unlink()
    for version in ("3.9.18", "3.12.1", "3.13.0"):
        folder = tmp_path / "home" / ".pyenv" / "versions" / version / "bin"
        folder.mkdir(parents=True)
        (folder / "uv").write_text("#!/bin/sh\necho uv 0.9.0\n")
        (folder / "uv").chmod(0o755)
    monkeypatch.setattr(build, "_found_uv", [])
    assert build._uv() == str(tmp_path / "home" / ".pyenv" / "versions" / "3.13.0" / "bin" / "uv")
