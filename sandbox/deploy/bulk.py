"""Deploy several built-in patterns at once (`sandbox up --deploy all`), in parallel where they are independent.

A pattern that needs another one's resources says so in its template: `Metadata: {SandboxDependsOn: [name]}`.
Patterns are deployed in waves: each wave holds the patterns whose dependencies are all deployed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sandbox.deploy.deployer import DeployError, DeployResult
from sandbox.deploy.patterns import Pattern, list_patterns, load_template


def dependencies(pattern: Pattern) -> list[str]:
    meta = load_template(pattern.template).get("Metadata") or {}
    deps = meta.get("SandboxDependsOn") or []
    return [deps] if isinstance(deps, str) else list(deps)


def select(names: list[str] | None) -> list[Pattern]:
    """The named patterns (all when `names` is None or ["all"]) plus what they depend on."""
    available = {p.name: p for p in list_patterns()}
    wanted = list(available) if not names or names == ["all"] else names
    unknown = [n for n in wanted if n not in available]
    if unknown:
        raise DeployError(f"unknown pattern(s) {', '.join(unknown)}. Patterns: {', '.join(available) or '(none)'}")
    chosen: dict[str, Pattern] = {}

    def add(name: str, trail: tuple[str, ...] = ()) -> None:
        if name in trail:
            raise DeployError(f"patterns depend on each other in a circle: {' -> '.join((*trail, name))}")
        if name not in available:
            raise DeployError(f"pattern {trail[-1]} depends on unknown pattern {name}")
        for dep in dependencies(available[name]):
            add(dep, (*trail, name))
        chosen.setdefault(name, available[name])

    for name in wanted:
        add(name)
    return list(chosen.values())


def waves(patterns: list[Pattern]) -> list[list[Pattern]]:
    done: set[str] = set()
    pending = list(patterns)
    out = []
    while pending:
        ready = [p for p in pending if all(d in done for d in dependencies(p))]
        out.append(ready)
        done.update(p.name for p in ready)
        pending = [p for p in pending if p not in ready]
    return out


def deploy_patterns(
    sandbox,
    names: list[str] | None = None,
    on_progress: Callable[[str, str], None] | None = None,
    parameters: dict[str, dict[str, str]] | None = None,
) -> tuple[list[DeployResult], float]:
    """Deploys patterns wave by wave, each wave in parallel. `on_progress(pattern, message)` hears each step."""
    started = time.perf_counter()
    say = on_progress or (lambda _name, _msg: None)
    results: list[DeployResult] = []
    errors: list[str] = []
    for wave in waves(select(names)):
        def one(pattern: Pattern) -> DeployResult:
            say(pattern.name, "deploying")
            result = sandbox.deploy(pattern.name, parameters=(parameters or {}).get(pattern.name))
            say(pattern.name, f"{result.status} in {result.seconds:.1f}s")
            return result

        with ThreadPoolExecutor(max_workers=len(wave)) as pool:
            futures = {p.name: pool.submit(one, p) for p in wave}
        for name, future in futures.items():
            try:
                results.append(future.result())
            except DeployError as e:
                say(name, f"failed: {e}")
                errors.append(f"{name}: {e}")
        if errors:
            raise DeployError("deploying patterns failed. " + " | ".join(errors))
    return results, time.perf_counter() - started


def deploy_with_dependencies(sb, pattern: str, on_progress: Callable[[dict], None]) -> list[DeployResult]:
    """Deploys a built-in pattern and the patterns it needs that are not deployed yet, one after the other,
    streaming its stack events to `on_progress` as dicts: {"stack", "logical_id", "type", "status", "reason"} or
    {"stack", "message"}. Raises DeployError with what failed."""
    deployed = {s["name"] for s in sb.stacks()}
    results = []
    for p in select([pattern]):
        if p.name != pattern and p.name in deployed:
            continue
        on_progress({"stack": p.name, "message": f"deploying {p.name}" + (
            f" (needed by {pattern})" if p.name != pattern else "")})

        def event(e, stack=p.name) -> None:
            on_progress({"stack": stack, "logical_id": e.logical_id, "type": e.resource_type,
                         "status": e.status, "reason": e.reason})

        result = sb.deploy(p.name, on_event=event)
        on_progress({"stack": p.name, "message": f"{result.status} in {result.seconds:.1f}s"
                     + ("" if result.changed else " (nothing to change)")})
        results.append(result)
    return results
