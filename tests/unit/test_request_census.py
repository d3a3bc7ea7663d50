"""sandbox/localstack_ext/request_census.py: each request's CPU counts for its own operation, a request made in
process by another counts for its own and not twice, and the bench's per-file table is the difference of two."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from rolo.gateway.chain import HandlerChain
from werkzeug.wrappers import Response

from sandbox.localstack_ext import request_census


def burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def context(service: str | None, operation: str | None, path: str = "/"):
    return SimpleNamespace(service=service and SimpleNamespace(service_name=service),
                           operation=operation and SimpleNamespace(name=operation),
                           request=SimpleNamespace(path=path))


@pytest.fixture
def counted_chain(monkeypatch):
    """rolo's HandlerChain.handle wrapped as install() wraps it, on a clean slate."""
    monkeypatch.setattr(request_census, "_totals", {})
    monkeypatch.setattr(HandlerChain, "handle", request_census.counted(HandlerChain.handle))

    def run(ctx, *handlers):
        HandlerChain(request_handlers=list(handlers)).handle(ctx, Response())

    return run


def test_a_request_made_in_process_counts_for_its_own_operation_not_twice(counted_chain):
    def ship_logs(chain, ctx, response):
        burn(0.03)

    def invoke(chain, ctx, response):
        burn(0.05)
        counted_chain(context("logs", "PutLogEvents"), ship_logs)  # as the log shipping does, in this thread

    counted_chain(context("lambda", "Invoke"), invoke)
    counted_chain(context("lambda", "Invoke"), invoke)
    got = request_census.snapshot()
    assert got["lambda.Invoke"]["count"] == 2 and got["logs.PutLogEvents"]["count"] == 2
    assert 0.09 <= got["lambda.Invoke"]["cpu_s"] < 0.13, got  # 2 x 50 ms, without the 2 x 30 ms nested
    assert 0.05 <= got["logs.PutLogEvents"]["cpu_s"] < 0.09, got
    assert got["lambda.Invoke"]["wall_s"] >= got["lambda.Invoke"]["cpu_s"] * 0.9


def test_a_failing_request_is_counted_and_requests_without_an_operation_by_path(counted_chain):
    def crash(chain, ctx, response):
        burn(0.01)
        raise ValueError("boom")

    counted_chain(context("sqs", "SendMessage"), crash)
    counted_chain(context(None, None, "/_localstack_lambda/0123abcd/invoke"), lambda *a: None)
    counted_chain(context("s3", None), lambda *a: None)
    got = request_census.snapshot()
    assert got["sqs.SendMessage"]["count"] == 1 and got["sqs.SendMessage"]["cpu_s"] >= 0.009
    assert got["http /_localstack_lambda"]["count"] == 1  # no environment id: one line for all
    assert got["s3.?"]["count"] == 1


def test_census_is_off_unless_asked(monkeypatch):
    monkeypatch.delenv("SANDBOX_REQUEST_CENSUS", raising=False)
    assert not request_census.enabled()
    before = HandlerChain.handle
    request_census.install()
    assert HandlerChain.handle is before


def test_the_bench_table_is_per_unit_between_two_censuses(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "bench"))
    from _common import census_per_unit

    before = {"dynamodb.UpdateItem": {"cpu_s": 1.0}, "s3.PutObject": {"cpu_s": 0.5}}
    after = {"dynamodb.UpdateItem": {"cpu_s": 9.4}, "s3.PutObject": {"cpu_s": 1.7}, "sqs.SendMessage": {"cpu_s": 0.7}}
    table = census_per_unit(before, after, units=1000, top=2)
    assert table == pytest.approx({"census dynamodb.UpdateItem ms": 8.4, "census s3.PutObject ms": 1.2,
                                   "census total ms": 10.3})
    assert census_per_unit(None, after, 10) == {}
