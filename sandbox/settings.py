"""Sandbox settings: where state lives, which port, which backend, and the speed knobs for teaching and tests.

Every value comes from a CLI option, else a `SANDBOX_*` environment variable, else the default below.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_PORT = 4566
DEFAULT_REGION = "us-east-1"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"{name}={value!r} is not a whole number") from None


# Speed switches read inside LocalStack (embedded.py passes each on, with its default here when unset): for A/B
# benchmarks (docs/benchmarks.md) and machines where a default does not suit. Listed by `sandbox up --help`
# (descriptions fit 80 columns there) and in README's speed knob table (tests/unit/test_speed_switches.py checks
# both).
SPEED_SWITCHES: dict[str, tuple[str, str]] = {
    "SANDBOX_SQS_ESM_CONCURRENCY": ("5", "SQS batches in flight per mapping"),
    "SANDBOX_ESM_WAKE_ON_MESSAGE": ("1", "0: idle SQS mappings poll (not woken)"),
    "SANDBOX_ESM_IDLE_WAIT_SECONDS": ("10", "idle SQS mapping's longest wait (seconds)"),
    "SANDBOX_LAMBDA_INLINE_REPLY": ("1", "0: results come back by two callbacks"),
    "SANDBOX_LAMBDA_LOGS_DIRECT": ("1", "0: Lambda's logs go by botocore over HTTP"),
    "SANDBOX_LAMBDA_INVOKE_DIRECT": ("1", "0: async invokes made by botocore clients"),
    "SANDBOX_LAMBDA_SDK_SPEEDUPS": ("1", "0: functions' botocore redoes fixed work"),
    "SANDBOX_LAMBDA_LEAN_HTTP": ("1", "0: functions' calls go by urllib3"),
    "SANDBOX_EDGE_ROUTER_PREFILTER": ("1", "0: every request matched by the edge router"),
    "SANDBOX_IN_PROCESS_PARSED": ("1", "0: in-process requests parsed back"),
    "SANDBOX_JSON_SHAPE_PARSERS": ("1", "0: JSON requests parsed member by member"),
    "SANDBOX_MOTO_FAST_COPY": ("1", "0: moto DynamoDB copies with copy.deepcopy"),
    "SANDBOX_MOTO_FAST_EXPRESSIONS": ("1", "0: moto parses each update expression anew"),
    "SANDBOX_DYNAMODB_PASSTHROUGH": ("1", "0: DynamoDB answers serialized anew"),
    "SANDBOX_LOG_REQUESTS": ("0", "1: a log line per request (costs ~1/3 CPU)"),
    "SANDBOX_IN_MEMORY_CLIENT": ("1", "0: LocalStack's own clients go over HTTP"),
    "SANDBOX_GC_FREEZE": ("1", "0: full GCs walk start-up's objects too"),
    "SANDBOX_GC_YOUNG_THRESHOLD": ("20000", "allocations between young GCs (0: 2000)"),
    "SANDBOX_HTTP_SERVER": ("threaded", "twisted: LocalStack's reactor serves HTTP"),
    "SANDBOX_REQUEST_CENSUS": ("0", "1|handlers: LocalStack CPU by op (bench)"),
    # glibc's malloc gives each thread an arena (up to 8 per core): LocalStack's many request threads left its PSS
    # creeping ~3.5 MB per 1,000-upload run after each reset while the Python heap stayed flat. Two arenas: flat,
    # ~30 MB less, no slower (bench/memory.py; bench/pipeline.py --compare MALLOC_ARENA_MAX=8 to see it again).
    "MALLOC_ARENA_MAX": ("2", "glibc malloc arenas of LocalStack (memory)"),
}


@dataclass
class SpeedKnobs:
    """LocalStack timings that make failure modes take minutes on AWS; shortened to watch them in seconds."""

    lambda_retry_base_delay: int = 60  # seconds before the first async-invoke retry (AWS: ~1 min)
    lambda_keepalive_ms: int = 600_000  # how long an idle environment stays warm
    # seconds a mapping waits after a poll that found records (AWS: none; SQS batches in flight are capped by
    # patches/sqs_esm_concurrency)
    esm_poll_interval: float = 0.0
    esm_max_empty_backoff: float = 1.0  # longest pause of a mapping after empty polls (was 10: first jobs waited)

    @classmethod
    def from_env(cls) -> "SpeedKnobs":
        return cls(
            lambda_retry_base_delay=_env_int("SANDBOX_LAMBDA_RETRY_BASE_DELAY", cls.lambda_retry_base_delay),
            lambda_keepalive_ms=_env_int("SANDBOX_LAMBDA_KEEPALIVE_MS", cls.lambda_keepalive_ms),
            esm_poll_interval=float(os.environ.get("SANDBOX_ESM_POLL_INTERVAL") or cls.esm_poll_interval),
            esm_max_empty_backoff=float(os.environ.get("SANDBOX_ESM_MAX_EMPTY_BACKOFF") or cls.esm_max_empty_backoff),
        )

    def localstack_env(self) -> dict[str, str]:
        return {
            "LAMBDA_RETRY_BASE_DELAY": str(self.lambda_retry_base_delay),
            "LAMBDA_KEEPALIVE_MS": str(self.lambda_keepalive_ms),
            "LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC": str(self.esm_poll_interval),
            "LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC": str(self.esm_max_empty_backoff),
        }

    def as_dict(self) -> dict:
        return asdict(self)


def default_state_dir(cwd: Path | None = None) -> Path:
    """`.sandbox` of the current folder or, as git finds `.git`, of the nearest folder above it where a sandbox ran
    (its instance record or its log): `cd src && sandbox status` still finds the project's sandbox."""
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        state = folder / ".sandbox"
        if (state / "sandbox.json").is_file() or (state / "localstack.log").is_file():
            return state
    return here / ".sandbox"


@dataclass
class Settings:
    state_dir: Path = field(default_factory=lambda: Path(os.environ.get("SANDBOX_STATE_DIR") or default_state_dir()))
    port: int = field(default_factory=lambda: _env_int("SANDBOX_PORT", DEFAULT_PORT))
    endpoint: str | None = field(default_factory=lambda: os.environ.get("SANDBOX_ENDPOINT") or None)
    allow_remote: bool = field(default_factory=lambda: os.environ.get("SANDBOX_ALLOW_REMOTE", "") in ("1", "true"))
    region: str = field(default_factory=lambda: os.environ.get("SANDBOX_REGION") or DEFAULT_REGION)
    # Origins of local web apps that may call the sandbox from a browser (e.g. http://localhost:5173).
    allowed_origins: list[str] = field(default_factory=lambda: [
        o.strip() for o in os.environ.get("SANDBOX_ALLOWED_ORIGINS", "").split(",") if o.strip()])
    # The instance token, for a sandbox this process did not start (another state dir, or a remote one).
    token: str = field(default_factory=lambda: os.environ.get("SANDBOX_TOKEN", ""))
    knobs: SpeedKnobs = field(default_factory=SpeedKnobs.from_env)
    # The recorder (spans, traces, cost): on by default; `sandbox up --no-recorder` / SANDBOX_RECORDER=0 for speed.
    recorder: bool = field(default_factory=lambda: os.environ.get("SANDBOX_RECORDER", "1") not in ("0", "false",
                                                                                                  "off"))

    # `sandbox up --persist` / SANDBOX_PERSIST=1: state is saved at `down` and loaded at the next `up --persist`.
    persist: bool = field(default_factory=lambda: os.environ.get("SANDBOX_PERSIST", "") in ("1", "true"))

    def __post_init__(self) -> None:
        self.state_dir = Path(self.state_dir).expanduser().resolve()

    @property
    def external(self) -> bool:
        return bool(self.endpoint)
