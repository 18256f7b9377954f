"""The HTTP benchmark measures what it says: every contender really calls the server, figures add up."""

from __future__ import annotations

from pathlib import Path
import subprocess
import sys

import pytest

from bench import ha_action, memory, router_http
from bench.openai_server import DEFAULT_TEXT


@pytest.mark.usefixtures("socket_enabled")
async def test_every_contender_really_serves_each_request_at_each_concurrency() -> None:
    # `run` itself checks, per contender, that the server answered each warm-up call (the cache
    # hit once), so a contender that skipped the network would fail here.
    results = await router_http.run(20, 1, None)
    assert set(results) == {"raw", "provider", "router", "router_info", "cache_hit"}
    for by_concurrency in results.values():
        assert set(by_concurrency) == set(router_http.CONCURRENCIES)
        for result in by_concurrency.values():
            assert len(result.latencies) == 20
            assert len(result.rounds_rps) == 1
            assert result.rps > 0
    summary = router_http.summary(results)
    assert summary["router_vs_raw"]["c1"] == pytest.approx(
        results["router"][1].rps / results["raw"][1].rps, abs=1e-3
    )
    assert summary["litellm_rps"] == {"c1": None, "c32": None}
    assert summary["litellm_latency_rps"] == {"c1": None, "c32": None}
    assert summary["cache_hit_p50_us"] < summary["router_added_p50_us"] + (
        results["raw"][1].percentile(0.5)
    )


def test_percentiles_come_from_the_recorded_latencies() -> None:
    result = router_http.Result(latencies=[0.001 * i for i in range(1, 101)])
    assert result.percentile(0.5) == pytest.approx(51_000)
    assert result.percentile(0.99) == pytest.approx(100_000)


@pytest.mark.usefixtures("socket_enabled")
async def test_the_action_and_the_router_really_answer_from_the_server_and_setup_makes_no_call() -> (
    None
):
    # `run` checks that the server answered every warm-up call of each contender and that the
    # action returned the server's text; a contender that skipped the router would fail there.
    report = await ha_action.run(10, 1, 2)
    assert set(report.results) == {"router", "action"}
    for by_concurrency in report.results.values():
        assert set(by_concurrency) == set(router_http.CONCURRENCIES)
        for result in by_concurrency.values():
            assert len(result.latencies) == 10
            assert result.rps > 0
    answer = report.sample_answer
    assert answer["text"] == DEFAULT_TEXT
    assert answer["provider"].startswith("Provider ")
    assert answer["cached"] is False
    assert [attempt["outcome"] for attempt in answer["attempts"]] == ["success"]
    assert len(report.setups) == 2
    assert report.setup_requests == 0
    summary = ha_action.summary(report)
    assert summary["action_vs_router"]["c1"] == pytest.approx(
        report.results["action"][1].rps / report.results["router"][1].rps, abs=1e-3
    )
    assert summary["setup_network_requests"] == 0


@pytest.mark.usefixtures("socket_enabled")
def test_the_cache_really_holds_every_answer_and_every_request_really_is_in_flight() -> (
    None
):
    results = memory.run(entries=300, answer_bytes=1024, inflight=60)
    cache = results["cache"]
    # Each distinct request reached the server once, and its 1 KB answer is in the cache.
    assert cache["entries"] == 300
    assert cache["server_calls"] == 300
    assert cache["answer_bytes_total"] == 300 * 1024
    assert cache["hit_after_fill"] is True
    assert cache["answer_matches"] is True
    inflight = results["inflight"]
    # At the measurement the server held every request, unanswered, and the router counted them
    # all in flight; once released, each got its answer.
    assert inflight["held"] == 60
    assert inflight["router_in_flight"] == 60
    assert inflight["answered"] == 60
    assert inflight["server_calls"] == 60
    summary = memory.summary(results)
    assert summary["cache_entries"] == 300
    assert summary["inflight_held"] == 60
    assert summary["cache_10k_mb"] == pytest.approx(
        cache["growth_bytes"] / memory.MB, abs=0.01
    )


_METER_CHECK = """
from bench import memory
meter = memory.Meter(profile=False)
taken = b"x" * (48 * memory.MB)  # written, so resident
print(meter.growth(), meter.peak_growth())
"""


def test_the_meter_sees_memory_that_is_really_taken() -> None:
    # In a fresh process, as bench/memory.py runs each case: in this long-lived one, pages freed
    # by earlier tests stay resident and could serve the allocation without any growth.
    out = subprocess.run(
        [sys.executable, "-c", _METER_CHECK],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    growth, peak = (int(figure) for figure in out.stdout.split())
    assert growth >= 40 * memory.MB
    assert peak >= 40 * memory.MB
