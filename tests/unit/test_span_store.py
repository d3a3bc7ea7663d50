"""sandbox/observability/store.py: every recorded span reaches the file once, in batches, and a new store on the
same file continues its sequence."""

from __future__ import annotations

import json
import threading

from sandbox.observability.store import SpanStore, decode


def _record_from_threads(store: SpanStore, threads: int, each: int) -> None:
    def work(t: int) -> None:
        for i in range(each):
            store.record({"ts": float(i), "trace_id": f"t{t}", "service": "sqs", "op": f"{t}-{i}"})

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def test_a_burst_from_many_threads_reaches_the_file_once_each_in_a_few_batches(tmp_path):
    store = SpanStore(capacity=10_000, path=tmp_path / "spans.jsonl")
    _record_from_threads(store, threads=4, each=1500)
    store.flush(10)
    lines = [json.loads(line) for line in (tmp_path / "spans.jsonl").read_text().splitlines()]
    assert sorted(span["seq"] for span in lines) == list(range(1, 6001))
    assert {span["op"] for span in lines} == {f"{t}-{i}" for t in range(4) for i in range(1500)}
    # one wake-up of the writer per batch, not per span (each wake-up costs the request threads the GIL)
    assert 1 <= store.batches_written < 600, store.batches_written
    # in memory: every span readable, the written ones compressed
    assert len(store) == 6000
    assert [decode(e)["seq"] for e in store._entries(1, 6001, None)] == list(range(1, 6001))
    assert all(isinstance(store.slots[seq % store.capacity][-1], bytes) for seq in range(1, 6001))


def test_spans_recorded_while_the_writer_writes_are_not_lost(tmp_path):
    store = SpanStore(capacity=1000, path=tmp_path / "spans.jsonl")
    for round_no in range(20):
        _record_from_threads(store, threads=2, each=25)
        if round_no % 3 == 0:
            store.flush(5)
    store.flush(10)
    seqs = [json.loads(line)["seq"] for line in (tmp_path / "spans.jsonl").read_text().splitlines()]
    assert sorted(seqs) == list(range(1, 1001))


def test_a_new_store_continues_the_sequence_of_the_file(tmp_path):
    first = SpanStore(capacity=100, path=tmp_path / "spans.jsonl")
    _record_from_threads(first, threads=1, each=10)
    first.flush(5)
    second = SpanStore(capacity=100, path=tmp_path / "spans.jsonl")
    assert second.record({"service": "s3"}) == 11
    assert second.loaded.wait(5)
    assert [decode(e)["seq"] for e in second._entries(1, 12, None)] == list(range(1, 12))


def test_the_history_held_in_memory_stays_within_its_budget_and_keeps_the_newest(tmp_path):
    store = SpanStore(capacity=10_000, path=tmp_path / "spans.jsonl", history_bytes=60_000)
    for i in range(3000):
        store.record({"service": "sqs", "i": i, "payload": f"{i:06d}" * 40})
    store.flush(10)
    assert store.held_bytes <= 60_000
    kept = [decode(e)["i"] for e in store._entries(1, store.head, None)]
    assert 20 < len(kept) < 3000 and kept == list(range(3000 - len(kept), 3000))  # the newest, in order
    assert store.first_seq == 3001 - len(kept) and len(store) == len(kept)
    assert len((tmp_path / "spans.jsonl").read_text().splitlines()) == 3000  # the file keeps every span
    # a new store loads only what fits the budget, newest first
    again = SpanStore(capacity=10_000, path=tmp_path / "spans.jsonl", history_bytes=60_000)
    assert again.loaded.wait(10)
    reloaded = [decode(e)["i"] for e in again._entries(1, again.head, None)]
    assert again.held_bytes <= 60_000 and reloaded and reloaded == list(range(3000 - len(reloaded), 3000))


def test_forget_links_empties_every_link_map_and_keeps_the_spans():
    from sandbox.observability.recorder import GenerationMap, Recorder

    rec = Recorder(SpanStore(capacity=100))
    hop_map = GenerationMap(4)  # as a hop module keeps one (lambda_hops.executions, esm_hops._attempts)
    for i in range(10):
        hop_map[f"k{i}"] = i
        rec.producers[f"m{i}"] = i
        rec.open(f"s{i}", "t", None, None)
    rec.record({"service": "sqs"})
    assert len(hop_map) >= 4 and len(rec.producers) >= 4
    rec.forget_links()
    assert len(hop_map) == len(rec.producers) == len(rec.spans) == len(rec.pending) == 0
    assert hop_map.get("k9") is None and len(rec.store) == 1
