"""Run a callback right after a module is first imported (a post-import hook).

Our patches change LocalStack service modules. Importing those at start-up would cost seconds (LocalStack loads
services lazily, on first use), so each patch is applied when its target module is imported instead: after the
module's code ran, before anything can use it.
"""

from __future__ import annotations

import importlib.abc
import logging
import sys
import threading
from collections.abc import Callable

LOG = logging.getLogger(__name__)

_pending: dict[str, list[Callable[[], None]]] = {}
_lock = threading.RLock()


def _run(name: str) -> None:
    with _lock:
        callbacks = _pending.pop(name, [])
    for callback in callbacks:
        callback()


class _PostImportFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname not in _pending:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_then_hook(module):
            exec_module(module)
            _run(fullname)

        loader.exec_module = exec_then_hook  # this loader instance belongs to this one spec
        return spec


_finder = _PostImportFinder()


def when_imported(modules: str | tuple[str, ...], callback: Callable[[], None], what: str) -> None:
    """Calls `callback` once, as soon as one of `modules` is imported (now, if one already is). A callback that
    fails is logged with `what` and does not break the import."""
    done = threading.Event()

    def once() -> None:
        with _lock:
            if done.is_set():
                return
            done.set()
        try:
            callback()
        except Exception:  # noqa: BLE001 - the sandbox runs without that one hook
            LOG.exception("%s could not be applied", what)

    for module in (modules,) if isinstance(modules, str) else modules:
        with _lock:
            if module not in sys.modules:
                _pending.setdefault(module, []).append(once)
                if _finder not in sys.meta_path:
                    sys.meta_path.insert(0, _finder)
                continue
        once()
