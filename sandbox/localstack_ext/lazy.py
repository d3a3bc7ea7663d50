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
        try:
            callback()
        except Exception:  # noqa: BLE001 - a patch that fails must not break the import of the module
            LOG.exception("post-import hook %s for %s failed", getattr(callback, "__qualname__", callback), name)


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


def when_imported(module: str, callback: Callable[[], None]) -> None:
    """Calls `callback` once `module` is imported: now if it already is, else right after its import."""
    with _lock:
        if module not in sys.modules:
            _pending.setdefault(module, []).append(callback)
            if _finder not in sys.meta_path:
                sys.meta_path.insert(0, _finder)
            return
    callback()
