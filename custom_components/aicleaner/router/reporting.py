"""What the router tells: log records, live stats and snapshots, metrics, costs, and its saved state.

The mixin holds the part of `Router` that reports rather than routes; `RouterSnapshot` is what the
Home Assistant coordinator shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
import logging
from typing import Any

from .budget import BudgetLedger
from .cache import ResponseCache
from .config import RouterConfig
from .errors import AICleanerError, AllProvidersFailed, ProviderError
from .models import AIRequest, AIResponse, Attempt, ModelCapabilities
from .slot import Slot
from .stats import OverallStats, ProviderSnapshot, ProviderStats

_LOGGER = logging.getLogger("custom_components.aicleaner.router")

STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class RouterSnapshot:
    """Everything the Home Assistant coordinator shows, taken at one moment."""

    day: str
    selection_strategy: str
    total_requests: int
    successful_requests: int
    failed_requests: int
    cached_requests: int
    average_response_time: float
    cost_today: float
    global_daily_budget: float | None
    providers: Mapping[str, ProviderSnapshot]


class ReportingMixin:
    """The reporting half of `Router`; the attributes below are the router's."""

    _budget: BudgetLedger
    _cache: ResponseCache
    _clock: Callable[[], float]
    _config: RouterConfig
    _overall: OverallStats
    _slots: dict[str, Slot]
    _slot_list: tuple[Slot, ...]
    _stats_day: date

    def _label(self, name: str) -> str:
        """Return what people call the provider `name` (the name itself once it is gone)."""
        slot = self._slots.get(name)
        return name if slot is None else slot.provider.label

    def _count_today(self) -> OverallStats:
        """Today's overall counters; the first request of a new day starts them afresh."""
        day = self._budget.day
        if day > self._stats_day:
            self._stats_day = day
            self._overall = OverallStats()
            for slot in self._slot_list:
                slot.stats.new_day()
        return self._overall

    def _log_success(self, response: AIResponse) -> None:
        seconds = response.latency_ms / 1000
        _LOGGER.info(
            "Request %s answered by %s (%s) in %.3f s, cost %.6f USD, cached %s, %d attempts",
            response.request_id,
            self._label(response.provider),
            response.model,
            seconds,
            response.cost,
            response.cached,
            len(response.attempts),
            extra={
                "event": "request_success",
                "request_id": response.request_id,
                "provider": response.provider,
                "model": response.model,
                "response_time": seconds,
                "cost": response.cost,
                "cost_source": response.cost_source.value,
                "cached": response.cached,
                "attempts": _attempts_data(response.attempts),
            },
        )

    def _log_failure(
        self, request: AIRequest, error: AICleanerError, started: float
    ) -> None:
        """Log a failed request: categories and statuses at INFO, the error's text at DEBUG.

        A provider's error text may quote the request (a prompt, an image name), so INFO only
        carries what the router itself classified.
        """
        if not _LOGGER.isEnabledFor(logging.INFO):
            return
        seconds = self._clock() - started
        if isinstance(error, AllProvidersFailed):
            event, attempts, provider = "request_failed", error.attempts, None
            summary = "all providers failed: " + (
                ", ".join(
                    f"{self._label(attempt.provider)} "
                    f"({attempt.category or attempt.outcome})"
                    for attempt in attempts
                )
                or "no provider could serve it"
            )
        elif isinstance(error, ProviderError):
            event, attempts, provider = "request_rejected", (), error.provider
            summary = f"{self._label(error.provider)}: {error.category}" + (
                f" (HTTP {error.status})" if error.status is not None else ""
            )
        else:  # pragma: no cover - the router raises no other AICleanerError
            event, attempts, provider = "request_rejected", (), None
            summary = type(error).__name__
        _LOGGER.info(
            "Request %s failed after %.3f s: %s",
            request.request_id,
            seconds,
            summary,
            extra={
                "event": event,
                "request_id": request.request_id,
                "provider": provider,
                "model": request.model,
                "response_time": seconds,
                "cost": 0.0,
                "cached": False,
                "attempts": _attempts_data(attempts),
            },
        )
        _LOGGER.debug("Request %s failed: %s", request.request_id, error)

    def provider_capabilities(
        self, name: str, model: str | None = None
    ) -> ModelCapabilities:
        """Return what provider `name` can take with `model` (default: its configured model)."""
        return self._slots[name].capabilities(model)

    def provider_stats(self, name: str) -> ProviderSnapshot:
        """Return the live state of one provider."""
        slot = self._slots[name]
        stats = slot.stats
        entry = self._budget.entry(name)
        p50, p95 = stats.latency_percentiles()
        return ProviderSnapshot(
            name=name,
            label=slot.provider.label,
            kind=slot.provider.kind,
            model=slot.provider.model,
            enabled=slot.settings.enabled,
            breaker_state=slot.breaker.state.value,
            breaker_auth_failed=slot.breaker.auth_failed,
            in_flight=stats.in_flight,
            latency_ewma=stats.latency_ewma,
            latency_p50=p50,
            latency_p95=p95,
            success_rate=stats.success_rate,
            requests=stats.requests,
            failures=stats.failures,
            requests_today=entry.requests,
            failures_today=entry.failures,
            input_tokens_today=entry.input_tokens,
            output_tokens_today=entry.output_tokens,
            tokens_today=entry.tokens,
            cost_today=entry.cost,
            daily_budget=self._budget.limit(name),
            budget_remaining=self._budget.remaining(name),
            rate_headroom=slot.limiter.headroom(),
            throttle_factor=slot.limiter.factor,
            last_error_category=stats.last_error_category,
            last_error_at=stats.last_error_at,
            last_skip_reason=stats.last_skip_reason,
            usage_missing=stats.usage_missing,
        )

    def snapshot(self) -> RouterSnapshot:
        """Everything the coordinator needs, in one object."""
        overall = self._count_today()
        return RouterSnapshot(
            day=self._budget.day.isoformat(),
            selection_strategy=self._config.selection_strategy.value,
            total_requests=overall.total_requests,
            successful_requests=overall.successful_requests,
            failed_requests=overall.failed_requests,
            cached_requests=overall.cached_requests,
            average_response_time=overall.average_response_time,
            cost_today=self._budget.total_cost,
            global_daily_budget=self._budget.global_limit,
            providers={name: self.provider_stats(name) for name in self._slots},
        )

    def get_performance_metrics(self) -> dict[str, Any]:
        """Overall and per-provider performance, in the design document's shape."""
        overall = self._count_today()
        return {
            "overall_stats": {
                "total_requests": overall.total_requests,
                "successful_requests": overall.successful_requests,
                "failed_requests": overall.failed_requests,
                "cached_requests": overall.cached_requests,
                "average_response_time": overall.average_response_time,
                # The ledger's figure: billed failures count, as they do against the budget.
                "total_cost": self._budget.total_cost,
            },
            "selection_strategy": self._config.selection_strategy.value,
            "cache": {
                "entries": len(self._cache),
                "bytes": self._cache.size_bytes,
                "hits": self._cache.hits,
                "misses": self._cache.misses,
            },
            "providers": {
                name: self.provider_stats(name).as_dict() for name in self._slots
            },
        }

    def get_cost_summary(self) -> dict[str, Any]:
        """Today's spend, overall and per provider, in the design document's shape."""
        budget = self._budget
        provider_costs: dict[str, dict[str, Any]] = {}
        for name in self._slots:
            entry = budget.entry(name)
            remaining = budget.remaining(name)
            provider_costs[name] = {
                "label": self._label(name),
                "total_cost": entry.cost,
                "requests": entry.requests,
                "failures": entry.failures,
                "input_tokens": entry.input_tokens,
                "output_tokens": entry.output_tokens,
                "tokens": entry.tokens,
                "daily_budget": budget.limit(name),
                "budget_remaining": remaining,
                "budget_exhausted": remaining is not None and remaining <= 0,
            }
        return {
            "day": budget.day.isoformat(),
            "total_cost": budget.total_cost,
            "global_daily_budget": budget.global_limit,
            "provider_costs": provider_costs,
        }

    def export_state(self) -> dict[str, Any]:
        """Export the budget ledger and today's stats as plain JSON-able data, for persisting.

        Breakers and rate limiters are not included: they describe the live connection and
        start fresh after a restart.
        """
        now = self._clock()
        return {
            "version": STATE_VERSION,
            "budget": self._budget.export(),
            "stats": {
                "day": self._stats_day.isoformat(),
                "overall": self._overall.export(),
                "providers": {
                    name: slot.stats.export(now) for name, slot in self._slots.items()
                },
            },
        }

    def restore_state(self, data: Mapping[str, Any]) -> None:
        """Load what `export_state` produced; spend and counters of another day are ignored.

        Latency and health estimates are kept across days: they describe the provider, not the day.
        """
        if data.get("version") != STATE_VERSION:
            _LOGGER.warning(
                "Ignoring router state of unknown version %s", data.get("version")
            )
            return
        self._budget.restore(data.get("budget") or {})
        stats_data: Mapping[str, Any] = data.get("stats") or {}
        # The budget may have moved to the saved day (a clock behind it); the counters follow.
        self._count_today()
        same_day = stats_data.get("day") == self._stats_day.isoformat()
        if same_day:
            self._overall.restore(stats_data.get("overall") or {})
        now = self._clock()
        counters = ProviderStats.DAY_COUNTERS
        for name, values in dict(stats_data.get("providers") or {}).items():
            slot = self._slots.get(name)
            if slot is None:
                continue
            if not same_day:
                values = {k: v for k, v in values.items() if k not in counters}
            slot.stats.restore(values, now)


def _attempts_data(attempts: Sequence[Attempt]) -> list[dict[str, Any]]:
    """Turn attempts into plain data for a structured log record."""
    return [
        {
            "provider": attempt.provider,
            "outcome": attempt.outcome.value,
            "category": attempt.category,
            "latency_ms": round(attempt.latency_ms, 3),
            "status": attempt.status,
            "retry": attempt.retry,
        }
        for attempt in attempts
    ]
