"""The sandbox's Python API: the one way the CLI, scenarios and the TUI reach the backend.

    from sandbox import Sandbox
    sb = Sandbox()            # embedded backend in ./.sandbox, or SANDBOX_ENDPOINT if set
    sb.up()
    sb.client("lambda").list_functions()
"""

from __future__ import annotations

import time
from functools import cached_property

import requests

from sandbox.clients import make_client
from sandbox.embedded import EmbeddedBackend, Instance, SandboxError
from sandbox.safety import check_endpoint
from sandbox.settings import Settings


class Sandbox:
    def __init__(self, settings: Settings | None = None, **overrides):
        self.settings = settings or Settings(**overrides)
        if self.settings.endpoint:
            self.settings.endpoint = check_endpoint(self.settings.endpoint, self.settings.allow_remote)
        self.embedded = EmbeddedBackend(self.settings)
        self._clients: dict[tuple[str, str, bool], object] = {}

    # --- where -----------------------------------------------------------------------------------------
    @property
    def backend(self) -> str:
        return "external" if self.settings.external else "embedded"

    @property
    def endpoint(self) -> str:
        if self.settings.external:
            return self.settings.endpoint
        inst = self.embedded.instance()
        return inst.endpoint if inst else f"http://127.0.0.1:{self.settings.port}"

    @cached_property
    def http(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # loopback only: never through a proxy from the environment
        return session

    # --- lifecycle -------------------------------------------------------------------------------------
    def up(self, timeout: float = 90.0, on_progress=None) -> tuple[Instance | None, float, bool]:
        if self.settings.external:
            self.require_running()
            return None, 0.0, False
        return self.embedded.up(timeout=timeout, on_progress=on_progress)

    def down(self) -> dict:
        if self.settings.external:
            raise SandboxError("The external backend is not managed by the sandbox: stop it where it was started "
                               "(e.g. `docker compose down`).")
        self._clients.clear()
        return self.embedded.down()

    def is_running(self) -> bool:
        try:
            return self.http.get(f"{self.endpoint}/_localstack/health", timeout=2).ok
        except requests.RequestException:
            return False

    def require_running(self) -> None:
        if not self.is_running():
            hint = "start it with `sandbox up`" if not self.settings.external else "check that it is started"
            raise SandboxError(f"No sandbox is running at {self.endpoint}: {hint}.")

    def status(self) -> dict:
        inst = None if self.settings.external else self.embedded.instance()
        out = {
            "running": False,
            "backend": self.backend,
            "endpoint": self.endpoint,
            "pid": inst.pid if inst else None,
            "services": {},
            "state_dir": None if self.settings.external else str(self.settings.state_dir),
        }
        try:
            health = self.http.get(f"{self.endpoint}/_localstack/health", timeout=2).json()
        except (requests.RequestException, ValueError):
            return out
        out.update(running=True, services=health.get("services", {}), version=health.get("version"))
        info = self.info()
        if info:
            out["lambda_processes"] = info.get("lambda_processes", [])
            out["blocked_connections"] = info.get("blocked_connections", [])
            out["uptime_seconds"] = round(time.time() - info.get("started", time.time()), 1)
        if inst:
            out["knobs"] = inst.knobs
        return out

    def info(self) -> dict | None:
        """`/_sandbox/info` of our LocalStack extensions, or None on a plain LocalStack."""
        try:
            resp = self.http.get(f"{self.endpoint}/_sandbox/info", timeout=5)
            return resp.json() if resp.ok else None
        except (requests.RequestException, ValueError):
            return None

    def reset(self) -> dict:
        """Every resource and every Lambda environment gone; the backend keeps running."""
        self.require_running()
        resp = self.http.post(f"{self.endpoint}/_sandbox/reset", timeout=120)
        if resp.status_code == 404:
            raise SandboxError("This backend has no sandbox extensions (a plain LocalStack): `reset` needs the "
                               "embedded backend. Restart the container instead.")
        resp.raise_for_status()
        return resp.json()

    # --- deployments -----------------------------------------------------------------------------------
    def deploy(self, path_or_pattern: str, stack_name: str | None = None, parameters: dict | None = None,
               region: str | None = None, on_event=None):
        """Deploys a SAM/CloudFormation template or a built-in pattern; returns a DeployResult."""
        from pathlib import Path

        from sandbox.deploy import Deployer, resolve_template

        self.require_running()
        template, pattern = resolve_template(path_or_pattern)
        name = stack_name or (pattern.default_stack_name if pattern else _stack_name_for(Path(template)))
        return Deployer(self, region).deploy(template, name, parameters, on_event=on_event)

    def deploy_patterns(self, names: list[str] | None = None, on_progress=None, parameters=None):
        """Deploys built-in patterns (all by default), independent ones in parallel: (results, seconds)."""
        from sandbox.deploy.bulk import deploy_patterns

        self.require_running()
        return deploy_patterns(self, names, on_progress=on_progress, parameters=parameters)

    def stacks(self, region: str | None = None) -> list[dict]:
        from sandbox.deploy import Deployer

        return Deployer(self, region, observer=True).list_stacks()

    def functions(self, region: str | None = None) -> list[str]:
        """Names of the Lambda functions of a region (default: the sandbox's), sorted. An observer read: the
        recorder files it as platform noise."""
        lam = self.client("lambda", region, observer=True)
        names = [fn["FunctionName"] for page in lam.get_paginator("list_functions").paginate()
                 for fn in page.get("Functions", [])]
        return sorted(names)

    def destroy(self, stack_name: str, region: str | None = None) -> bool:
        from sandbox.deploy import Deployer

        return Deployer(self, region).destroy(stack_name)

    # --- fault injection -------------------------------------------------------------------------------
    @cached_property
    def faults(self):
        """Fault injection: service faults, latency, Lambda faults and named templates (a `sandbox.faults.Faults`)."""
        from sandbox.faults import Faults

        return Faults(self)

    # --- AWS clients -----------------------------------------------------------------------------------
    def client(self, service: str, region: str | None = None, *, observer: bool = False, **kwargs):
        """A boto3 client for the sandbox (dummy credentials, sandbox endpoint, no host AWS config).

        `observer=True`: for the sandbox's own reads (DLQ listing, log following, stack listing): the recorder
        marks its requests as platform noise, so they stay out of the request flow and the cost estimate.
        """
        region = region or self.settings.region
        key = (service, region, observer) if not kwargs else None
        if key and key in self._clients:
            return self._clients[key]
        client = make_client(service, self.endpoint, region, allow_remote=self.settings.allow_remote,
                             observer=observer, **kwargs)
        if key:
            self._clients[key] = client
        return client

    @property
    def dlq(self):
        """Dead-letter queues of the default region: list, peek, redrive, purge (`sandbox.dlq.DeadLetterQueues`)."""
        from sandbox.dlq import DeadLetterQueues

        return DeadLetterQueues(self)

    @property
    def logs(self):
        """CloudWatch Logs of the Lambda functions, merged, searched and followed (`sandbox.logs.FunctionLogs`)."""
        from sandbox.logs import FunctionLogs

        return FunctionLogs(self)

    def aws_env(self) -> dict[str, str]:
        """Environment for AWS CLIs (`awslocal`, `aws --endpoint-url`) pointed at this sandbox."""
        host = self.endpoint.split("://", 1)[1]
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "LOCALSTACK_HOST": host,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": self.settings.region,
        }

    # --- observability: recorded requests, traces, service map, cost (sandbox/observability/client.py) -------
    @cached_property
    def observe(self):
        from sandbox.observability.client import ObservabilityClient

        return ObservabilityClient(self)

    def events(self, **filters) -> dict:
        return self.observe.events(**filters)

    def trace(self, trace_id: str, all: bool = False) -> dict:
        return self.observe.trace(trace_id, all=all)

    def graph(self, **filters) -> dict:
        return self.observe.graph(**filters)

    def cost(self, **window) -> dict:
        return self.observe.cost(**window)


def _stack_name_for(template) -> str:
    """A stack name from the template's folder (what `sam deploy --guided` would suggest)."""
    import re

    base = template.parent.name if template.stem == "template" else template.stem
    name = re.sub(r"[^A-Za-z0-9-]+", "-", base).strip("-") or "stack"
    return name if name[0].isalpha() else f"s-{name}"
