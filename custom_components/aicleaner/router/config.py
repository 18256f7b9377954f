"""Router and per-provider settings, with the design document's defaults.

Plain frozen dataclasses: the Home Assistant glue builds them from config entry options
(`from_mapping` takes the option names the design document uses) and hands them to the router.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, Self


class SelectionStrategy(StrEnum):
    """How the router orders the candidate providers for one request."""

    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"
    FASTEST = "fastest"
    COST_OPTIMAL = "cost_optimal"
    PRIORITY = "priority"
    ADAPTIVE = "adaptive"


def _known(cls: type[Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the keys of `data` that are fields of the dataclass `cls`."""
    names = {f.name for f in fields(cls)}
    return {key: value for key, value in data.items() if key in names}


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerSettings:
    """Circuit breaker settings of one provider."""

    # Consecutive failures that open the breaker.
    failure_threshold: int = 5
    # Seconds the breaker stays open before it admits trial requests.
    timeout_seconds: float = 60.0
    # Trial requests admitted at once while half-open.
    half_open_max_calls: int = 3

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Self:
        """Build from a mapping; unknown keys are ignored."""
        return cls(**_known(cls, data))


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderSettings:
    """Routing settings of one configured provider. A limit of None means unlimited."""

    enabled: bool = True
    # 1 is the highest priority.
    priority: int = 1
    # Share of traffic under round robin, and the tie-break under priority.
    weight: float = 1.0
    rate_limit_rpm: int | None = 60
    # The design's 10,000 was below one Assist call (its input counted at one token per byte, about
    # 13,000 with HA's tools), so a turn's second round waited or failed over. 30,000 is about the
    # lowest first-tier limit of the cloud providers; a real limit above it is learnt from 429s.
    rate_limit_tpm: int | None = 30_000
    rate_limit_rph: int | None = 3600
    # Extra requests the per-minute bucket holds above `rate_limit_rpm`, for short bursts.
    burst_allowance: int = 10
    enable_adaptive_throttling: bool = True
    # USD per day in the router's time zone.
    daily_budget: float | None = 10.0
    # Retries on this provider for retryable errors, after the first attempt.
    max_retries: int = 3
    # Seconds one attempt may take (the request's deadline may cut it shorter).
    timeout_seconds: float = 30.0
    # Seconds a stream may take to its first token before the next provider is tried; None: 10
    # for a cloud provider, 30 for a local one (a local model may have to load first).
    ttft_timeout: float | None = None
    breaker: BreakerSettings = field(default_factory=BreakerSettings)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Self:
        """Build from the design document's option names; unknown keys are ignored.

        Breaker options may be nested under `circuit_breaker` or given flat
        (`failure_threshold`, `circuit_breaker_timeout`, `half_open_max_calls`).
        """
        values = _known(cls, data)
        # A negative burst is clamped to 0, not rejected: it can only mean "no extra burst" (the
        # rate limiter reads it so too), and one bad number must not keep the provider from loading.
        if values.get("burst_allowance") is not None:
            values["burst_allowance"] = max(0, int(values["burst_allowance"]))
        breaker: dict[str, Any] = dict(data.get("circuit_breaker") or {})
        if "failure_threshold" in data:
            breaker["failure_threshold"] = data["failure_threshold"]
        if "circuit_breaker_timeout" in data:
            breaker["timeout_seconds"] = data["circuit_breaker_timeout"]
        if "half_open_max_calls" in data:
            breaker["half_open_max_calls"] = data["half_open_max_calls"]
        values["breaker"] = BreakerSettings.from_mapping(breaker)
        return cls(**values)


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutingRule:
    """A condition that puts some providers first, in the given order.

    `condition` is "image_analysis" (the request has images), "text" (it has none) or a tag the
    caller puts in `AIRequest.tags`. Of the matching enabled rules, the one with the lowest
    `priority` number wins.
    """

    condition: str
    providers: tuple[str, ...]
    priority: int = 1
    enabled: bool = True

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Self:
        """Build from a mapping; `provider` (one name) or `providers` (a list) name the order."""
        providers = data.get("providers")
        if providers is None:
            providers = [data["provider"]] if data.get("provider") else []
        return cls(
            condition=str(data["condition"]),
            providers=tuple(str(name) for name in providers),
            priority=int(data.get("priority", 1)),
            enabled=bool(data.get("enabled", True)),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RouterConfig:
    """Settings of the router as a whole."""

    selection_strategy: SelectionStrategy = SelectionStrategy.ADAPTIVE
    # Response cache: seconds an entry lives, and both size bounds.
    cache_ttl: float = 300.0
    cache_max_entries: int = 1000
    cache_max_bytes: int = 8 * 1024 * 1024
    # Default concurrency of `process_batch`.
    batch_size: int = 5
    # Seconds a request may take across every attempt, when the request gives no timeout.
    request_timeout: float = 120.0
    # USD per day over every provider; None means no global budget.
    global_daily_budget: float | None = None
    routing_rules: tuple[RoutingRule, ...] = ()
    # Backoff between retries: full jitter over min(backoff_max, backoff_base * 2**retry).
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    # A wait longer than this (Retry-After or backoff) fails over instead of waiting.
    max_retry_wait: float = 10.0
    # Live stats: EWMA smoothing and the latency window for p50 / p95.
    ewma_alpha: float = 0.2
    latency_window: int = 200
    # Under `fastest`, this share of requests tries a provider not measured for `explore_after` s.
    explore_rate: float = 0.05
    explore_after: float = 60.0

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Self:
        """Build from a mapping; unknown keys are ignored."""
        values = _known(cls, data)
        if "selection_strategy" in values:
            values["selection_strategy"] = SelectionStrategy(
                values["selection_strategy"]
            )
        if "routing_rules" in values:
            values["routing_rules"] = tuple(
                rule
                if isinstance(rule, RoutingRule)
                else RoutingRule.from_mapping(rule)
                for rule in values["routing_rules"]
            )
        return cls(**values)
