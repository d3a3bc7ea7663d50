"""sandbox/observability/store.py: every recorded span reaches the file once, in batches, and a new store on the
same file continues its sequence."""

from __future__ import annotations

import json
import threading
import time

from sandbox.observability.query import Filter
from sandbox.observability.store import Deferred, SpanStore, decode


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
    assert all(isinstance(store.entry(seq)[-1], bytes) for seq in range(1, 6001))


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


def test_a_store_stopped_right_after_a_rotation_continues_from_the_rotated_file(tmp_path):
    """The writer rotates spans.jsonl to spans.1.jsonl and recreates it with the next span: a sandbox stopped in
    between started its seqs at 1 again, and every client's cursor pointed past the new spans."""
    first = SpanStore(capacity=100, path=tmp_path / "spans.jsonl")
    _record_from_threads(first, threads=1, each=10)
    first.flush(5)
    (tmp_path / "spans.jsonl").rename(tmp_path / "spans.1.jsonl")
    second = SpanStore(capacity=100, path=tmp_path / "spans.jsonl")
    assert second.record({"service": "s3"}) == 11
    assert second.loaded.wait(5)
    assert [decode(e)["seq"] for e in second._entries(1, 12, None)] == list(range(1, 12))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "spans.jsonl").write_text("")  # recreated, nothing written yet
    (tmp_path / "spans.1.jsonl").rename(tmp_path / "empty" / "spans.1.jsonl")
    assert SpanStore(capacity=100, path=tmp_path / "empty" / "spans.jsonl").record({"service": "s3"}) == 11


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


def _awkward_spans() -> list[dict]:
    """Spans with what requests put in them: text in many scripts, control characters, escapes, bytes, sets,
    tuples, non-str keys, a datetime, nesting, numbers of every kind JSON has."""
    import datetime

    text = ["plain", "é ü ß", "日本語", "emoji 😀", "tab\tnew\nline", "\x00\x1f\x7f", 'quote " back \\ slash',
            "\u2028\u2029", "</script>", "a" * 3000]
    spans = []
    for i, value in enumerate(text):
        spans.append({"seq": i, "ts": 1765000000.123456 + i, "duration_ms": 0.125 * i, "kind": "request",
                      "request": value, "response": json.dumps({"Body": value, "n": [1, 2.5, -3, True, None]}),
                      "attrs": {"ids": (i, i + 1), "set": {value[:3]}, 7: "int key", "bytes": value.encode()[:40],
                                "when": datetime.datetime(2026, 12, 6, 20, 0, i)},
                      "caller": {"kind": "external", "name": None, "source_arn": None},
                      "units": {"rcu": 0.5, "wcu": 1, "big": 2**63 - 1, "neg": -(2**62)},
                      "nested": {"a": [{"b": [{"c": value[:10]}]}]}})
    return spans


def test_spans_are_written_as_the_json_module_wrote_them():
    """orjson writes the recorder's spans (9x faster): the same bytes json.dumps wrote, for whatever they hold."""
    from sandbox.observability.store import _json_default, encode, loads

    for span in _awkward_spans():
        before = json.dumps(span, separators=(",", ":"), default=_json_default, ensure_ascii=False).encode("utf-8")
        assert encode(span) == before, span["request"][:20]
        assert loads(encode(span)) == json.loads(before)


def test_what_orjson_refuses_is_written_by_json_and_read_back():
    """An int past 64 bits, deep nesting: json writes the span and json reads it back exactly; a lone surrogate (a
    JSON request may carry "\\ud800") is not UTF-8 and is written as U+FFFD, as undecodable bytes are."""
    from sandbox.observability.store import _dumps

    deep: list = []
    for _ in range(300):
        deep = [deep]
    for span in ({"units": {"n": 2**70 + 1, "m": -(2**63) - 1}}, {"attrs": deep}):
        line, exact = _dumps(span)
        assert not exact and json.loads(line) == span
    line, exact = _dumps({"request": "x\ud800y"})
    assert json.loads(line) == {"request": "x\ufffdy"}


def test_big_numbers_read_back_from_memory_exactly_as_the_file_has_them(tmp_path):
    """orjson reads an int past 64 bits as a float: a span that needs json to read it back is marked so."""
    store = SpanStore(capacity=100, path=tmp_path / "spans.jsonl")
    store.record({"service": "sqs", "attrs": {"n": 2**70 + 1}})
    store.record({"service": "sqs", "attrs": {"n": 7}})
    store.flush(10)
    assert all(isinstance(store.entry(seq)[-1], bytes) for seq in (1, 2))
    assert decode(store.entry(1))["attrs"]["n"] == 2**70 + 1
    assert b'"n":1180591620717411303425' in (tmp_path / "spans.jsonl").read_bytes()
    reopened = SpanStore(capacity=100, path=tmp_path / "spans.jsonl")  # and from the history loaded on start
    assert reopened.loaded.wait(5)
    assert decode(reopened.entry(1))["attrs"]["n"] == 2**70 + 1
    assert decode(reopened.entry(2))["attrs"]["n"] == 7


def test_a_file_cut_mid_line_by_a_crash_gets_its_next_span_on_a_line_of_its_own(tmp_path):
    path = tmp_path / "spans.jsonl"
    path.write_bytes(b'{"seq":1,"service":"s3"}\n{"seq":2,"serv')
    store = SpanStore(capacity=100, path=path)
    store.record({"service": "sqs"})
    store.flush(10)
    lines = path.read_bytes().splitlines()
    assert json.loads(lines[-1]) == {"service": "sqs", "seq": 2} and lines[-2] == b'{"seq":2,"serv'


def test_a_batch_with_a_lone_surrogate_reaches_the_file_whole(tmp_path):
    store = SpanStore(capacity=100, path=tmp_path / "spans.jsonl")
    for i in range(10):
        store.record({"service": "sqs", "request": "bad \udcff body" if i == 4 else f"ok {i}"})
    store.flush(10)
    lines = (tmp_path / "spans.jsonl").read_bytes().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, 11))
    assert json.loads(lines[4])["request"] == "bad \ufffd body"
    assert [decode(e)["request"] for e in store._entries(1, 10, None)][4] == "bad \ufffd body"
    reopened = SpanStore(capacity=100, path=tmp_path / "spans.jsonl")  # the history loads back
    assert reopened.loaded.wait(5)
    assert decode(reopened.entry(5))["request"] == "bad \ufffd body"


def test_the_writer_compresses_with_the_learnt_dictionary(tmp_path, monkeypatch):
    """Through the store, not only the codec: after the first TRAIN_SPANS spans, a span in memory is a small part of
    its JSON. (The process's codec is replaced by a new one: the other tests' spans taught it theirs.)"""
    from sandbox.observability import store as store_module

    monkeypatch.setattr(store_module, "_CODEC", store_module.SpanCodec())
    store = SpanStore(capacity=5000, path=tmp_path / "spans.jsonl")
    lines = _pipeline_like_spans(store_module.TRAIN_SPANS + 500, seed=5)
    for line in lines:
        store.record(json.loads(line))
    store.flush(20)
    assert store_module._CODEC.dictionary is not None
    tail = range(store.head - 400, store.head + 1)
    held = sum(len(store.entry(seq)[-1]) for seq in tail)
    written = sum(map(len, (tmp_path / "spans.jsonl").read_bytes().splitlines()[-401:]))
    assert held < 0.4 * written, (held, written)
    assert [decode(store.entry(seq))["seq"] for seq in tail] == list(tail)


def _pipeline_like_spans(n: int, seed: int = 3) -> list[bytes]:
    """JSON of spans shaped like a media-pipeline drain's: the same fields, ARNs and ids, different values."""
    import random

    from sandbox.observability.spans import hop_span, new_span_id, new_trace_id
    from sandbox.observability.store import encode

    rng = random.Random(seed)
    out = []
    for i in range(n):
        service, operation = rng.choice([("s3", "PutObject"), ("sqs", "SendMessage"), ("dynamodb", "UpdateItem"),
                                         ("lambda", "Invoke"), ("logs", "PutLogEvents")])
        key = f"uploads/{rng.randrange(10**6):06d}.mp4"
        span = hop_span(ts=1765000000 + i * 0.01, duration_ms=rng.random() * 20, hop=None, account="000000000000",
                        region="us-east-1", service=service, operation=operation,
                        resource=f"arn:aws:{service}:us-east-1:000000000000:{key}", resource_name=key,
                        trace_id=new_trace_id(), span_id=new_span_id(), parent_id=new_span_id(),
                        correlation_id=f"job-{rng.randrange(10**6)}",
                        request=json.dumps({"Bucket": "media-uploads", "Key": key, "Size": rng.randrange(10**6)}),
                        response=json.dumps({"ETag": f"{rng.getrandbits(128):032x}", "VersionId": None}),
                        attrs={"memory_mb": 256, "billed_ms": rng.randrange(1, 300), "cold": rng.random() < 0.05})
        span["seq"] = i + 1
        out.append(encode(span))
    return out


def test_spans_compressed_before_and_after_the_dictionary_is_learnt_read_back():
    from sandbox.observability.store import SpanCodec

    codec = SpanCodec(train_at=300)
    lines = _pipeline_like_spans(1200)
    before = [codec.compress(line) for line in lines[:300]]
    assert codec.dictionary is not None  # learnt from those 300
    after = [codec.compress(line) for line in lines[300:]]
    assert [codec.decompress(c) for c in before + after] == lines
    # the dictionary is what makes a span small: well under what the same spans took before it
    assert sum(map(len, after)) / len(after) < 0.7 * sum(map(len, before)) / len(before)
    assert sum(map(len, after)) / sum(map(len, lines[300:])) < 0.35
    # another thread (a reader) has its own decompressor and reads both
    got: list = []
    reader = threading.Thread(target=lambda: got.extend(codec.decompress(c) for c in before[:5] + after[-5:]))
    reader.start()
    reader.join()
    assert got == lines[:5] + lines[-5:]


def test_the_codec_is_used_from_many_threads_while_it_learns():
    from sandbox.observability.store import SpanCodec

    codec = SpanCodec(train_at=200)
    lines = _pipeline_like_spans(1600, seed=9)
    errors: list = []

    def work(part: list[bytes]) -> None:
        try:
            for line in part:
                assert codec.decompress(codec.compress(line)) == line
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(lines[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and codec.dictionary is not None


def test_without_enough_to_learn_from_spans_are_compressed_without_a_dictionary():
    from sandbox.observability.store import SpanCodec

    codec = SpanCodec(train_at=3)
    lines = [b'{"seq":1}', b'{"seq":2}', b'{"seq":3}', b'{"seq":4}']
    assert [codec.decompress(codec.compress(line)) for line in lines] == lines
    assert codec.dictionary is None and codec._samples is None  # tried once, not again


def test_held_spans_are_packed_into_a_few_allocations_not_several_objects_each(tmp_path):
    """Held one by one, each span was ~7 small objects (tuple, seq, ts, trace id, compressed bytes, a size record)
    scattered through the allocator's pools among what requests leave behind: ~1.7 KB of resident memory per span
    for ~0.4 KB of data (bench/memory.py grew 35 MB a run). Packed in chunks, they take well under one block each."""
    import gc
    import sys

    from sandbox.observability.store import CHUNK_SPANS

    store = SpanStore(capacity=100_000, path=tmp_path / "spans.jsonl")
    spans = 10 * CHUNK_SPANS
    gc.collect()
    before = sys.getallocatedblocks()
    for i in range(spans):
        store.record({"ts": 1700000000.0 + i, "trace_id": f"1-6935a1b2-{i // 10:024x}", "service": "dynamodb",
                      "operation": "UpdateItem", "request": f"{{\"Key\":{{\"id\":{{\"S\":\"{i:08d}\"}}}}}}"})
    store.flush(10)
    gc.collect()
    blocks = sys.getallocatedblocks() - before
    assert len(store) == spans and store.entry(1) is not None
    assert blocks / spans < 1, f"{blocks / spans:.1f} allocator blocks per held span"
    assert [decode(store.entry(seq))["request"] for seq in (1, spans // 2, spans)] == \
        [f'{{"Key":{{"id":{{"S":"{i:08d}"}}}}}}' for i in (0, spans // 2 - 1, spans - 1)]


def test_spans_read_back_from_chunks_in_both_directions_and_through_filters(tmp_path):
    from sandbox.observability.query import Filter
    from sandbox.observability.store import CHUNK_SPANS

    store = SpanStore(capacity=100_000, path=tmp_path / "spans.jsonl")
    total = 3 * CHUNK_SPANS + 100  # three chunks and a hundred loose
    for i in range(total):
        store.record({"ts": 1000.0 + i, "trace_id": f"t{i % 7}", "service": ("s3", "sqs")[i % 2], "noise": i % 5 == 0})
    store.flush(10)
    assert len(store._chunks) == 3 and len(store._loose) == 100 and len(store) == total
    spans, cursor = store.since(None, 700)  # the newest 700, across a chunk's end and the loose ones
    assert [s["seq"] for s in spans] == list(range(total - 699, total + 1)) and cursor == total
    spans, _ = store.since(CHUNK_SPANS - 3, 10)
    assert [s["seq"] for s in spans] == list(range(CHUNK_SPANS - 2, CHUNK_SPANS + 8))
    t3 = [s["seq"] for s in store.all(Filter(trace="t3", include_noise=True))]
    assert t3 == [i + 1 for i in range(total) if i % 7 == 3]
    quiet_s3 = [s["seq"] for s in store.all(Filter(service="s3"))]
    assert quiet_s3 == [i + 1 for i in range(total) if i % 2 == 0 and i % 5 != 0]
    late = [s["seq"] for s in store.all(Filter(since_ts=1000.0 + total - 3, include_noise=True))]
    assert late == [total - 2, total - 1, total]


def test_a_file_with_gaps_and_repeated_lines_loads_into_chunks_that_find_each_span(tmp_path):
    path = tmp_path / "spans.jsonl"
    seqs = [s for s in range(1, 3001) if s % 97 != 0]  # gaps: spans whose lines a crash cut away
    lines = [json.dumps({"seq": s, "ts": float(s), "trace_id": f"t{s % 3}", "service": "sqs"}) for s in seqs]
    lines[1500:1500] = lines[1400:1410]  # lines read twice (a rotated file's end repeated)
    path.write_text("\n".join(lines) + "\n")
    store = SpanStore(capacity=100_000, path=path)
    assert store.loaded.wait(10)
    assert len(store) == len(seqs) and len(store._chunks) >= 2
    assert [s["seq"] for s in store.all()] == seqs
    assert store.entry(97) is None and store.entry(98) is not None and decode(store.entry(98))["seq"] == 98
    assert [s["seq"] for s in store.since(None, 5)[0]] == seqs[-5:]
    store.record({"ts": 9999.0, "trace_id": "t1", "service": "sqs"})  # continues after the file
    store.flush(10)
    assert store.head == 3001 and store.all().__next__()["seq"] == 1
    assert [s["seq"] for s in store.all()] == seqs + [3001]


def test_history_loaded_within_its_budget_is_not_wiped_by_the_next_span(tmp_path):
    from sandbox.observability.store import CHUNK_SPANS

    path = tmp_path / "spans.jsonl"
    path.write_text("".join(json.dumps({"seq": s, "ts": float(s), "trace_id": f"1-{s:08x}-{s:024x}", "service": "sqs",
                                        "request": f"{s:06d}" * 30}) + "\n" for s in range(1, 3001)))
    store = SpanStore(capacity=100_000, path=path, history_bytes=150_000)
    assert store.loaded.wait(10)
    loaded = len(store)
    assert 100 < loaded < 3000 and store.held_bytes <= 150_000
    assert [s["seq"] for s in store.all()] == list(range(3001 - loaded, 3001))  # the newest
    store.record({"ts": 9999.0, "trace_id": "t", "service": "sqs"})
    store.flush(10)
    assert store.held_bytes <= 150_000 and len(store) >= loaded + 1 - CHUNK_SPANS


def test_spans_with_odd_values_reach_the_file_and_memory(tmp_path):
    from sandbox.observability.store import CHUNK_SPANS

    store = SpanStore(capacity=10_000, path=tmp_path / "spans.jsonl")
    odd = [{"ts": 10**400, "trace_id": ["not", "a", "string"], "service": None},
           {"ts": None, "trace_id": None, "service": {"a": 1}}, {"ts": "x", "trace_id": 7, "service": "s3"}]
    for i in range(CHUNK_SPANS + 100):
        store.record(dict(odd[i % 3], i=i))
    store.flush(10)
    lines = (tmp_path / "spans.jsonl").read_text().splitlines()
    assert len(lines) == CHUNK_SPANS + 100 and len(store._chunks) == 1
    assert [s["i"] for s in store.all()] == list(range(CHUNK_SPANS + 100))


def test_a_lazy_reader_does_not_return_spans_the_ring_has_overwritten_meanwhile(tmp_path):
    store = SpanStore(capacity=1000, path=tmp_path / "spans.jsonl")
    for i in range(1000):
        store.record({"ts": float(i), "trace_id": "t", "service": "sqs", "i": i})
    store.flush(10)
    reading = store.all()
    assert next(reading)["seq"] == 1
    for i in range(1000):
        store.record({"ts": float(i), "trace_id": "t", "service": "sqs", "i": 1000 + i})
    store.flush(10)
    assert list(reading) == []  # seqs 2..1000 were overwritten by 1001..2000


def test_a_file_whose_seqs_span_more_than_the_ring_loads_only_what_fits_in_it(tmp_path):
    path = tmp_path / "spans.jsonl"
    seqs = list(range(1, 61)) + list(range(990, 1021))
    path.write_text("".join(json.dumps({"seq": s, "trace_id": "t", "service": "sqs"}) + "\n" for s in seqs))
    store = SpanStore(capacity=100, path=path)
    assert store.loaded.wait(10)
    assert [s["seq"] for s in store.all()] == list(range(990, 1021)) and len(store) == 31
    assert store.entry(50) is None
    store.record({"trace_id": "t", "service": "sqs"})
    store.flush(10)
    assert [s["seq"] for s in store.all()] == list(range(990, 1022))


def _deferred_span(calls: list, trace: str, noise: bool = False):
    def build(op):
        calls.append(op)
        return {"ts": 5.0, "trace_id": trace, "service": "sqs", "noise": noise, "operation": op}
    return Deferred(build, (f"op-{trace}",), 5.0, "sqs")


def test_a_deferred_span_is_built_once_by_the_writer_and_written_as_built(tmp_path):
    store = SpanStore(capacity=100, path=tmp_path / "spans.jsonl")
    calls: list = []
    seq = store.record(_deferred_span(calls, "t-late"))
    store.flush(5)
    assert calls == ["op-t-late"]
    (line,) = (tmp_path / "spans.jsonl").read_text().splitlines()
    assert json.loads(line) == {"seq": seq, "ts": 5.0, "trace_id": "t-late", "service": "sqs", "noise": False,
                                "operation": "op-t-late"}
    # held compressed, its filter fields the built span's
    held = store.entry(seq)
    assert isinstance(held[-1], bytes) and held[:5] == (seq, 5.0, "t-late", "sqs", False)
    assert calls == ["op-t-late"]


def test_a_reader_builds_a_deferred_span_before_the_writer_and_filters_on_what_it_built():
    store = SpanStore(capacity=100)  # no file: nothing but readers builds it
    calls: list = []
    quiet = store.record(_deferred_span(calls, "t-a"))
    store.record(_deferred_span(calls, "t-b", noise=True))
    # the trace id and the noise flag are known only once built: filters still find (or leave out) them
    assert [span["seq"] for span in store.iter_range(1, 2, Filter(trace="t-a"))] == [quiet]
    assert [span["operation"] for span in store.all(Filter())] == ["op-t-a"]
    assert [span["operation"] for span in store.all(Filter(include_noise=True))] == ["op-t-a", "op-t-b"]
    assert store.since(0, 10, Filter(trace="t-b", include_noise=True))[0][0]["seq"] == 2
    assert decode(store.entry(quiet))["trace_id"] == "t-a"
    assert calls == ["op-t-a", "op-t-b"]  # each built once, however often read


def test_a_span_that_cannot_be_built_is_recorded_as_the_recorders_error_and_the_writer_goes_on(tmp_path):
    store = SpanStore(capacity=100, path=tmp_path / "spans.jsonl")
    store.record(Deferred(lambda: 1 / 0, (), 1.0, "s3"))
    store.record({"ts": 2.0, "service": "sqs"})
    store.flush(5)
    first, second = [json.loads(line) for line in (tmp_path / "spans.jsonl").read_text().splitlines()]
    assert (first["seq"], first["ts"], first["service"], first["error"]["code"]) == (1, 1.0, "s3", "SandboxRecorderError")
    assert "division by zero" in first["error"]["message"]
    assert second == {"seq": 2, "ts": 2.0, "service": "sqs"}


def test_a_recorder_without_a_span_file_builds_at_once_instead_of_holding_what_requests_left():
    from sandbox.observability.recorder import Recorder

    rec = Recorder(SpanStore(capacity=10))
    seq = rec.record_later(lambda name: {"ts": 1.0, "service": "sqs", "operation": name}, ("SendMessage",), 1.0, "sqs")
    assert rec.store.slots[seq % 10][-1] == {"seq": seq, "ts": 1.0, "service": "sqs", "operation": "SendMessage"}


def test_a_span_that_cannot_be_built_keeps_its_identity_and_the_failure_is_logged_once(tmp_path, caplog):
    store = SpanStore(capacity=100, path=tmp_path / "spans.jsonl")
    known = {"trace_id": "1-abc", "span_id": "s1", "parent_id": "p0", "operation": "SendMessage"}

    def build(_):
        raise ValueError("x" * 5000)

    with caplog.at_level("DEBUG", logger="sandbox.observability.store"):
        for _ in range(3):
            store.record(Deferred(build, (known,), 1.0, "sqs", fallback=lambda k: dict(k)))
        store.flush(5)
    spans = [json.loads(line) for line in (tmp_path / "spans.jsonl").read_text().splitlines()]
    assert [s["seq"] for s in spans] == [1, 2, 3]
    assert all({k: s[k] for k in known} == known for s in spans)  # its trace, parent and operation kept
    assert all(s["error"]["code"] == "SandboxRecorderError" and len(s["error"]["message"]) <= 1000 for s in spans)
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "could not build span" in warnings[0].getMessage()


def test_a_span_file_that_cannot_be_written_keeps_no_request_arguments(tmp_path):
    import shutil

    store = SpanStore(capacity=100, path=tmp_path / "obs" / "spans.jsonl")
    shutil.rmtree(tmp_path / "obs")  # the state dir removed under a running sandbox
    held = [Deferred(lambda big: {"ts": 1.0, "service": "lambda", "size": len(big)}, (b"x" * 1000,), 1.0, "lambda")
            for _ in range(5)]
    for deferred in held:
        store.record(deferred)
    store.flush(5)
    assert all(d.args is None and d.span["size"] == 1000 for d in held)  # built, its arguments let go
    assert all(isinstance(store.entry(seq)[-1], bytes) for seq in range(1, 6))  # held compressed, in memory


def test_a_reader_and_the_writer_never_both_build_a_span():
    calls = []

    def slow(_):
        calls.append(threading.current_thread().name)
        time.sleep(0.05)  # the GIL changes hands mid-build
        return {"ts": 1.0, "service": "sqs"}

    deferred = Deferred(slow, (None,), 1.0, "sqs")
    got = []
    threads = [threading.Thread(target=lambda: got.append(deferred.get()), name=f"t{i}") for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and all(span is got[0] for span in got)
