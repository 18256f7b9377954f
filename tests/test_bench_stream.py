"""The streaming benchmark measures what it says: both contenders stream from the server, failover meets the stall."""

from __future__ import annotations

import argparse

import pytest

from bench import stream_http


@pytest.mark.usefixtures("socket_enabled")
async def test_stream_benchmark_streams_from_the_server_and_fails_over_from_the_stall() -> (
    None
):
    # `run` checks the server's counts: every timed and warm-up stream of both contenders, one
    # stalled request per failover, and the good provider's stream after each.
    args = argparse.Namespace(
        requests=10, rounds=1, ttft=0.2, failovers=2, litellm_python=None
    )
    figures = await stream_http.run(args)
    assert set(figures) == {
        "stream_ttft_added_p50_us_c1",
        "stream_ttft_added_p50_us_c32",
        "stream_failover_extra_ms",
        "litellm_stream_failover_extra_ms",
        "stream_vs_raw_c1",
        "stream_vs_raw_c32",
    }
    assert figures["litellm_stream_failover_extra_ms"] is None
    # The failover waited for the deadline: its extra time is what came after it, never negative.
    assert figures["stream_failover_extra_ms"] >= 0
    assert figures["stream_vs_raw_c1"] > 0
