"""`/_sandbox/*` routes served by the LocalStack gateway: identity of the backend and fast state reset."""

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localstack.http import Request, Response, route
from localstack.services.edge import ROUTER
from localstack.services.plugins import SERVICE_PLUGINS
from localstack.state import StateVisitor

from sandbox.localstack_ext import loopback_guard
from sandbox.security.engine.gateway import refusals

LOG = logging.getLogger(__name__)
STARTED = time.time()


class ResetVisitor(StateVisitor):
    """Empties every store a service exposes: LocalStack stores, moto backends, asset directories."""

    def visit(self, state_container):
        from localstack.services.stores import AccountRegionBundle
        from localstack.state.core import AssetDirectory
        from moto.core.base_backend import BackendDict

        if isinstance(state_container, AccountRegionBundle):
            state_container.reset()
        elif isinstance(state_container, BackendDict):
            state_container.reset()
        elif isinstance(state_container, AssetDirectory):
            if state_container.service_name == "cloudwatch":
                # CloudWatch's on_before_state_reset already emptied its SQLite tables. Deleting the file as well
                # races with metric writers (SQS/Lambda publishers): a write between the delete and the provider's
                # re-init creates an empty file without tables, and every later PutMetricData fails with
                # "no such table" (localstack/services/cloudwatch/provider_v2.py + cloudwatch_database_helper.py).
                return
            import shutil

            shutil.rmtree(state_container.path, ignore_errors=True)


@dataclass(frozen=True)
class ResetHook:
    """What LocalStack's own state reset leaves behind, put right: `before` runs on each service's lifecycle hook
    before the stores are emptied, `after` once they all are. Each hook's docstring names the LocalStack module
    and behaviour it fixes. A hook that lets go of things returns how many; the reset reports them (`freed`)."""

    name: str
    before: Callable[[Any], int | None] | None = None
    after: Callable[[], int | None] | None = None


RESET_HOOKS: list[ResetHook] = []


def reset_hook(name: str, when: str = "after"):
    """Registers the decorated function as a reset hook (`when`: "before" gets each service's lifecycle hook)."""

    def register(fn):
        RESET_HOOKS.append(ResetHook(name, before=fn if when == "before" else None,
                                     after=fn if when == "after" else None))
        return fn

    return register


@reset_hook("cloudwatch alarm timers", when="before")
def _empty_alarm_scheduler(provider) -> None:
    """localstack/services/cloudwatch/alarm_scheduler.py: on a state reset `AlarmScheduler.shutdown()` closes its
    `Scheduler` with a poison pill but keeps the queue of alarm timers, and `start()` runs that same Scheduler
    again, so every alarm scheduled before the reset keeps being evaluated after it (a warning a minute for an
    alarm that no longer exists). A new, empty Scheduler between the two ends them."""
    alarms = getattr(provider, "alarm_scheduler", None)
    if alarms is not None:
        from localstack.utils.scheduler import Scheduler

        alarms.scheduler = Scheduler()


def _running_provider(service: str):
    """The provider of a running service, or None."""
    if not SERVICE_PLUGINS.is_running(service):
        return None
    return SERVICE_PLUGINS.get_service(service).lifecycle_hook


@reset_hook("s3 object bodies")
def _let_go_of_s3_object_bodies() -> int | None:
    """localstack/services/s3/provider.py: a state reset empties the S3 stores but never the storage backend
    (`EphemeralS3ObjectStore` in storage/ephemeral.py), so every object body - a SpooledTemporaryFile each, an open
    temporary file on disk past 512 KB, the deleted functions' code archives too - stayed held for the life of the
    process: 2,002 files more after each reset of 1,000 media-pipeline uploads (bench/memory.py).
    After the stores are emptied, the backend gets a new, empty table of bodies; the old bodies are not closed here
    but dropped, so a PutObject or a GetObject still streaming across the reset finishes with the file it holds, and
    each file closes (and frees its disk space) when its last holder lets go. Swapping, not iterating, the live
    table: a request in flight may add to it meanwhile."""
    from collections import defaultdict

    from localstack.services.s3.storage.ephemeral import EphemeralS3ObjectStore

    storage = getattr(_running_provider("s3"), "_storage_backend", None)
    if not isinstance(storage, EphemeralS3ObjectStore):
        return None
    old, storage._filesystem = storage._filesystem, defaultdict(lambda: {"keys": {}, "multiparts": {}})
    return sum(len(bucket["keys"]) + len(bucket["multiparts"]) for bucket in list(old.values()))


@reset_hook("s3 object locks")
def _drop_s3_object_locks() -> int | None:
    """localstack/services/s3/provider.py: `S3Provider._preconditions_locks` gets an RLock per bucket and key written
    (for conditional writes) and loses one only when its object is deleted, so a reset kept them all: 2,006 more
    after each reset of 1,000 media-pipeline uploads (bench/memory.py, a gc census). Swapped for an empty table
    once the stores are empty, as the bodies are."""
    from collections import defaultdict
    from threading import RLock

    provider = _running_provider("s3")
    locks = getattr(provider, "_preconditions_locks", None)
    if locks is None:
        return None
    provider._preconditions_locks = defaultdict(lambda: defaultdict(RLock))
    return sum(len(keys) for keys in list(locks.values()))


@reset_hook("internal clients")
def _drop_internal_clients() -> int:
    """localstack/aws/connect.py: `ClientFactory._get_client` keeps up to 256 boto3 clients (lru_cache), keyed by
    credentials and the identity of a `Config`. Every event source mapping makes a new one (a new Config and its
    function's assumed-role credentials) and so does each function's log shipping, so each deploy added clients
    (their service models and 262 methods per 1,000-upload run of media-pipeline, bench/memory.py) that a reset
    kept. Emptied here; a client is made again on its next use."""
    from localstack.aws.connect import ClientFactory

    held = ClientFactory._get_client.cache_info().currsize
    ClientFactory._get_client.cache_clear()
    return held


@reset_hook("lambda environments of deleted functions")
def _stop_environments_left_by_deletions() -> int:
    """localstack/services/lambda_/invocation/lambda_service.py: DeleteFunction takes the version out of
    `LambdaService`'s tables and only queues its stop on the service's thread pool (`stop_version`). A reset's
    `LambdaService.stop()` stops the versions still in those tables, then shuts the pool down with
    `cancel_futures=True`: a deleted function whose stop was still queued (six deletions in a row fill a 2-core
    machine's six threads) kept its environment - a warm process that nothing stopped until `sandbox down`.
    After Lambda's reset no function exists, so every environment not stopped yet is stopped here."""
    from sandbox.lambda_process import executor

    return executor.stop_all()


@reset_hook("moto backends behind no provider")
def _reset_moto_backends() -> None:
    """moto backends not reachable through a provider's state visitor (sts, and iam behind LocalStack's own)."""
    from moto.core.base_backend import BackendDict

    BackendDict.reset()


@reset_hook("sent mail")
def _forget_sent_mail() -> None:
    """localstack/services/ses/provider.py keeps the /_aws/ses record of sent mail in module state, outside any
    store: a reset sandbox would still list the mail of before."""
    from localstack.services.ses import provider as ses_provider

    ses_provider.EMAILS.clear()


@reset_hook("REST authorizer results")
def _forget_authorizer_results() -> None:
    """The sandbox's REST API Lambda authorizers (sandbox/rest_authorizers) cache results, outside any store."""
    from sandbox.rest_authorizers.engine import handler

    handler.reset()


@reset_hook("schedule timers")
def _forget_schedule_timers() -> None:
    """The sandbox's schedule engine (sandbox/schedules/engine) keeps a plan per schedule, a clock offset and
    deliveries retrying in the background, outside any store: forgotten, reset and cancelled."""
    from sandbox.schedules import engine as schedules_engine

    schedules_engine.reset()


@reset_hook("recorder links")
def _forget_recorder_links() -> None:
    """The recorder's indexes from span, message and stream-event ids to their causes (bounded, but large)."""
    from sandbox.observability import recorder

    rec = recorder.get()
    if rec is not None:
        rec.forget_links()


@reset_hook("state frozen with start-up")
def _refreeze_start_up_objects() -> int:
    """sandbox/localstack_ext/gc_tuning.py froze everything alive at the end of the warm-up, a state loaded by
    `up --persist` included: the first reset after it collects the cycles that state left, and freezes again. The
    last of the after-hooks (each service's `on_after_state_reset` still follows), so what the others let go of is
    collected too. Counts what the collection found unreachable."""
    from sandbox.localstack_ext import gc_tuning

    return gc_tuning.refreeze_after_reset()


def reset_all_services(freed: dict[str, int]) -> list[str]:
    """Every running service back to empty, Lambda first so no environment or poller outlives its function.
    What the reset hooks let go of is added to `freed` (hook name -> how many, when any)."""
    names = [n for n in SERVICE_PLUGINS.list_loaded_services() if SERVICE_PLUGINS.is_running(n)]
    names.sort(key=lambda n: n != "lambda")
    services = [SERVICE_PLUGINS.get_service(n) for n in names]

    def count(hook: ResetHook, n: int | None) -> None:
        if n:
            freed[hook.name] = freed.get(hook.name, 0) + n

    for service in services:
        service.lifecycle_hook.on_before_state_reset()
        for hook in RESET_HOOKS:
            if hook.before is not None:
                count(hook, hook.before(service.lifecycle_hook))
    for service in services:
        service.accept_state_visitor(ResetVisitor())
    for hook in RESET_HOOKS:
        if hook.after is not None:
            count(hook, hook.after())
    for service in services:
        service.lifecycle_hook.on_after_state_reset()
    return names


def lambda_confinement() -> dict:
    """What the running environments' supervisors could apply (sandbox/lambda_process/environment/supervisor.py)."""
    from sandbox.lambda_process.executor import state_dir
    from sandbox.lambda_process.environment.layout import CONFINEMENT_FILE

    import json

    reports = []
    for path in (state_dir() / "lambda" / "envs").glob(f"*/{CONFINEMENT_FILE}"):
        try:
            reports.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    applied = sorted({a for r in reports for a in r.get("applied", [])})
    problems = sorted({p for r in reports for p in r.get("problems", [])})
    return {"environments": len(reports), "applied": applied, "problems": problems}


class SandboxApi:
    @route("/_sandbox/info", methods=["GET"])
    def info(self, request: Request) -> Response:
        from sandbox.lambda_process.executor import process_registry
        from sandbox.localstack_ext import persistence

        if persistence.LOADING.is_set():  # `up --persist`: not ready before the saved state is back
            return Response.for_json({"sandbox": True, "loading": "saved state"}, status=503)
        return Response.for_json(
            {
                "sandbox": True,
                "pid": os.getpid(),
                "state_dir": os.environ.get("SANDBOX_STATE_DIR"),
                "started": STARTED,
                "lambda_processes": [r.pid for r in process_registry().alive() if r.kind == "lambda"],
                "blocked_connections": loopback_guard.blocked(),
                "refused_requests": refusals(),
                "lambda_confinement": lambda_confinement(),
            }
        )

    @route("/_sandbox/census", methods=["GET"])
    def census(self, request: Request) -> Response:
        """LocalStack's CPU per operation, thread and collection (sandbox/localstack_ext/request_census.py), when
        started to count it."""
        from sandbox.localstack_ext import request_census

        if not request_census.enabled():
            return Response.for_json({"error": "this sandbox does not count CPU per operation: start it with "
                                               "SANDBOX_REQUEST_CENSUS=1 (or =handlers: per handler of the chain "
                                               "too)"}, status=404)
        return Response.for_json({"operations": request_census.snapshot()})

    @route("/_sandbox/inventory", methods=["GET"])
    def inventory(self, request: Request) -> Response:
        """What the user made (counts), what `down` will do with it, and what the last `up --persist` loaded."""
        from sandbox.localstack_ext import persistence

        return Response.for_json({"inventory": persistence.inventory(), "persist": persistence.enabled(),
                                  "loaded": persistence.LOAD_REPORT or None})

    @route("/_sandbox/reset", methods=["POST"])
    def reset(self, request: Request) -> Response:
        started = time.perf_counter()
        from sandbox.faults import engine as faults_engine

        from sandbox.localstack_ext import metric_batches

        faults_engine.reset()  # faults are state too: a reset sandbox is a healthy one
        freed: dict[str, int] = {}  # both attempts' count
        with metric_batches.paused():
            try:
                services = reset_all_services(freed)
            except Exception as e:  # noqa: BLE001 - e.g. a late CloudWatch writer racing the SQLite reset
                LOG.warning("State reset failed once (%s); retrying", e)
                time.sleep(0.2)
                services = reset_all_services(freed)
        return Response.for_json({"reset": services, "freed": freed,
                                  "seconds": round(time.perf_counter() - started, 3)})


def install() -> None:
    ROUTER.add(SandboxApi())
