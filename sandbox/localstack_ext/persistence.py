"""`sandbox up --persist`: the state of every service survives `sandbox down` and comes back with the next
`up --persist` in the same state directory; and, with or without it, an inventory of what a `down` discards.

LocalStack's persistence (`PERSISTENCE=1`, `SNAPSHOT_SAVE_STRATEGY`/`SNAPSHOT_LOAD_STRATEGY`) is configured in
localstack-core 2026.3.0 (`localstack/config.py`) but carried out only by LocalStack Pro: the core has no plugin in the
`localstack.persistence.snapshot` namespace (`localstack/state/snapshot.py` is the interface only) and nothing that
saves on shutdown or loads on start. What the core *does* have, and what this module uses as Pro does:

- every provider's `accept_state_visitor` (`localstack/services/plugins.py` `Service.accept_state_visitor`), which
  hands a visitor the provider's state containers: LocalStack stores (`AccountRegionBundle`,
  `localstack/services/stores.py`), moto backends (`BackendDict`) and asset directories
  (`localstack/state/core.py`) - our moto DynamoDB provider (sandbox/dynamodb_moto) visits moto's dynamodb backends
  the same way;
- the state lifecycle hooks (`on_before_state_save`, `on_after_state_load`, ...): on load, Lambda's provider starts
  every function version again and restores its event source mappings (`localstack/services/lambda_/provider.py`);
- the pickler with LocalStack's reducers (`localstack/state/pickle.py`, dill).

What the core lacks, added here:
- save at shutdown (hook `on_infra_shutdown`, after our quiesce, before LocalStack stops its services) and load at
  start (hook `on_infra_ready`; `/_sandbox/info` answers 503 until it is done, so `sandbox up` returns with the state
  in place) - Pro's SNAPSHOT_SAVE_STRATEGY=ON_SHUTDOWN and SNAPSHOT_LOAD_STRATEGY=ON_STARTUP;
- S3 object bodies: the core's `EphemeralS3ObjectStore` (`localstack/services/s3/storage/ephemeral.py`) keeps them
  in anonymous temporary files, keyed by Python's per-process `hash()` of the key; Pro swaps in a store on disk.
  They are written out per (bucket, key, version) and put back under the new process's keys. Lambda's code archives
  live in S3 too (internal `awslambda-<region>-tasks` buckets), so functions come back with their code.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

LOG = logging.getLogger(__name__)

# Loaded first: what the others refer to (roles, code archives, queues and tables that mappings poll); Lambda after
# them (its on_after_state_load starts the mappings), CloudFormation last.
LOAD_ORDER = ("iam", "sts", "kms", "s3", "sqs", "sns", "dynamodb", "dynamodbstreams", "logs", "events", "scheduler",
              "stepfunctions", "secretsmanager", "ssm", "apigateway", "apigatewayv2", "lambda", "cloudformation")
LOADING = threading.Event()  # set while a saved state is being loaded: /_sandbox/info answers 503
LOAD_REPORT: dict = {}


def enabled() -> bool:
    return os.environ.get("SANDBOX_PERSIST") == "1" and bool(os.environ.get("SANDBOX_STATE_DIR"))


def folder() -> Path:
    return Path(os.environ["SANDBOX_STATE_DIR"]) / "persisted"


def _running_services() -> list[str]:
    from localstack.services.plugins import SERVICE_PLUGINS

    return [n for n in SERVICE_PLUGINS.list_loaded_services() if SERVICE_PLUGINS.is_running(n)]


# --- what a `down` discards (or keeps) --------------------------------------------------------------------------
def inventory() -> dict[str, int]:
    """Counts of what the user made, in every account and region; services that never started hold nothing."""
    running = set(_running_services())
    counts: dict[str, int] = {}

    def count(name: str, fn) -> None:
        try:
            counts[name] = fn()
        except Exception as e:  # noqa: BLE001 - a count is a courtesy; never fail `down` for it
            LOG.debug("could not count %s: %s", name, e)

    if "cloudformation" in running:
        def stacks():
            from localstack.services.cloudformation.models import cloudformation_stores

            n = 0
            for _, _, store in cloudformation_stores.iter_stores():
                for stack in (*store.stacks.values(), *getattr(store, "stacks_v2", {}).values()):
                    status = str(getattr(stack, "status", "") or getattr(stack, "stack_status", ""))
                    n += "DELETE_COMPLETE" not in status
            return n
        count("stacks", stacks)
    if "lambda" in running:
        def functions():
            from localstack.services.lambda_.invocation.models import lambda_stores

            return sum(len(store.functions) for _, _, store in lambda_stores.iter_stores())
        count("functions", functions)
    if "dynamodb" in running:
        def tables():
            from moto.dynamodb.models import dynamodb_backends

            return sum(len(backend.tables) for regions in dynamodb_backends.values() for backend in regions.values())

        def items():
            from moto.dynamodb.models import dynamodb_backends

            return sum(len(table) for regions in dynamodb_backends.values() for backend in regions.values()
                       for table in backend.tables.values())
        count("tables", tables)
        count("items", items)
    if "sqs" in running:
        def queues():
            from localstack.services.sqs.models import sqs_stores

            return sum(len(store.queues) for _, _, store in sqs_stores.iter_stores())

        def messages():
            from localstack.services.sqs.models import sqs_stores

            return sum(q.approximate_number_of_messages + q.approximate_number_of_messages_not_visible
                       + q.approximate_number_of_messages_delayed
                       for _, _, store in sqs_stores.iter_stores() for q in store.queues.values())
        count("queues", queues)
        count("queued messages", messages)
    if "s3" in running:
        def buckets():
            return len(_user_buckets())

        def objects():
            return sum(len(list(_objects(bucket))) for bucket in _user_buckets().values())
        count("buckets", buckets)
        count("objects", objects)
    if "stepfunctions" in running:
        def machines():
            from localstack.services.stepfunctions.backend.models import sfn_stores

            return sum(len(store.state_machines) for _, _, store in sfn_stores.iter_stores())
        count("state machines", machines)
    if "events" in running:
        def rules():
            from localstack.services.events.models import events_stores

            return sum(len(bus.rules) for _, _, store in events_stores.iter_stores()
                       for bus in store.event_buses.values())
        count("event rules", rules)
    return {k: v for k, v in counts.items() if v}


def _all_buckets() -> dict[tuple[str, str], object]:
    from localstack.services.s3.models import s3_stores

    found = {}
    for account, _, store in s3_stores.iter_stores():
        for name, bucket in store.buckets.items():  # a CrossRegionAttribute: the same dict in every region
            found[(account, name)] = bucket
    return found


def _user_buckets() -> dict[tuple[str, str], object]:
    """Not Lambda's code buckets (`awslambda-<region>-tasks`) nor `sandbox deploy`'s artifacts: the user never made
    those (they are saved all the same: functions need their code)."""
    from sandbox.observability.noise import ARTIFACT_BUCKET_PREFIX, LAMBDA_CODE_BUCKET

    def internal(name: str) -> bool:
        return name.startswith(ARTIFACT_BUCKET_PREFIX) or (name.startswith(LAMBDA_CODE_BUCKET[0])
                                                           and name.endswith(LAMBDA_CODE_BUCKET[1]))
    return {k: b for k, b in _all_buckets().items() if not internal(k[1])}


def _objects(bucket):
    """Every object version of a bucket (delete markers have no body)."""
    from localstack.services.s3.models import S3Object

    store = bucket.objects._store
    for entry in store.values():
        for obj in (entry.values() if isinstance(entry, dict) else (entry,)):
            if isinstance(obj, S3Object):
                yield obj


# --- save ----------------------------------------------------------------------------------------------------------
def _unlocked_locks() -> None:
    """dill saves a lock as it finds it - held, and an RLock with its owner thread - and a lock that comes back held
    by a thread of the saving process is never released: the first request that takes it hangs (seen: every S3 and
    Lambda request after a load, on the stores' RegionBundle lock). Registered with LocalStack's pickler
    (localstack/state/pickle.py `register`): every lock comes back new and free."""
    from localstack.state import pickle

    for cls, make in ((type(threading.Lock()), threading.Lock), (type(threading.RLock()), threading.RLock)):
        pickle.register(cls)(lambda pickler, obj, make=make: pickler.save_reduce(make, (), obj=obj))
    # A Condition comes back around its own (memoized, so still shared) lock, without the waiters of the saving
    # process: their locks would come back free, and notify() would release a lock nobody holds.
    pickle.register(threading.Condition)(
        lambda pickler, obj: pickler.save_reduce(threading.Condition, (obj._lock,), obj=obj))



def _container_file(container) -> str:
    from localstack.services.stores import AccountRegionBundle

    if isinstance(container, AccountRegionBundle):
        return f"stores-{container.service_name}-{container.store.__name__}.pickle"
    return f"moto-{container.service_name}.pickle"


class SaveVisitor:
    """Writes each state container of one service into `target` (a StateVisitor, localstack/state/core.py)."""

    def __init__(self, service: str, target: Path, provider):
        self.service, self.target, self.provider = service, target, provider

    def visit(self, container) -> None:
        from localstack.services.stores import AccountRegionBundle
        from localstack.state import pickle
        from localstack.state.core import AssetDirectory
        from moto.core.base_backend import BackendDict

        if isinstance(container, (AccountRegionBundle, BackendDict)):
            (self.target / _container_file(container)).write_bytes(pickle.dumps(container))
        elif isinstance(container, AssetDirectory):
            if self.service == "s3":
                _save_s3_bodies(self.provider, self.target / "s3-bodies")
            elif Path(container.path).is_dir():
                shutil.copytree(container.path, self.target / "assets" / Path(container.path).name,
                                dirs_exist_ok=True)


def _save_s3_bodies(provider, target: Path) -> None:
    backend = provider._storage_backend
    target.mkdir(parents=True, exist_ok=True)
    index = []
    for (_, name), bucket in _all_buckets().items():
        for obj in _objects(bucket):
            with backend.open(name, obj, mode="r") as stored:
                body = b"".join(stored)
            path = target / f"{len(index)}.bin"
            path.write_bytes(body)
            index.append({"bucket": name, "key": obj.key, "version_id": obj.version_id, "file": path.name})
    (target / "index.json").write_text(json.dumps(index))


def save_all() -> dict:
    """Every running service's state into `<state dir>/persisted` (a new folder swapped in whole: a save that fails
    half-way leaves the previous one)."""
    from localstack.services.plugins import SERVICE_PLUGINS

    started = time.perf_counter()
    _unlocked_locks()
    final = folder()
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob("persisted-*"):  # of a save cut short (LocalStack killed): never swapped in
        shutil.rmtree(stale, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix="persisted-", dir=final.parent))
    saved, failed = [], {}
    for name in _running_services():
        service = SERVICE_PLUGINS.get_service(name)
        target = work / name
        for attempt in (1, 2):  # a last request changing a store while it is pickled: once more
            try:
                target.mkdir(exist_ok=True)
                service.lifecycle_hook.on_before_state_save()
                service.accept_state_visitor(SaveVisitor(name, target, getattr(service, "_provider", None)))
                service.lifecycle_hook.on_after_state_save()
                saved.append(name)
                failed.pop(name, None)
                break
            except Exception as e:  # noqa: BLE001 - one service that cannot be saved must not lose the others
                LOG.warning("could not save the state of %s: %s", name, e, exc_info=LOG.isEnabledFor(logging.DEBUG))
                shutil.rmtree(target, ignore_errors=True)
                failed[name] = f"{type(e).__name__}: {e}"
                time.sleep(0.1)
    report = {"saved_at": time.time(), "services": saved, "failed": failed, "inventory": inventory(),
              "seconds": round(time.perf_counter() - started, 3)}
    (work / "manifest.json").write_text(json.dumps(report, indent=2))
    old = final.with_name("persisted.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    work.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    LOG.info("Saved the state of %d services to %s in %.2fs", len(saved), final, report["seconds"])
    return report


# --- load ----------------------------------------------------------------------------------------------------------
class LoadVisitor:
    """Puts the saved state containers of one service back in place of the live ones (same objects, new content:
    the providers hold references to them)."""

    def __init__(self, service: str, source: Path, provider):
        self.service, self.source, self.provider = service, source, provider

    def visit(self, container) -> None:
        from localstack.services.stores import AccountRegionBundle
        from localstack.state import pickle
        from localstack.state.core import AssetDirectory
        from moto.core.base_backend import BackendDict

        if isinstance(container, (AccountRegionBundle, BackendDict)):
            path = self.source / _container_file(container)
            if not path.is_file():
                return
            loaded = pickle.loads(path.read_bytes())
            container.clear()
            if isinstance(container, AccountRegionBundle):
                # the region bundles refer to the loaded bundle's cross-account dict: take it over
                container._universal = loaded._universal
            container.update(loaded)
            if isinstance(container, AccountRegionBundle):
                for region_bundle in container.values():
                    region_bundle.lock = container.lock  # one lock per bundle, as AccountRegionBundle makes them
            if isinstance(container, BackendDict) and container not in BackendDict._instances:
                BackendDict._instances.append(container)  # so that `sandbox reset` empties it too
        elif isinstance(container, AssetDirectory):
            if self.service == "s3":
                _load_s3_bodies(self.provider, self.source / "s3-bodies")
            else:
                saved = self.source / "assets" / Path(container.path).name
                if saved.is_dir():
                    shutil.copytree(saved, container.path, dirs_exist_ok=True)


def _load_s3_bodies(provider, source: Path) -> None:
    from localstack.services.s3.storage.ephemeral import S3_MAX_FILE_SIZE_BYTES, LockedSpooledTemporaryFile

    index_file = source / "index.json"
    if not index_file.is_file():
        return
    backend = provider._storage_backend
    buckets = {name: bucket for (_, name), bucket in _all_buckets().items()}
    for entry in json.loads(index_file.read_text()):
        bucket = buckets.get(entry["bucket"])
        if bucket is None:
            continue
        obj = next((o for o in _objects(bucket) if o.key == entry["key"] and o.version_id == entry["version_id"]),
                   None)
        if obj is None:
            continue
        backend.create_bucket(entry["bucket"])
        key = backend._key_from_s3_object(obj)  # this process's hash() of it, not the saving one's
        file = LockedSpooledTemporaryFile(dir=os.path.join(backend.root_directory, entry["bucket"]),
                                          max_size=S3_MAX_FILE_SIZE_BYTES)
        file.write((source / entry["file"]).read_bytes())
        file.seek(0)
        backend._filesystem[entry["bucket"]]["keys"][key] = file


def load_all() -> dict:
    """Starts every service that has a saved state and loads it, in LOAD_ORDER."""
    from localstack.services.plugins import SERVICE_PLUGINS

    source = folder()
    manifest = source / "manifest.json"
    if not manifest.is_file():
        return {}
    started = time.perf_counter()
    saved = json.loads(manifest.read_text()).get("services", [])
    order = sorted(saved, key=lambda n: LOAD_ORDER.index(n) if n in LOAD_ORDER else len(LOAD_ORDER) - 1)
    loaded, failed = [], {}
    for name in order:
        try:
            LOG.debug("loading the saved state of %s", name)
            service = SERVICE_PLUGINS.require(name)
            service.lifecycle_hook.on_before_state_load()
            service.accept_state_visitor(LoadVisitor(name, source / name, getattr(service, "_provider", None)))
            service.lifecycle_hook.on_after_state_load()
            loaded.append(name)
        except Exception as e:  # noqa: BLE001 - the others still load
            LOG.warning("could not load the saved state of %s: %s", name, e, exc_info=True)
            failed[name] = f"{type(e).__name__}: {e}"
    report = {"loaded": loaded, "failed": failed, "inventory": inventory(),
              "seconds": round(time.perf_counter() - started, 3)}
    LOG.info("Loaded the saved state of %d services from %s in %.2fs", len(loaded), source, report["seconds"])
    return report
