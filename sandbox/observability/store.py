"""Where spans live: a bounded ring buffer indexed by a monotonic `seq`, mirrored to an append-only JSONL file.

Recording is the hot path (it runs in the finalizer of every gateway request): a lock, a slot assignment, an
optional wake-up of long-polling readers, an append to the writer's pending list (the writer takes it every
WRITE_DELAY; a request wakes it only in a burst, WAKE_AT spans). Most request spans are recorded before they are
built (a Deferred: what the request left, built by the writer in its batch or by the first reader that needs it).
Building, serialising to JSON and writing to disk
happen on one background thread, which then compacts the slot: the span dict (about 4 KB in memory) is replaced
by its JSON, compressed by SpanCodec (zstd with a dictionary learnt from the first spans: about 0.3-0.5 KB), and
every CHUNK_SPANS written spans are packed into one Chunk (one buffer, a few arrays) that their slots point at. The
written spans hold at most HISTORY_BYTES: past it the oldest leave memory (not the file). What filters look at
first - (seq, ts, trace_id, service, noise) - is kept uncompressed, so a trace lookup or a service filter only
decompresses the spans it returns. Readers never hold the lock while they scan: a slot overwritten in the meantime
has another `seq` (or another chunk) and is skipped.

On start the store continues the `seq` of the file it finds (read from its last line, so start-up stays fast)
and loads the file's newest spans into the ring on a background thread. Clients therefore keep their cursors
across a restart of the sandbox, and history survives it. The file is rotated at ROTATE_BYTES (one old file
is kept, `spans.1.jsonl`).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import sys
import threading
import time
from array import array
from bisect import bisect_left
from collections import deque
from collections.abc import Iterator
from itertools import accumulate, islice
from pathlib import Path
from time import thread_time_ns

import orjson
import zstandard

from sandbox.observability.query import Filter

LOG = logging.getLogger(__name__)

DEFAULT_CAPACITY = 100_000
# Memory the written spans may hold (their compressed JSON plus ENTRY_OVERHEAD each): the oldest are dropped past it
# (the file keeps them). Without it the ring grew by ~30 MB per 1,000 media-pipeline uploads up to its 100k spans
# (bench/memory.py, 2026-12-05). Since spans are held in chunks, this is about what they cost in resident memory too.
HISTORY_BYTES = 64 * 1024 * 1024
ENTRY_OVERHEAD = 48  # a span's share of its chunk besides its compressed JSON and trace id: slot, seq, ts, offset
CHUNK_SPANS = 512  # written spans are held one by one until this many are, then packed into a Chunk
ROTATE_BYTES = 64 * 1024 * 1024
WRITE_DELAY = 0.05  # seconds a recorded span may wait for the writer's next batch (the file only; memory is at once)
WAKE_AT = 2000  # spans waiting that wake the writer before WRITE_DELAY is up (a burst: bounded memory; a Deferred
# holds its request's parsed request and answer, which is why requests with large bodies are built at once: gateway.py)
MAX_WAIT_SECONDS = 60.0
TRAIN_SPANS = 1000  # spans whose JSON the compression dictionary is learnt from (the first ones written)
DICTIONARY_BYTES = 16 * 1024

# a span as readers see it: (seq, ts, trace_id, service, noise, span dict | compressed JSON bytes)
SEQ, TS, TRACE, SERVICE, NOISE, PAYLOAD = range(6)


def _json_default(value):
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, float):  # a float subclass (numpy's): json wrote its number, orjson asks here
        return float(value)
    return str(value)


# orjson writes what json.dumps(separators=(",", ":"), ensure_ascii=False) wrote, 9x faster: 1.6 vs 13.5 us for a
# media-pipeline span, on the writer thread that holds LocalStack's GIL. The same bytes for the 924 spans of a
# drain (compared once) and for the awkward values of tests/unit/test_span_store.py; what differs is a float's
# notation (1e-05 is written 0.00001, the same number), NaN/Infinity (not JSON: written null) and a plain Enum
# (its value, where json wrote str(member)). datetime and dataclass go to `default`, as with json.
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# JSON whose numbers orjson would not read back exactly (an int past 64 bits comes back a float; NaN is refused)
_INEXACT = re.compile(r"\d{19}|NaN|Infinity")
INEXACT_MARK = b"J"  # prefixed to a compressed span that json.loads must read (a zstd frame starts with 0x28)


def _dumps(doc) -> tuple[bytes, bool]:
    """(compact UTF-8 JSON, whether orjson reads it back as it was)."""
    try:
        return orjson.dumps(doc, default=_json_default, option=_ORJSON_OPTIONS), True
    except (orjson.JSONEncodeError, TypeError):  # an int past 64 bits, 255 levels of nesting, a lone surrogate
        # (a JSON request may carry "\ud800"): json writes those; a lone surrogate is not UTF-8, shown as U+FFFD as
        # undecodable bytes are
        text = json.dumps(doc, separators=(",", ":"), default=_json_default, ensure_ascii=False)
        return _LONE_SURROGATE.sub("\ufffd", text).encode("utf-8"), False


def encode(doc) -> bytes:
    """A span (or an API answer) as compact UTF-8 JSON."""
    return _dumps(doc)[0]


# What orjson writes it reads back as it was; what it would not (NaN from an old spans.jsonl, an int past 64 bits)
# is marked INEXACT_MARK by the writer or the history loader and read by json.loads (decode)
loads = orjson.loads


class SpanCodec:
    """Compresses spans for the ring: zstd level 1, with a dictionary learnt from the first TRAIN_SPANS spans.

    A span's JSON is ~1.8 KB, mostly the same field names, ARNs and ids as its neighbours'. zlib (level 1) took
    36 us a span on the writer thread and left ~850 bytes; zstd 10 us and ~870 bytes; zstd with a 16 KB dictionary
    trained on earlier spans 4.5 us and ~380 bytes (spans of the same drain it was not trained on; ~350 for another
    app's spans), and reads back in 1.3 us instead of 6.6. The dictionary is learnt once, in ~40 ms; spans compressed
    before it read back without it (a zstd frame names its dictionary, and a decompressor that has one reads frames
    made without). Compressors and decompressors are not thread-safe: one of each per thread."""

    def __init__(self, train_at: int = TRAIN_SPANS):
        self.dictionary: zstandard.ZstdCompressionDict | None = None
        self._samples: list[bytes] | None = [] if train_at else None
        self._train_at = train_at
        self._lock = threading.Lock()
        self._local = threading.local()

    def compress(self, data: bytes) -> bytes:
        local, dictionary = self._local, self.dictionary
        packer = local.__dict__.get("packer")
        if packer is None or local.packer_dictionary is not dictionary:
            packer = local.packer = zstandard.ZstdCompressor(level=1, dict_data=dictionary)
            local.packer_dictionary = dictionary
        out = packer.compress(data)
        if self._samples is not None:
            self._learn(data)
        return out

    def decompress(self, data: bytes) -> bytes:
        local, dictionary = self._local, self.dictionary
        unpacker = local.__dict__.get("unpacker")
        if unpacker is None or local.unpacker_dictionary is not dictionary:
            unpacker = local.unpacker = zstandard.ZstdDecompressor(dict_data=dictionary)
            local.unpacker_dictionary = dictionary
        return unpacker.decompress(data)

    def _learn(self, data: bytes) -> None:
        with self._lock:
            samples = self._samples
            if samples is None:
                return
            samples.append(data)
            if len(samples) < self._train_at:
                return
            self._samples = None  # one dictionary per process: every later frame is read with it
        try:
            dictionary = zstandard.train_dictionary(DICTIONARY_BYTES, samples)
            dictionary.precompute_compress(level=1)
        except zstandard.ZstdError as e:  # too few distinct samples: the spans stay compressed without one
            LOG.debug("no zstd dictionary for spans: %s", e)
            return
        self.dictionary = dictionary


_CODEC = SpanCodec()  # one per process: the ring's spans are read back wherever the API is served


def compress(data: bytes, exact: bool = True) -> bytes:
    """A span's JSON for the ring; `exact=False` when only json.loads reads it back as it was (see decode)."""
    packed = _CODEC.compress(data)
    return packed if exact else INEXACT_MARK + packed


def _entry(span: dict, payload) -> tuple:
    return (span["seq"], span.get("ts"), span.get("trace_id"), span.get("service"), bool(span.get("noise")), payload)


_BUILD_LOCK = threading.Lock()  # one build at a time: a reader and the writer never both build a span
_failures_logged: set = set()


class Deferred:
    """A span recorded before it is built: `build(*args)` makes its dict when first needed, by the writer (in its
    batch, off the request's path) or by a reader that reaches it first. Its entry carries the seq, ts and service;
    the trace id and the noise flag are the built span's (see SpanStore._settled). When the build fails,
    `fallback(*args)` gives the span's identity (ids, caller, operation, status: what the request knew), recorded
    with the recorder's error so that its trace, map and children stay whole."""

    __slots__ = ("build", "args", "fallback", "seq", "ts", "service", "span")
    # builds made and their thread CPU, all threads (for /_sandbox/recorder; updated under _BUILD_LOCK)
    built = 0
    spent_ns = 0

    def __init__(self, build, args: tuple, ts: float | None = None, service: str | None = None, fallback=None):
        self.build = build
        self.args = args
        self.fallback = fallback
        self.seq = 0
        self.ts = ts
        self.service = service
        self.span: dict | None = None

    def get(self) -> dict:
        span = self.span
        if span is not None:
            return span
        with _BUILD_LOCK:
            if self.span is not None:  # built by another thread meanwhile
                return self.span
            t0 = thread_time_ns()
            try:
                span = self.build(*self.args)
                if type(span) is not dict:
                    raise TypeError(f"{self.build.__qualname__} returned {type(span).__name__}, not a span")
            except Exception as e:  # noqa: BLE001 - the recorder must never take the sandbox down
                span = self._failed(e)
            span["seq"] = self.seq
            self.span = span
            self.build = self.args = self.fallback = None  # what the request left (its request, answer) is let go
            Deferred.built += 1
            Deferred.spent_ns += thread_time_ns() - t0
        return span

    def _failed(self, e: Exception) -> dict:
        key = (getattr(self.build, "__qualname__", None), type(e).__name__)
        if key not in _failures_logged:  # once per build and kind of error: a failure on every request floods nothing
            _failures_logged.add(key)
            LOG.warning("could not build span %s (%s: %s); later failures of this kind are logged at debug level",
                        self.seq, *key, exc_info=True)
        else:
            LOG.debug("could not build span %s", self.seq, exc_info=True)
        span = None
        if self.fallback is not None:
            try:
                span = self.fallback(*self.args)
            except Exception:  # noqa: BLE001
                span = None
        if type(span) is not dict:
            span = {"ts": self.ts, "kind": "request", "service": self.service, "trace_id": None, "span_id": None}
        span["error"] = {"code": "SandboxRecorderError",
                         "message": f"the recorder could not build this span: {type(e).__name__}: {e}"[:1000]}
        return span


def _settled(entry: tuple) -> tuple:
    """`entry` with its Deferred payload built: the trace id and noise flag filters read are the span's."""
    payload = entry[PAYLOAD]
    if type(payload) is not Deferred:
        return entry
    span = payload.get()
    return _entry(span, span)


LOOSE_OVERHEAD = 200  # a written span not yet in a chunk: its tuple, seq and ts objects, trace id string


def _loose_size(entry: tuple) -> int:
    return len(entry[PAYLOAD]) + LOOSE_OVERHEAD


class Chunk:
    """Written spans held together: their compressed JSON in one buffer, what filters look at in arrays.

    Held one by one, a span was six small objects (its slot's tuple, seq, ts, trace id, compressed bytes, a size
    record) spread through the allocator's pools among what requests leave behind, and it kept those pools alive:
    ~1.7 KB of resident memory per held span for ~0.4 KB of data (bench/memory.py: +35 MB of PSS per 1,000-upload
    run while the history grew 7.5 MB; tests/unit/test_span_store.py measures it). A chunk is a handful of objects
    for hundreds of spans; the ring's slots point at it. Immutable once built: readers use it without the lock."""

    __slots__ = ("seqs", "ts", "traces", "services", "noise", "ends", "blob", "size", "contiguous")

    def __init__(self, entries: list[tuple]):
        """`entries`: (seq, ts, trace_id, service, noise, compressed JSON), in increasing seq."""
        self.seqs = array("q", [e[SEQ] for e in entries])
        self.ts = array("d", [_ts(e[TS]) for e in entries])
        traces: dict = {}  # the spans of a trace share one string
        self.traces = [traces.setdefault(t, t) if type(t) is str else t for t in (e[TRACE] for e in entries)]
        self.services = [sys.intern(e[SERVICE]) if type(e[SERVICE]) is str else e[SERVICE] for e in entries]
        self.noise = bytes(bool(e[NOISE]) for e in entries)
        self.ends = array("I", accumulate(len(e[PAYLOAD]) for e in entries))
        self.blob = b"".join(e[PAYLOAD] for e in entries)
        self.size = len(self.blob) + ENTRY_OVERHEAD * len(entries) + sum(map(sys.getsizeof, traces))
        self.contiguous = self.seqs[-1] - self.seqs[0] == len(entries) - 1  # no gaps (the writer's always)

    @property
    def first(self) -> int:
        return self.seqs[0]

    @property
    def last(self) -> int:
        return self.seqs[-1]

    def index(self, seq: int) -> int:
        """Where span `seq` is in this chunk, or -1."""
        seqs = self.seqs
        i = seq - seqs[0]
        if not 0 <= i < len(seqs) or seqs[i] != seq:  # seqs with gaps (a file loaded at start-up)
            i = bisect_left(seqs, seq)
            if i >= len(seqs) or seqs[i] != seq:
                return -1
        return i

    def entry(self, i: int) -> tuple:
        start = self.ends[i - 1] if i else 0
        return (self.seqs[i], self.ts[i], self.traces[i], self.services[i], bool(self.noise[i]),
                self.blob[start:self.ends[i]])


def _ts(value) -> float:
    """A span's ts for the chunk's array (a span recorded without a number filters as Filter.quick treats None)."""
    if isinstance(value, (int, float)) and -1e300 < value < 1e300:
        return float(value)
    return 0.0


def _run(chunk: Chunk, lo: int, hi: int, match: Filter | None, reverse: bool) -> Iterator[int]:
    """Positions lo..hi of `chunk` that pass `match.quick`."""
    if match is None:
        return iter(range(hi, lo - 1, -1) if reverse else range(lo, hi + 1))
    ts, traces, services, noise, quick = chunk.ts, chunk.traces, chunk.services, chunk.noise, match.quick
    if match.trace is not None:  # the trace's spans found by list.index, in C
        found, k = [], lo
        try:
            while True:
                k = traces.index(match.trace, k, hi + 1)
                found.append(k)
                k += 1
        except ValueError:
            pass
        positions = reversed(found) if reverse else found
    else:
        positions = range(hi, lo - 1, -1) if reverse else range(lo, hi + 1)
    return (k for k in positions if quick(ts[k], traces[k], services[k], noise[k]))


def decode(entry: tuple) -> dict:
    payload = entry[PAYLOAD]
    if isinstance(payload, dict):
        return payload
    if payload[:1] == INEXACT_MARK:
        return json.loads(_CODEC.decompress(payload[1:]))
    return loads(_CODEC.decompress(payload))


class SpanStore:
    def __init__(self, capacity: int = DEFAULT_CAPACITY, path: Path | None = None,
                 history_bytes: int = HISTORY_BYTES):
        self.capacity = capacity
        self.history_bytes = history_bytes
        self.held_bytes = 0  # of the written spans: `_chunks` and `_loose`
        self._chunks: deque[Chunk] = deque()  # oldest first
        self._loose: deque[tuple] = deque()  # written spans not yet in a chunk (fewer than CHUNK_SPANS), oldest first
        # seq % capacity -> the span's entry tuple (recorded, or written and not yet in a chunk) or its Chunk
        self.slots: list[tuple | Chunk | None] = [None] * capacity
        self.next_seq = 1
        self.first_seq = 1
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.waiters = 0
        self.path = Path(path) if path else None
        self.loaded = threading.Event()
        # Spans waiting for the writer, which takes them every WRITE_DELAY; a request wakes it only when
        # WAKE_AT spans wait. A SimpleQueue woke the writer on every span, and that hand-off of the GIL was 10 % of
        # LocalStack's GIL time in a SendMessage loop; an Event set on the first span of each batch still 5 %
        # (py-spy, 2026-12-05).
        self._pending: list[tuple] = []
        self._wake = threading.Event()
        self._busy = False
        self.batches_written = 0
        self._writer: threading.Thread | None = None
        if self.path is None:
            self.loaded.set()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # stopped right after a rotation, before a span was written again: the seqs go on from the rotated file
        last = last_seq_in(self.path) or last_seq_in(self.path.with_suffix(".1.jsonl"))
        self.next_seq = self.first_seq = last + 1
        self._writer = threading.Thread(target=self._write_loop, name="sandbox-span-writer", daemon=True)
        self._writer.start()
        atexit.register(self.flush, 3.0)  # LocalStack stopping (SIGTERM): what is queued still reaches the file
        if last:
            threading.Thread(target=self._load_history, name="sandbox-span-loader", daemon=True).start()
        else:
            self.loaded.set()

    # --- writing ----------------------------------------------------------------------------------------
    def record(self, span: dict | Deferred) -> int:
        """Records a span, or a Deferred one (its `ts` and `service` known before it is built)."""
        with self.lock:
            seq = self.next_seq
            self.next_seq = seq + 1
            if type(span) is Deferred:
                span.seq = seq
                entry = (seq, span.ts, None, span.service, False, span)
            else:
                span["seq"] = seq
                entry = _entry(span, span)
            self.slots[seq % self.capacity] = entry
            if seq - self.first_seq >= self.capacity:
                self.first_seq = seq - self.capacity + 1
            if self.waiters:
                self.cond.notify_all()
            if self._writer is not None:
                self._pending.append(entry)
                full = len(self._pending) == WAKE_AT
            else:
                full = False
        if full:
            self._wake.set()
        return seq

    def _write_loop(self) -> None:
        out = batch = lines = written = entry = built = None
        slots, cap = self.slots, self.capacity
        while True:
            self._wake.wait(WRITE_DELAY)
            self._wake.clear()
            if not self._pending:
                continue
            self._busy = True
            with self.lock:
                batch, self._pending = self._pending, []
            try:
                lines, written = [], []
                # built and compacted before any I/O: a file that cannot be written keeps no request's arguments
                for i, entry in enumerate(batch):
                    built = _settled(entry)  # a Deferred span is built here, in the batch
                    line, exact = _dumps(built[PAYLOAD])
                    lines.append(line)
                    index = entry[SEQ] % cap
                    if slots[index] is entry:  # not overwritten by a newer span meanwhile
                        slots[index] = held = built[:PAYLOAD] + (compress(line, exact),)
                        written.append(held)
                    # ~12 us a span to write since orjson and zstd, ~50 with a deferred span's build: request threads
                    # wait for the GIL here up to ~1 ms (sleep(0) has a cost of its own; not measured more often)
                    if i % 16 == 15:
                        time.sleep(0)  # let request threads have the GIL: this thread is never in a hurry
                lines.append(b"")
                try:
                    if out is None:
                        out = open(self.path, "ab")
                        if out.tell() and not _ends_a_line(self.path):  # a write cut short (a crash): end that line
                            out.write(b"\n")
                    out.write(b"\n".join(lines))
                    out.flush()
                finally:  # the file first: packing for memory never keeps a span from it
                    self._hold(written)
                self.batches_written += 1
                if out.tell() > ROTATE_BYTES:
                    out.close()
                    out = None
                    os.replace(self.path, self.path.with_suffix(".1.jsonl"))
            except Exception:  # noqa: BLE001 - the recorder must never take the sandbox down
                LOG.exception("could not write spans to %s", self.path)
                out = None
                time.sleep(1)
            finally:
                # the batch's span dicts (~4 KB each) would otherwise live in these locals until the next batch
                batch = lines = written = entry = built = None
                self._busy = False

    def _hold(self, written: list[tuple]) -> None:
        """Counts the spans just written and drops the oldest while all hold more than `history_bytes` (and those
        the ring has overwritten by count); then packs the loose ones into chunks of CHUNK_SPANS."""
        loose, slots, cap = self._loose, self.slots, self.capacity
        loose.extend(written)
        with self.lock:
            self.held_bytes += sum(_loose_size(entry) for entry in written)
            self._trim()
        if len(loose) < CHUNK_SPANS:
            return
        packed = [list(islice(loose, start, start + CHUNK_SPANS))
                  for start in range(0, len(loose) - CHUNK_SPANS + 1, CHUNK_SPANS)]
        chunks = [Chunk(entries) for entries in packed]
        with self.lock:
            for chunk, entries in zip(chunks, packed):
                for entry in entries:
                    index = entry[SEQ] % cap
                    if slots[index] is entry:
                        slots[index] = chunk
                    loose.popleft()
                self._chunks.append(chunk)
                self.held_bytes += chunk.size - sum(_loose_size(entry) for entry in entries)
            self._trim()

    def _trim(self) -> None:
        """(under the lock)"""
        chunks, loose, slots, cap = self._chunks, self._loose, self.slots, self.capacity
        while chunks and (self.held_bytes > self.history_bytes or chunks[0].last < self.first_seq):
            chunk = chunks.popleft()
            self.held_bytes -= chunk.size
            for seq in chunk.seqs:
                if slots[seq % cap] is chunk:
                    slots[seq % cap] = None
            self.first_seq = max(self.first_seq, chunk.last + 1)
        while loose and (self.held_bytes > self.history_bytes or loose[0][SEQ] < self.first_seq):
            entry = loose.popleft()
            self.held_bytes -= _loose_size(entry)
            if slots[entry[SEQ] % cap] is entry:
                slots[entry[SEQ] % cap] = None
            self.first_seq = max(self.first_seq, entry[SEQ] + 1)

    def flush(self, timeout: float = 5.0) -> None:
        """Waits until everything recorded so far is on disk (shutdown)."""
        if self._writer is None:
            return
        deadline = time.monotonic() + timeout
        self._wake.set()
        while (self._pending or self._busy) and time.monotonic() < deadline:
            time.sleep(0.01)

    def _load_history(self) -> None:
        try:
            lines = list(read_lines(self.path, self.capacity))
            with self.lock:
                room = self.capacity - (self.next_seq - self.first_seq)
                start_seq = self.first_seq
                floor = self.next_seq - self.capacity  # older seqs would share a ring slot with a newer one
                found: dict[int, tuple] = {}  # seq -> (entry without payload, line): the newest line of each seq
                for line in reversed(lines):
                    if len(found) >= room:
                        break
                    try:
                        span = json.loads(line)
                        seq = span["seq"]
                    except (ValueError, KeyError, TypeError):
                        continue
                    if isinstance(seq, int) and floor <= seq < start_seq and seq not in found:
                        found[seq] = (_entry(span, None), line)
                del lines
                # newest first, in decreasing seq (a chunk's seqs increase); its size counted as a chunk counts it,
                # or more (a trace id once per group), so that the chunk stays within the budget
                group: list[tuple] = []
                group_bytes, traces = 0, set()
                for seq in sorted(found, reverse=True):
                    entry, line = found[seq]
                    if self.slots[seq % self.capacity] is not None:
                        continue
                    compressed = compress(line.encode("utf-8"), _INEXACT.search(line) is None)
                    size = len(compressed) + ENTRY_OVERHEAD
                    trace = entry[TRACE]
                    if trace not in traces:
                        size += sys.getsizeof(trace)
                    if self.held_bytes + group_bytes + size > self.history_bytes:
                        break
                    group.append(entry[:PAYLOAD] + (compressed,))
                    group_bytes += size
                    traces.add(trace)
                    if len(group) == CHUNK_SPANS:
                        self._hold_loaded(group)
                        group, group_bytes, traces = [], 0, set()
                if group:
                    self._hold_loaded(group)
        except Exception:  # noqa: BLE001
            LOG.exception("could not load recorded spans from %s", self.path)
        finally:
            self.loaded.set()

    def _hold_loaded(self, newest_first: list[tuple]) -> None:
        """(under the lock) Spans read from the file, older than all held: a chunk at the old end."""
        chunk = Chunk(newest_first[::-1])
        self.held_bytes += chunk.size
        for seq in chunk.seqs:
            self.slots[seq % self.capacity] = chunk
        self._chunks.appendleft(chunk)
        self.first_seq = min(self.first_seq, chunk.first)

    # --- reading ----------------------------------------------------------------------------------------
    @property
    def head(self) -> int:
        """The newest seq handed out (0: nothing recorded yet)."""
        return self.next_seq - 1

    def __len__(self) -> int:
        return sum(1 if chunk is None else hi - lo + 1 for chunk, lo, hi in self._runs(self.first_seq, self.head))

    def entry(self, seq: int) -> tuple | None:
        """Span `seq` as (seq, ts, trace_id, service, noise, span dict | compressed JSON), or None if not held."""
        slot = self.slots[seq % self.capacity]
        if slot is None:
            return None
        if type(slot) is tuple:
            return _settled(slot) if slot[SEQ] == seq else None
        i = slot.index(seq)
        return slot.entry(i) if i >= 0 else None

    def _runs(self, start: int, end: int, reverse: bool = False) -> Iterator[tuple]:
        """The held spans with start <= seq <= end, as runs: (None, entry tuple, seq) for a span held alone, (chunk,
        lo, hi) for positions lo..hi of a chunk (a trace lookup passes 100,000 spans: a chunk's run at once)."""
        slots, cap = self.slots, self.capacity
        start = max(start, self.first_seq)
        step = -1 if reverse else 1
        seq, stop = (end, start - 1) if reverse else (start, end + 1)
        while (stop < seq) if reverse else (seq < stop):
            slot = slots[seq % cap]
            if slot is None:
                seq += step
                continue
            if type(slot) is tuple:
                if slot[SEQ] == seq:
                    yield None, slot, seq
                seq += step
                continue
            i = slot.index(seq)
            if i < 0:
                seq += step
                continue
            if not slot.contiguous:  # seqs with gaps (read from a file): one by one
                lo = hi = i
            elif reverse:
                lo, hi = max(0, i - (seq - stop) + 1), i
            else:
                lo, hi = i, min(len(slot.seqs) - 1, i + (stop - seq) - 1)
            yield slot, lo, hi
            seq += step * (hi - lo + 1)

    def _entries(self, start: int, end: int, match: Filter | None, reverse: bool = False) -> Iterator[tuple]:
        slots, cap = self.slots, self.capacity
        for chunk, lo, hi in self._runs(start, end, reverse):
            if chunk is None:  # lo: the entry
                entry = _settled(lo)
                if match is None or match.quick(entry[TS], entry[TRACE], entry[SERVICE], entry[NOISE]):
                    yield entry
                continue
            for k in _run(chunk, lo, hi, match, reverse):
                if slots[chunk.seqs[k] % cap] is chunk:  # the ring may have given its slot a newer span meanwhile
                    yield chunk.entry(k)

    def iter_range(self, start: int, end: int, match: Filter | None = None) -> Iterator[dict]:
        """Spans with start <= seq <= end (that pass `match`), oldest first."""
        for entry in self._entries(start, end, match):
            span = decode(entry)
            if match is None or match.quick_only or match(span):
                yield span

    def all(self, match: Filter | None = None) -> Iterator[dict]:
        return self.iter_range(self.first_seq, self.head, match)

    def since(self, cursor: int | None, limit: int, match: Filter | None = None,
              wait: float = 0.0) -> tuple[list[dict], int]:
        """Spans after `cursor` (oldest first, at most `limit`), and the cursor to continue from.

        Without a cursor: the newest `limit` matching spans. With `wait`, blocks up to that many seconds until a
        matching span arrives (long poll).
        """
        self.loaded.wait(timeout=10)
        if cursor is None:
            return self._tail(limit, match), self.head
        deadline = time.monotonic() + min(max(wait, 0.0), MAX_WAIT_SECONDS)
        while True:
            end = self.head
            found: list[dict] = []
            for entry in self._entries(cursor + 1, end, match):
                span = decode(entry)
                if match is None or match.quick_only or match(span):
                    found.append(span)
                    if len(found) >= limit:
                        return found, entry[SEQ]
            cursor = max(cursor, end)
            remaining = deadline - time.monotonic()
            if found or remaining <= 0:
                return found, cursor
            with self.cond:
                if self.head == end:
                    self.waiters += 1
                    try:
                        self.cond.wait(remaining)
                    finally:
                        self.waiters -= 1

    def _tail(self, limit: int, match: Filter | None) -> list[dict]:
        out: list[dict] = []
        for entry in self._entries(self.first_seq, self.head, match, reverse=True):
            span = decode(entry)
            if match is None or match.quick_only or match(span):
                out.append(span)
                if len(out) >= limit:
                    break
        out.reverse()
        return out


def _ends_a_line(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def last_seq_in(path: Path) -> int:
    """The seq of the last complete line of a JSONL file (0 if none), reading only its end."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            block = min(size, 256 * 1024)
            f.seek(size - block)
            lines = f.read(block).splitlines()
    except OSError:
        return 0
    for line in reversed(lines):
        try:
            return int(json.loads(line)["seq"])
        except (ValueError, KeyError, TypeError):
            continue
    return 0


def read_lines(path: Path, newest: int | None = None) -> Iterator[str]:
    """Lines of a JSONL file (and of its rotated predecessor), oldest first; only the newest `newest` if given."""
    from collections import deque

    paths = [p for p in (Path(path).with_suffix(".1.jsonl"), Path(path)) if p.exists()]
    buf: deque = deque(maxlen=newest) if newest else deque()
    for p in paths:
        with open(p, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if line:
                    buf.append(line)
    return iter(buf)


def read_jsonl(path: Path, newest: int | None = None) -> Iterator[dict]:
    """Spans of a JSONL file (and of its rotated predecessor), oldest first."""
    for line in read_lines(path, newest):
        try:
            yield json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash
