"""The HTTP benchmark measures what it says: every contender really calls the server, figures add up."""

from __future__ import annotations

import pytest

from bench import router_http


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
    assert summary["cache_hit_p50_us"] < summary["router_added_p50_us"] + (
        results["raw"][1].percentile(0.5)
    )


def test_percentiles_come_from_the_recorded_latencies() -> None:
    result = router_http.Result(latencies=[0.001 * i for i in range(1, 101)])
    assert result.percentile(0.5) == pytest.approx(51_000)
    assert result.percentile(0.99) == pytest.approx(100_000)
