"""The sandbox's Python API: the one way the CLI, scenarios and the TUI reach the backend.

    from sandbox import Sandbox
    sb = Sandbox()            # embedded backend in ./.sandbox, or SANDBOX_ENDPOINT if set
    sb.up()
    sb.client("lambda").list_functions()
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit
from functools import cached_property

import requests
import requests.auth

from sandbox.clients import make_client
from sandbox.embedded import EmbeddedBackend, Instance
from sandbox.errors import SandboxError
from sandbox.safety import check_endpoint, is_loopback_host
from sandbox.security.policy import CONTROL_PATH_PREFIXES, TOKEN_HEADER
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

    @property
    def token(self) -> str:
        """The instance token (X-Sandbox-Token): the embedded instance's own, else SANDBOX_TOKEN/settings."""
        if self.settings.token:
            return self.settings.token
        inst = None if self.settings.external else self.embedded.instance()
        return inst.token if inst else ""

    @cached_property
    def http(self) -> requests.Session:
        """HTTP to the sandbox's own endpoints (/_sandbox, /_localstack): with the token, which the gateway
        requires of every request that changes state (see docs/security.md)."""
        session = requests.Session()
        session.trust_env = False  # loopback only: never through a proxy from the environment
        session.auth = _TokenAuth(self)
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
        inst = self.embedded.instance()
        before = self.inventory() if inst else None  # what is discarded (or saved), counted while it still runs
        rules = self.faults.rule_count() if before is not None else 0
        if rules:  # fault rules go too, and are never saved (`down` dropped them without a word)
            before = {**before, "fault rules": rules}
        began = time.time()
        stopped = self.embedded.down()
        stopped["inventory"] = before
        stopped["persist"] = bool(inst and inst.persist)
        saved = self.embedded.saved_state() if stopped["persist"] else None
        # a save of this `down`, not one of before (LocalStack killed before it could save: that one is kept)
        stopped["saved"] = saved if saved and saved.get("saved_at", 0) >= began - 1 else None
        stopped["previous_save"] = saved if saved and not stopped["saved"] else None
        return stopped

    def inventory(self) -> dict | None:
        """Counts of what was made in the sandbox (stacks, functions, tables, items, queues, queued messages, buckets,
        objects, state machines, event rules), or None if it cannot tell."""
        try:
            resp = self.http.get(f"{self.endpoint}/_sandbox/inventory", timeout=10)
            return resp.json().get("inventory") if resp.ok else None
        except (requests.RequestException, ValueError):
            return None

    def is_running(self) -> bool:
        try:
            return self.http.get(f"{self.endpoint}/_localstack/health", timeout=2).ok
        except requests.RequestException:
            return False

    def not_running_message(self) -> str:
        """'No sandbox is running at <endpoint>: start it ...', naming the port this state dir's sandbox last ran on
        when it is another (a TUI left open after `down` said 4566 for a sandbox of port 4621)."""
        if self.settings.external:
            return f"No sandbox is running at {self.endpoint}: check that it is started."
        last = self.embedded.last_port()
        if last is not None and last != self.settings.port:
            return (f"No sandbox is running at {self.endpoint}; this state dir's sandbox last ran on port {last}: "
                    f"`sandbox up --port {last}` starts it there again.")
        return f"No sandbox is running at {self.endpoint}: start it with `sandbox up`."

    def kept_state_notice(self) -> str | None:
        """What to say when this sandbox was started without --persist beside a state a `--persist` one saved
        (`sandbox up` and the TUI say the same), else None."""
        saved = None if self.settings.external else self.embedded.saved_state()
        if not saved:
            return None
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(saved["saved_at"]))
        return (f"started empty; a saved state from {when} is kept in {self.settings.state_dir / 'persisted'}: "
                "`sandbox down` then `sandbox up --persist` loads it")

    def not_persisting_notice(self) -> str | None:
        """What to say when --persist was asked of a sandbox already running without it (`sandbox up` and
        `sandbox tui --persist` say the same), else None."""
        inst = None if self.settings.external or not self.settings.persist else self.embedded.instance()
        if inst is None or inst.persist:
            return None
        return ("warning: it was started without --persist: its state is discarded at `down`. "
                "`sandbox down` then `sandbox up --persist` to keep state from then on.")

    def require_running(self) -> None:
        if not self.is_running():
            raise SandboxError(self.not_running_message())

    def status(self) -> dict:
        inst = None if self.settings.external else self.embedded.instance()
        out = {
            "running": False,
            "backend": self.backend,
            "endpoint": self.endpoint,
            "pid": inst.pid if inst else None,
            "services": {},
            "state_dir": None if self.settings.external else str(self.settings.state_dir),
            "persist": bool(inst and inst.persist),  # started with `up --persist`: `down` saves the state
        }
        try:
            health = self.http.get(f"{self.endpoint}/_localstack/health", timeout=2).json()
        except (requests.RequestException, ValueError):
            return out
        out.update(running=True, services=health.get("services", {}), version=health.get("version"))
        info = self.info()
        if info and not self.settings.external and info.get("state_dir") and \
                Path(info["state_dir"]).resolve() != Path(self.settings.state_dir).resolve():
            # another sandbox answers on this port: say whose, so `down` here is not mistaken for stopping it
            out["running"] = False
            out["other_state_dir"] = info["state_dir"]
            return out
        if info:
            out["lambda_processes"] = info.get("lambda_processes", [])
            out["blocked_connections"] = info.get("blocked_connections", [])
            out["refused_requests"] = info.get("refused_requests", {})
            out["lambda_confinement"] = info.get("lambda_confinement", {})
            out["uptime_seconds"] = round(time.time() - info.get("started", time.time()), 1)
        if inst:
            out["knobs"] = inst.knobs
            out["listen"] = inst.listen
            out["allowed_origins"] = inst.allowed_origins
            # which interpreter runs each Lambda runtime here (the process executor runs on this machine)
            from sandbox.lambda_process import interpreters

            out["lambda_runtimes"] = [i.as_dict() for i in interpreters.mapping()]
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
               region: str | None = None, on_event=None, keep_previous: bool = False):
        """Deploys a SAM/CloudFormation template or a built-in pattern; returns a DeployResult. `keep_previous`: the
        stack's parameters not given keep their value (as `sam deploy`), instead of taking their default."""
        from pathlib import Path

        from sandbox.deploy import Deployer, resolve_template

        self.require_running()
        template, pattern = resolve_template(path_or_pattern)
        name = stack_name or (pattern.default_stack_name if pattern else _stack_name_for(Path(template)))
        return Deployer(self, region).deploy(template, name, parameters, on_event=on_event, keep_previous=keep_previous)

    def deploy_patterns(self, names: list[str] | None = None, on_progress=None, parameters=None):
        """Deploys built-in patterns (all by default), independent ones in parallel: (results, seconds)."""
        from sandbox.deploy.bulk import deploy_patterns

        self.require_running()
        return deploy_patterns(self, names, on_progress=on_progress, parameters=parameters)

    def deploy_with_dependencies(self, pattern: str, on_progress) -> list:
        """A built-in pattern and what it needs that is not deployed yet (sandbox.deploy.bulk)."""
        from sandbox.deploy.bulk import deploy_with_dependencies

        self.require_running()
        return deploy_with_dependencies(self, pattern, on_progress)

    def stack_resources(self, stack: str) -> list[dict]:
        """The resources of a deployed stack (an observer read)."""
        from sandbox.deploy.resources import stack_resources

        return stack_resources(self, stack)

    def gauges(self, resources: list[dict]) -> dict[str, dict]:
        """Queue depths and running executions of a stack's resources (an observer read)."""
        from sandbox.deploy.resources import gauges

        return gauges(self, resources)

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

    def destroy(self, stack_name: str, region: str | None = None, on_event=None) -> bool:
        """Deletes a stack; False if there was none. `on_event` hears of a wait for an operation still running on it."""
        from sandbox.deploy import Deployer

        return Deployer(self, region).destroy(stack_name, on_event=on_event)

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
                             observer=observer, credentials=self.credentials(), **kwargs)
        if key:
            self._clients[key] = client
        return client

    @cached_property
    def schedules(self):
        """Schedules and scheduled rules: list, fire one now, advance their clock (`sandbox.schedules.Schedules`)."""
        from sandbox.schedules import Schedules

        return Schedules(self)

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

    def credentials(self) -> dict[str, str]:
        """AWS credentials for this sandbox: the dummy `test`/`test` on loopback; for a sandbox reached over the
        network (`--allow-remote`), the key derived from its token, which its gateway checks signatures against."""
        from sandbox.safety import DUMMY_CREDENTIALS, is_loopback_host
        from sandbox.security.sigv4 import remote_key_id
        from urllib.parse import urlsplit

        token = self.settings.token
        if token and not is_loopback_host(urlsplit(self.endpoint).hostname):
            return {"aws_access_key_id": remote_key_id(token), "aws_secret_access_key": token}
        return dict(DUMMY_CREDENTIALS)

    def aws_env(self, remote_host: str | None = None) -> dict[str, str]:
        """Environment for AWS CLIs (`awslocal`, `aws --endpoint-url`) pointed at this sandbox.

        `remote_host`: for a client on another machine (a sandbox started with --allow-remote): the address to
        reach this one by, and the signing key derived from the token instead of the dummy credentials."""
        endpoint = self.endpoint
        creds = self.credentials()
        if remote_host:
            from sandbox.security.sigv4 import remote_key_id

            token = self.token
            if not token:
                raise SandboxError("no token: `sandbox env --remote` needs a sandbox started here with --allow-remote")
            endpoint = f"http://{remote_host}:{endpoint.rsplit(':', 1)[1]}"
            creds = {"aws_access_key_id": remote_key_id(token), "aws_secret_access_key": token}
        out = {
            "AWS_ENDPOINT_URL": endpoint,
            "LOCALSTACK_HOST": endpoint.split("://", 1)[1],
            "AWS_ACCESS_KEY_ID": creds["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": creds["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": self.settings.region,
        }
        out["AWS_CONFIG_FILE"] = str(self._aws_cli_config())  # the endpoint for every service of AWS CLI v1
        out["DISABLE_DEPRECATION_NOTICE"] = "1"  # awslocal's 15-line banner on every call
        # no `sync-` (StartSyncExecution) host prefix before 127.0.0.1, which resolves nowhere
        out["AWS_DISABLE_HOST_PREFIX_INJECTION"] = "true"
        if self.token:
            out["SANDBOX_TOKEN"] = self.token  # for curl to /_sandbox/* and /_localstack/*: -H "X-Sandbox-Token: ..."
        if remote_host:
            out["SANDBOX_ENDPOINT"] = endpoint
        return out

    def _aws_cli_config(self):
        """An AWS CLI config for this sandbox: its plugin section loads sandbox.awscli_plugin (see there)."""
        from pathlib import Path

        folder = Path(self.settings.state_dir) / "aws"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "config"
        text = (f"[default]\nregion = {self.settings.region}\n\n[plugins]\n"
                "sandbox_endpoint = sandbox.awscli_plugin\n")  # the bundled AWS CLI (v1) imports it from the venv
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        return path

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


class _TokenAuth(requests.auth.AuthBase):
    """Adds the current instance token (a restarted sandbox has a new one) to the requests that need it: those to
    the sandbox's own endpoints, and every request to a remote sandbox (it authenticates them all). Not to an app's
    API on loopback: API Gateway hands every header to the function, which then held the token (a review found it in
    fat-lambda's events)."""

    def __init__(self, sb: Sandbox):
        self.sb = sb

    def __call__(self, request):
        token = self.sb.token
        if not token:
            return request
        url = urlsplit(request.url)
        if url.path.startswith(CONTROL_PATH_PREFIXES) or url.path == "/_localstack" or \
                not is_loopback_host(url.hostname):
            request.headers[TOKEN_HEADER] = token
        return request


def _stack_name_for(template) -> str:
    """A stack name from the template's folder (what `sam deploy --guided` would suggest)."""
    import re

    base = template.parent.name if template.stem == "template" else template.stem
    name = re.sub(r"[^A-Za-z0-9-]+", "-", base).strip("-") or "stack"
    return name if name[0].isalpha() else f"s-{name}"


def in_words(counts: dict[str, int]) -> str:
    """'3 stacks, 2 tables, 1 queued message' from an inventory's counts (plural names; singular where it is one)."""
    return ", ".join(f"{n} {name if n != 1 else name.removesuffix('s')}" for name, n in counts.items() if n)
