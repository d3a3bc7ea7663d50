"""Event source mappings deleted (with their stack, or by DeleteEventSourceMapping) stayed `Deleting` for ever.

localstack/services/lambda_/event_source_mapping/esm_worker.py: `EsmWorker.delete()` marks the mapping DELETING and
signals the poller thread; the store entry is removed only when that thread ends with `enabled and DELETING`. A
disabled mapping has no poller thread, so nothing ever removes it; and when `delete()` comes before a just-started
thread has run, `poller_loop` overwrites DELETING with ENABLED and the thread ends on "Invalid state", leaving the
mapping listed as Enabled. Workaround: a mapping with no live poller is removed at once; a poller that ends after
its mapping was deleted removes it, whatever state it last wrote.
"""

TARGET = "localstack.services.lambda_.event_source_mapping.esm_worker"


def apply() -> None:
    from localstack.services.lambda_.event_source_mapping.esm_worker import EsmWorker

    original_delete = EsmWorker.delete
    original_loop = EsmWorker.poller_loop

    def delete(self):
        self.__dict__["_sandbox_deleted"] = True
        original_delete(self)
        thread = getattr(self, "_poller_thread", None)
        if not self.enabled or thread is None or not thread.is_alive():
            self.delete_esm_in_store()

    def poller_loop(self, *args, **kwargs):
        try:
            return original_loop(self, *args, **kwargs)
        finally:
            if self.__dict__.get("_sandbox_deleted") and not self._graceful_shutdown_triggered:
                self.delete_esm_in_store()

    EsmWorker.delete = delete
    EsmWorker.poller_loop = poller_loop
