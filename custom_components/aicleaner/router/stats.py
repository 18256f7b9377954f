"""Live per-provider and overall statistics.

Recording is O(1) per call (counters, EWMAs and a bounded deque); percentiles are computed only
when a snapshot is taken.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass
import math
from typing import Any, ClassVar


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of already sorted `values` (share in 0..1); None when empty."""
    if not values:
        return None
    rank = max(0, min(len(values) - 1, math.ceil(share * len(values)) - 1))
    return values[rank]


class ProviderStats:
    """What the router has observed about one provider.

    The counters (`DAY_COUNTERS`) count the current local day and start afresh on the next; the
    latency and health estimates describe the provider and carry on.
    """

    DAY_COUNTERS: ClassVar[tuple[str, ...]] = (
        "requests",
        "successes",
        "failures",
        "skips",
        "usage_missing",
    )

    __slots__ = (
        "_alpha",
        "failures",
        "in_flight",
        "last_error_at",
        "last_error_category",
        "last_measured_at",
        "last_skip_reason",
        "latency_ewma",
        "latency_window",
        "requests",
        "rr_pass",
        "skips",
        "success_ewma",
        "successes",
        "usage_missing",
    )

    def __init__(self, alpha: float, window: int) -> None:
        """Nothing observed yet; health starts optimistic."""
        self._alpha = alpha
        self.in_flight = 0
        self.requests = 0
        self.successes = 0
        self.failures = 0
        self.skips = 0
        # Answers that reported no token usage, booked at their reservation.
        self.usage_missing = 0
        # Seconds; None until the first measurement.
        self.latency_ewma: float | None = None
        self.latency_window: deque[float] = deque(maxlen=max(1, window))
        # Monotonic time of the last latency measurement, -inf when never measured.
        self.last_measured_at = float("-inf")
        self.success_ewma = 1.0
        self.last_error_category: str | None = None
        # Wall-clock ISO time of the last error.
        self.last_error_at: str | None = None
        self.last_skip_reason: str | None = None
        # Stride-scheduling pass for weighted round robin: lowest goes next.
        self.rr_pass = 0.0

    @property
    def success_rate(self) -> float | None:
        """Share of calls that succeeded, None before the first call."""
        return self.successes / self.requests if self.requests else None

    def new_day(self) -> None:
        """Start the day's counters afresh."""
        for name in self.DAY_COUNTERS:
            setattr(self, name, 0)

    def record_latency(self, seconds: float, now: float) -> None:
        """Fold one response time into the EWMA and the window."""
        ewma = self.latency_ewma
        self.latency_ewma = (
            seconds if ewma is None else ewma + self._alpha * (seconds - ewma)
        )
        self.latency_window.append(seconds)
        self.last_measured_at = now

    def record_success(self, seconds: float, now: float) -> None:
        """One call succeeded after `seconds`."""
        self.requests += 1
        self.successes += 1
        self.success_ewma += self._alpha * (1.0 - self.success_ewma)
        self.record_latency(seconds, now)

    def record_failure(self, category: str, when: str) -> None:
        """One call failed with `category` at wall-clock time `when`."""
        self.requests += 1
        self.failures += 1
        self.success_ewma -= self._alpha * self.success_ewma
        self.last_error_category = category
        self.last_error_at = when

    def record_skip(self, reason: str) -> None:
        """Count a time the router did not call this provider, for `reason` (an error category)."""
        self.skips += 1
        self.last_skip_reason = reason

    def latency_percentiles(self) -> tuple[float | None, float | None]:
        """(p50, p95) of the window, in seconds."""
        values = sorted(self.latency_window)
        return percentile(values, 0.5), percentile(values, 0.95)

    def export(self, now: float) -> dict[str, Any]:
        """Plain data; times become ages so they survive a restart."""
        age = now - self.last_measured_at
        return {
            "requests": self.requests,
            "successes": self.successes,
            "failures": self.failures,
            "skips": self.skips,
            "usage_missing": self.usage_missing,
            "latency_ewma": self.latency_ewma,
            "latency_window": list(self.latency_window),
            "measured_age": age if age != float("inf") else None,
            "success_ewma": self.success_ewma,
            "last_error_category": self.last_error_category,
            "last_error_at": self.last_error_at,
            "last_skip_reason": self.last_skip_reason,
            "rr_pass": self.rr_pass,
        }

    def restore(self, data: Mapping[str, Any], now: float) -> None:
        """Load what `export` produced; counters already higher (booked since) stay."""
        self.requests = max(self.requests, int(data.get("requests", 0)))
        self.successes = max(self.successes, int(data.get("successes", 0)))
        self.failures = max(self.failures, int(data.get("failures", 0)))
        self.skips = max(self.skips, int(data.get("skips", 0)))
        self.usage_missing = max(self.usage_missing, int(data.get("usage_missing", 0)))
        ewma = data.get("latency_ewma")
        self.latency_ewma = None if ewma is None else float(ewma)
        self.latency_window.clear()
        self.latency_window.extend(float(v) for v in data.get("latency_window") or ())
        age = data.get("measured_age")
        self.last_measured_at = float("-inf") if age is None else now - float(age)
        self.success_ewma = float(data.get("success_ewma", 1.0))
        self.last_error_category = data.get("last_error_category")
        self.last_error_at = data.get("last_error_at")
        self.last_skip_reason = data.get("last_skip_reason")
        self.rr_pass = float(data.get("rr_pass", 0.0))


@dataclass(slots=True)
class OverallStats:
    """Counters over the requests the router served today (the router starts a new one each day)."""

    total_requests: int = 0
    successful_requests: int = 0
    failed_requests: int = 0
    cached_requests: int = 0
    # Seconds summed over successful requests, for the average.
    total_response_time: float = 0.0

    @property
    def average_response_time(self) -> float:
        """Mean seconds per successful request."""
        if not self.successful_requests:
            return 0.0
        return self.total_response_time / self.successful_requests

    def export(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "total_requests": self.total_requests,
            "successful_requests": self.successful_requests,
            "failed_requests": self.failed_requests,
            "cached_requests": self.cached_requests,
            "total_response_time": self.total_response_time,
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Merge what `export` produced: no figure decreases.

        So a restore never undoes spend booked since, and one restored twice counts once.
        """
        self.total_requests = max(
            self.total_requests, int(data.get("total_requests", 0))
        )
        self.successful_requests = max(
            self.successful_requests, int(data.get("successful_requests", 0))
        )
        self.failed_requests = max(
            self.failed_requests, int(data.get("failed_requests", 0))
        )
        self.cached_requests = max(
            self.cached_requests, int(data.get("cached_requests", 0))
        )
        self.total_response_time = max(
            self.total_response_time, float(data.get("total_response_time", 0.0))
        )


@dataclass(frozen=True, slots=True)
class ProviderSnapshot:
    """One provider's state for the coordinator and entities. Times in seconds, money in USD."""

    name: str
    label: str
    kind: str
    model: str
    enabled: bool
    breaker_state: str
    breaker_auth_failed: bool
    in_flight: int
    latency_ewma: float | None
    latency_p50: float | None
    latency_p95: float | None
    success_rate: float | None
    requests: int
    failures: int
    requests_today: int
    failures_today: int
    input_tokens_today: int
    output_tokens_today: int
    tokens_today: int
    cost_today: float
    daily_budget: float | None
    budget_remaining: float | None
    rate_headroom: float
    throttle_factor: float
    last_error_category: str | None
    last_error_at: str | None
    last_skip_reason: str | None
    # Today's answers that reported no token usage and were booked at their reservation.
    usage_missing: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain data."""
        return asdict(self)
