"""The health coordinator: providers' health calls and the router's live stats, as one snapshot.

Two clocks feed it. Every `health_check_interval` it makes each enabled provider's free health call
(all at once, each under its own timeout); and as requests end, the router's listener has it
rebuild the snapshot from the live stats, at most once a second. Entities read only that snapshot.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
import time
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .const import (
    CONF_HEALTH_CHECK_INTERVAL,
    CONF_LATENCY_CRITICAL,
    CONF_LATENCY_WARNING,
    DEFAULT_HEALTH_CHECK_INTERVAL,
    DEFAULT_LATENCY_CRITICAL,
    DEFAULT_LATENCY_WARNING,
    DOMAIN,
    EVENT_HEALTH_ALERT,
    HEALTH_CHECK_TIMEOUT,
    LOGGER,
)
from .devices import async_device_id
from .router.errors import (
    AICleanerError,
    AllProvidersFailed,
    ErrorCategory,
    ProviderError,
)
from .router.models import AIResponse, Attempt, AttemptOutcome, Provider

if TYPE_CHECKING:
    from .router import Router
    from .router.reporting import RouterSnapshot
    from .router.stats import ProviderSnapshot
    from .runtime import AICleanerConfigEntry

# Pushes of the live stats as requests end: at most one per this many seconds.
PUSH_COOLDOWN: Final = 1.0
# Seconds after setup of the first health calls: setup never waits on a slow provider.
FIRST_CHECK_DELAY: Final = 5.0
# Passive health: the provider's last real calls, within a time window.
PASSIVE_CALLS: Final = 20
PASSIVE_SECONDS: Final = 900.0
# This share of failed calls among them makes a provider degraded, whatever its health call says.
DEGRADED_FAILURE_SHARE: Final = 0.25
# Failures that say nothing about the provider's health (the caller's input, a refusal, a 429, a
# prompt too long for the model, a model this key may not use, an answer in the wrong shape).
_NOT_HEALTH: Final = frozenset(
    {
        ErrorCategory.BAD_REQUEST,
        ErrorCategory.CONTENT_FILTER,
        ErrorCategory.RATE_LIMIT,
        ErrorCategory.CONTEXT_LENGTH,
        ErrorCategory.MODEL_ACCESS,
        ErrorCategory.WRONG_FORMAT,
        ErrorCategory.EMPTY_RESPONSE,
    }
)
UNEXPECTED_ERROR: Final = "unexpected"


class ProviderStatus(StrEnum):
    """What a provider's status sensor shows."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"
    CIRCUIT_OPEN = "circuit_open"
    RATE_LIMITED = "rate_limited"
    BUDGET_EXHAUSTED = "budget_exhausted"
    DISABLED = "disabled"


# Statuses in which a provider serves no request at all: logged once, and once when it recovers.
UNAVAILABLE: Final = frozenset({ProviderStatus.UNHEALTHY, ProviderStatus.CIRCUIT_OPEN})
# Statuses in which a provider takes requests now.
SERVING: Final = frozenset({ProviderStatus.HEALTHY, ProviderStatus.DEGRADED})


class OverallHealth(StrEnum):
    """The router as a whole."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"


class LatencyLevel(StrEnum):
    """Where a provider's latency stands against the alert thresholds."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """The outcome of one health call."""

    at: datetime
    latency_ms: float | None
    # An error category (`ErrorCategory` or "unexpected"); None when the call succeeded.
    error: str | None


@dataclass(frozen=True, slots=True)
class ProviderHealth:
    """One provider as the entities show it: live stats, last health call and the status of both."""

    key: str
    stats: ProviderSnapshot
    check: HealthCheck | None
    status: ProviderStatus
    # ms: p50 of recent requests, else the last health call; None before either, or when the
    # last health call failed (a provider that is down has no latency to show).
    latency_ms: float | None
    # A category, never the provider's own text: the failed health call's, else the last request's.
    last_error: str | None
    # USD the provider may still spend today; None when no budget applies to it. A free provider
    # answers to its own budget only: a spent overall budget does not stop it.
    budget_remaining: float | None = None

    @property
    def name(self) -> str:
        """What people call the provider (its subentry title)."""
        return self.stats.label


@dataclass(frozen=True, slots=True)
class AICleanerData:
    """Everything the entities show, taken at one moment."""

    router: RouterSnapshot
    providers: Mapping[str, ProviderHealth]
    # Local midnight that began the day the counters count.
    day_started: datetime

    @property
    def healthy_providers(self) -> list[str]:
        """Names of the providers whose status is healthy, sorted."""
        return sorted(
            health.name
            for health in self.providers.values()
            if health.status is ProviderStatus.HEALTHY
        )

    @property
    def overall_health(self) -> OverallHealth:
        """Healthy when every enabled provider is; unhealthy when none of them serves."""
        statuses = [
            health.status
            for health in self.providers.values()
            if health.status is not ProviderStatus.DISABLED
        ]
        if not any(status in SERVING for status in statuses):
            return OverallHealth.UNHEALTHY
        if all(status is ProviderStatus.HEALTHY for status in statuses):
            return OverallHealth.HEALTHY
        return OverallHealth.DEGRADED

    @property
    def cache_hit_rate(self) -> float | None:
        """Share of today's requests answered from the cache, in %; None before the first."""
        router = self.router
        if not router.total_requests:
            return None
        return 100.0 * router.cached_requests / router.total_requests


class AICleanerCoordinator(DataUpdateCoordinator[AICleanerData]):
    """Runs the health calls and merges them with the router's live stats."""

    config_entry: AICleanerConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: AICleanerConfigEntry, router: Router
    ) -> None:
        """Bind the coordinator to the entry and its router; nothing runs until `async_start`."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=DOMAIN,
            update_interval=timedelta(seconds=FIRST_CHECK_DELAY),
        )
        self._router = router
        self._checks: dict[str, HealthCheck] = {}
        self._recent: dict[str, deque[tuple[float, bool]]] = {}
        # When each provider's stale failures were last cleared (a good health call, the reset
        # button, a new key): errors before that no longer show.
        self._cleared: dict[str, datetime] = {}
        self._statuses: dict[str, ProviderStatus] = {}
        self._levels: dict[str, LatencyLevel] = {}
        self._started = False
        self._cancel_midnight: CALLBACK_TYPE | None = None
        self._push = Debouncer(
            hass,
            LOGGER,
            cooldown=PUSH_COOLDOWN,
            immediate=True,
            function=self.async_push,
        )

    @callback
    def async_start(self) -> None:
        """Follow the router's requests and the local midnight; undone when the entry unloads."""
        entry = self.config_entry
        entry.async_on_unload(self._router.add_listener(self._on_request))
        # The day's counters start afresh at midnight, not at the next request or poll.
        self._track_midnight()
        entry.async_on_unload(self._stop_tracking_midnight)
        entry.async_on_unload(self._push.async_shutdown)

    @callback
    def _track_midnight(self) -> None:
        """Push 2 s after the next local midnight (the router reads the date at most once a second).

        The instant the next day starts, not the clock time 00:00:02: where the clocks change at
        midnight (Santiago, Havana, Cairo...), a spring-forward day has no 00:00 on the clock.
        """
        tomorrow = dt_util.now().date() + timedelta(days=1)
        self._cancel_midnight = async_track_point_in_utc_time(
            self.hass,
            self._on_midnight,
            dt_util.as_utc(dt_util.start_of_local_day(tomorrow)) + timedelta(seconds=2),
        )

    @callback
    def _stop_tracking_midnight(self) -> None:
        if self._cancel_midnight is not None:
            self._cancel_midnight()
            self._cancel_midnight = None

    async def _async_update_data(self) -> AICleanerData:
        """Make every enabled provider's health call and rebuild the snapshot.

        The first refresh, at setup, makes no call: it shows the live stats at once, and the
        health calls follow `FIRST_CHECK_DELAY` later, then every `health_check_interval`.
        """
        if not self._started:
            self._started = True
            return self._build()
        self.update_interval = _interval(self.config_entry)
        await self._async_check(self._router.provider_names)
        return self._build()

    async def async_check_now(self) -> AICleanerData:
        """Make every health call now and show the result (the `check_health` action)."""
        await self._async_check(self._router.provider_names)
        data = self._build()
        self.async_set_updated_data(data)
        return data

    async def async_sync_providers(self, fresh: Iterable[str] = ()) -> None:
        """Follow changed options or subentries: check new providers, then show them.

        `fresh` providers (a new key) start afresh: their failures so far described the old setup.
        """
        for key in fresh:
            self._forget(key)
        self.update_interval = _interval(self.config_entry)
        known = self._router.provider_names
        await self._async_check(key for key in known if key not in self._checks)
        self.async_push()

    async def async_recheck(self, key: str) -> None:
        """Start a provider afresh (its breaker was reset by hand): forget, check it now, show it."""
        self._forget(key)
        await self._async_check([key])
        self.async_push()

    def _forget(self, key: str) -> None:
        """Drop a provider's health call and recent failures; its older errors stop showing."""
        self._checks.pop(key, None)
        self._recent.pop(key, None)
        self._cleared[key] = dt_util.utcnow()

    @callback
    def async_push(self) -> None:
        """Rebuild the snapshot from the live stats and tell the entities.

        Not `async_set_updated_data`: that would restart the health-call timer, and steady
        traffic would then keep the health calls from ever running.
        """
        self.data = self._build()
        self.async_update_listeners()

    @callback
    def _on_midnight(self, _now: datetime) -> None:
        self._track_midnight()
        self.async_push()

    @callback
    def _on_request(self, outcome: AIResponse | AICleanerError) -> None:
        """Note each provider call of a finished request, and schedule a push (cheap: a listener)."""
        attempts: Iterable[Attempt] = (
            outcome.attempts
            if isinstance(outcome, AIResponse | AllProvidersFailed)
            else ()
        )
        now = time.monotonic()
        for attempt in attempts:
            if (
                attempt.outcome is AttemptOutcome.SKIPPED
                or attempt.category in _NOT_HEALTH
            ):
                continue
            key = attempt.provider
            recent = self._recent.get(key)
            if recent is None:
                recent = self._recent[key] = deque(maxlen=PASSIVE_CALLS)
            failed = attempt.outcome is AttemptOutcome.ERROR
            recent.append((now, failed))
            check = self._checks.get(key)
            if not failed and check is not None and check.error is not None:
                # It answered: a failed health call before that no longer says it is down.
                del self._checks[key]
        self._push.async_schedule_call()

    async def _async_check(self, keys: Iterable[str]) -> None:
        """Make the health calls of the enabled providers among `keys`, all at once."""
        snapshot = self._router.snapshot().providers
        providers = {
            key: self._router.provider(key)
            for key in keys
            if key in snapshot and snapshot[key].enabled
        }
        if not providers:
            return
        started = time.monotonic()
        checks = await asyncio.gather(
            *(_async_health(provider) for provider in providers.values())
        )
        self._checks.update(zip(providers, checks, strict=True))
        for key, check in zip(providers, checks, strict=True):
            if check.error is None:
                # A good health call clears the failures before it (stale after a recovery);
                # real calls failing after it count again.
                recent = self._recent.get(key)
                if recent is not None:
                    self._recent[key] = deque(
                        (item for item in recent if item[0] > started),
                        maxlen=PASSIVE_CALLS,
                    )
                self._cleared[key] = check.at

    def _build(self) -> AICleanerData:
        """Merge the router's snapshot, the health calls and the recent calls; raise the alerts."""
        router = self._router.snapshot()
        now = time.monotonic()
        providers: dict[str, ProviderHealth] = {}
        for key, stats in router.providers.items():
            check = self._checks.get(key)
            free = self._is_free(key)
            status = _status(stats, check, self._failing(key, now), free=free)
            latency_ms = (
                # Down: no latency to show, not the last good one.
                None
                if check is not None and check.error is not None
                else stats.latency_p50 * 1000.0
                if stats.latency_p50 is not None
                else None
                if check is None
                else check.latency_ms
            )
            providers[key] = health = ProviderHealth(
                key=key,
                stats=stats,
                check=check,
                status=status,
                latency_ms=latency_ms,
                last_error=check.error
                if check is not None and check.error is not None
                else self._request_error(key, stats),
                budget_remaining=_own_budget_left(stats)
                if free
                else stats.budget_remaining,
            )
            self._follow_status(health)
            self._follow_latency(health)
        for gone in set(self._checks) - set(providers):
            del self._checks[gone]
        for state in (self._recent, self._statuses, self._levels, self._cleared):
            for gone in set(state) - set(providers):
                del state[gone]
        return AICleanerData(
            router=router,
            providers=providers,
            day_started=dt_util.start_of_local_day(date.fromisoformat(router.day)),
        )

    def _request_error(self, key: str, stats: ProviderSnapshot) -> str | None:
        """Return the last real call's error category, unless it was cleared since."""
        cleared = self._cleared.get(key)
        if cleared is None or stats.last_error_at is None:
            return stats.last_error_category
        at = dt_util.parse_datetime(stats.last_error_at)
        return stats.last_error_category if at is None or at > cleared else None

    def _is_free(self, key: str) -> bool:
        """Whether the provider's model costs nothing (a local one): no budget stops it."""
        router = self._router
        return router.provider(key).price(on=router.day).cost(1_000_000, 1_000_000) <= 0

    def _failing(self, key: str, now: float) -> bool:
        """Whether enough of the provider's recent real calls failed to call it degraded."""
        recent = [
            failed
            for at, failed in self._recent.get(key, ())
            if now - at <= PASSIVE_SECONDS
        ]
        return bool(recent) and sum(recent) / len(recent) >= DEGRADED_FAILURE_SHARE

    def _follow_status(self, health: ProviderHealth) -> None:
        """Log a provider going unavailable and coming back once each; alert on any change."""
        before = self._statuses.get(health.key)
        status = health.status
        self._statuses[health.key] = status
        if before is status:
            return
        if status in UNAVAILABLE and before not in UNAVAILABLE:
            LOGGER.warning(
                "Provider %s is unavailable: %s",
                health.name,
                health.last_error or status.value,
            )
        elif before in UNAVAILABLE and status not in UNAVAILABLE:
            LOGGER.info(
                "Provider %s is available again (%s)", health.name, status.value
            )
        if before is not None:
            self._alert(health, "status", status.value, before.value, None)

    def _follow_latency(self, health: ProviderHealth) -> None:
        """Alert when the provider's latency crosses the warning or critical threshold."""
        if health.latency_ms is None:
            return
        options = self.config_entry.options
        warning = (
            float(options.get(CONF_LATENCY_WARNING, DEFAULT_LATENCY_WARNING)) * 1000
        )
        critical = (
            float(options.get(CONF_LATENCY_CRITICAL, DEFAULT_LATENCY_CRITICAL)) * 1000
        )
        latency = health.latency_ms
        level, threshold = (
            (LatencyLevel.CRITICAL, critical)
            if latency >= critical
            else (LatencyLevel.WARNING, warning)
            if latency >= warning
            else (LatencyLevel.OK, warning)
        )
        before = self._levels.get(health.key, LatencyLevel.OK)
        self._levels[health.key] = level
        if level is not before:
            self._alert(health, "latency", level.value, round(latency, 1), threshold)

    def _alert(
        self,
        health: ProviderHealth,
        metric: str,
        status: str,
        value: Any,
        threshold: float | None,
    ) -> None:
        self.hass.bus.async_fire(
            EVENT_HEALTH_ALERT,
            {
                # The provider's device: its logbook lists the alert.
                "device_id": async_device_id(
                    self.hass, self.config_entry.entry_id, health.key
                ),
                "provider": health.name,
                "metric": metric,
                "status": status,
                "value": value,
                "threshold": threshold,
            },
        )


def _interval(entry: AICleanerConfigEntry) -> timedelta:
    return timedelta(
        seconds=float(
            entry.options.get(CONF_HEALTH_CHECK_INTERVAL, DEFAULT_HEALTH_CHECK_INTERVAL)
        )
    )


async def _async_health(provider: Provider) -> HealthCheck:
    """Make one health call under its own timeout; its failure becomes a category."""
    started = dt_util.utcnow()
    try:
        async with asyncio.timeout(HEALTH_CHECK_TIMEOUT):
            result = await provider.health()
    except ProviderError as err:
        return HealthCheck(at=started, latency_ms=None, error=err.category.value)
    except TimeoutError:
        return HealthCheck(
            at=started, latency_ms=None, error=ErrorCategory.TIMEOUT.value
        )
    except Exception as err:  # noqa: BLE001 - one client's bug must not stop the others' checks
        # Only the type: a foreign exception's message might quote a URL with a key.
        LOGGER.warning(
            "The health call of provider %s raised an unexpected %s",
            provider.label,
            type(err).__name__,
        )
        return HealthCheck(at=started, latency_ms=None, error=UNEXPECTED_ERROR)
    return HealthCheck(at=started, latency_ms=result.latency_ms, error=None)


def _own_budget_left(stats: ProviderSnapshot) -> float | None:
    """USD left of the provider's own daily budget (None without one)."""
    if stats.daily_budget is None:
        return None
    return max(0.0, stats.daily_budget - stats.cost_today)


def _status(
    stats: ProviderSnapshot, check: HealthCheck | None, failing: bool, *, free: bool
) -> ProviderStatus:
    """Decide a provider's status, the cause that stops it most first.

    A 429 on the health call is rate limited, not down. Failing real calls make a provider
    degraded even when its health call succeeds.
    """
    if not stats.enabled:
        return ProviderStatus.DISABLED
    if stats.breaker_state == "open":
        return ProviderStatus.CIRCUIT_OPEN
    health_error = None if check is None else check.error
    if health_error is not None and health_error != ErrorCategory.RATE_LIMIT:
        return ProviderStatus.UNHEALTHY
    if stats.budget_remaining is not None and stats.budget_remaining <= 0 and not free:
        # A free provider passes every budget (a spent overall one included): it still serves.
        return ProviderStatus.BUDGET_EXHAUSTED
    if health_error == ErrorCategory.RATE_LIMIT or stats.rate_headroom <= 0:
        return ProviderStatus.RATE_LIMITED
    if stats.breaker_state == "half_open" or failing:
        return ProviderStatus.DEGRADED
    return ProviderStatus.HEALTHY
