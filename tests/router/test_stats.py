"""Live stats: EWMA, success rate, bounded latency window with lazy percentiles, export/restore."""

from __future__ import annotations

import pytest

from custom_components.aicleaner.router.stats import (
    OverallStats,
    ProviderStats,
    percentile,
)


def test_percentile_uses_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.95) == 95
    assert percentile([], 0.5) is None
    assert percentile([3.0], 0.95) == 3.0


def test_latency_ewma_starts_at_the_first_sample_and_then_smooths() -> None:
    stats = ProviderStats(alpha=0.5, window=10)
    stats.record_success(2.0, now=1.0)
    assert stats.latency_ewma == 2.0
    stats.record_success(4.0, now=2.0)
    assert stats.latency_ewma == 3.0
    assert stats.last_measured_at == 2.0


def test_latency_window_is_bounded() -> None:
    stats = ProviderStats(alpha=0.2, window=3)
    for value in (1.0, 2.0, 3.0, 4.0):
        stats.record_latency(value, now=0.0)
    assert list(stats.latency_window) == [2.0, 3.0, 4.0]
    assert stats.latency_percentiles() == (3.0, 4.0)


def test_success_rate_and_health_follow_outcomes() -> None:
    stats = ProviderStats(alpha=0.5, window=10)
    assert stats.success_rate is None
    stats.record_success(1.0, now=0.0)
    stats.record_failure("provider", "2026-11-26T12:00:00+00:00")
    assert stats.success_rate == 0.5
    assert stats.success_ewma == pytest.approx(0.5)
    assert stats.last_error_category == "provider"
    stats.record_skip("budget")
    assert (stats.skips, stats.last_skip_reason) == (1, "budget")


def test_provider_stats_export_restore_round_trip_keeps_measurement_age() -> None:
    stats = ProviderStats(alpha=0.3, window=10)
    stats.record_success(1.5, now=100.0)
    stats.record_failure("timeout", "t")
    stats.rr_pass = 2.5
    data = stats.export(now=130.0)
    assert data["measured_age"] == 30.0
    restored = ProviderStats(alpha=0.3, window=10)
    restored.restore(data, now=1000.0)
    assert restored.export(now=1030.0) == {**data, "measured_age": 60.0}


def test_never_measured_provider_exports_no_age() -> None:
    data = ProviderStats(alpha=0.3, window=10).export(now=5.0)
    assert data["measured_age"] is None
    restored = ProviderStats(alpha=0.3, window=10)
    restored.restore(data, now=5.0)
    assert restored.last_measured_at == float("-inf")


def test_overall_stats_average_and_round_trip() -> None:
    overall = OverallStats()
    assert overall.average_response_time == 0.0
    overall.successful_requests = 2
    overall.total_response_time = 3.0
    assert overall.average_response_time == 1.5
    restored = OverallStats()
    restored.restore(overall.export())
    assert restored == overall
