"""The Router: one request in, one answer out, from the best provider that can give it.

`Router.process` runs the loop of the architecture document: cache, candidates, strategy order,
then for each provider the breaker, rate limit and budget checks, the call, and retry or failover.
Every other concern is a small object the loop calls (breaker, limiter, budget, cache, stats).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time as dt_time, timedelta, tzinfo
import logging
import random
import time

from .attempts import AttemptsMixin
from .breaker import BreakerState
from .budget import BudgetLedger
from .cache import LeaderGone, RequestCoalescer, ResponseCache, request_key
from .config import ProviderSettings, RouterConfig, SelectionStrategy
from .conversation import conversation_token_bound, image_count
from .errors import AICleanerError, AllProvidersFailed, ErrorCategory
from .estimate import text_token_bound
from .models import (
    AIRequest,
    AIResponse,
    Attempt,
    AttemptOutcome,
    CostSource,
    Provider,
    Usage,
)
from .reporting import ReportingMixin
from .slot import Slot
from .stats import OverallStats, ProviderStats
from .strategies import (
    STRATEGIES,
    Candidate,
    StrategyContext,
    apply_rule,
    matching_rule,
    put_first,
)
from .streaming import StreamingMixin

_LOGGER = logging.getLogger("custom_components.aicleaner.router")

# Seconds a wall-clock reading of today's date is reused for.
_DAY_CHECK = 1.0
# A leader this close to its deadline when it failed ran out of its own time (timers may fire early).
_DEADLINE_SLACK = 0.05
# Provider name of the attempt a coalesced follower reports when its deadline passed while waiting.
_FOLLOWER = "(identical request in flight)"
# What a cache hit used: nothing.
_NOTHING_USED = Usage()


class Router(StreamingMixin, AttemptsMixin, ReportingMixin):
    """Routes requests over providers with failover, retries, breakers, limits, budgets and a cache."""

    def __init__(
        self,
        providers: Sequence[Provider],
        config: RouterConfig | None = None,
        *,
        provider_settings: Mapping[str, ProviderSettings] | None = None,
        tz: tzinfo = UTC,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        """Build the router.

        `provider_settings` maps provider names to their settings (defaults for names left out).
        `tz` sets when the budget day starts. `clock` (monotonic seconds), `wall_clock` (an aware
        datetime), `rng` and `sleep` are injectable so that tests need no real time.
        """
        self._config = config or RouterConfig()
        self._tz = tz
        self._clock = clock
        self._wall_clock = wall_clock or (lambda: datetime.now(UTC))
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._day_valid_until = float("-inf")
        self._day_cached = date.min
        self._slots: dict[str, Slot] = {}
        self._slot_list: tuple[Slot, ...] = ()
        self._budget = BudgetLedger({}, self._config.global_daily_budget, self._today)
        self._cache = ResponseCache(
            self._config.cache_ttl,
            self._config.cache_max_entries,
            self._config.cache_max_bytes,
            clock,
        )
        self._coalescer = RequestCoalescer()
        self._overall = OverallStats()
        # The day `_overall` and the providers' counters count; they start afresh on the next one.
        self._stats_day = self._budget.day
        self._rules = tuple(
            sorted(self._config.routing_rules, key=lambda rule: rule.priority)
        )
        self._listeners: list[Callable[[AIResponse | AICleanerError], None]] = []
        self.update_providers(providers, provider_settings)

    # ----------------------------------------------------------------- configuration

    @property
    def config(self) -> RouterConfig:
        """The router settings in force."""
        return self._config

    @property
    def day(self) -> date:
        """The local day the budgets count."""
        return self._budget.day

    @property
    def provider_names(self) -> tuple[str, ...]:
        """Names of the configured providers."""
        return tuple(self._slots)

    def update_providers(
        self,
        providers: Sequence[Provider],
        provider_settings: Mapping[str, ProviderSettings] | None = None,
    ) -> None:
        """Replace the provider set; stats of providers that stay are kept.

        A provider is the same one when its `name` (its stable key) is: a new `label` or client
        keeps its stats and spend. One whose settings did not change also keeps its breaker and
        rate limiter. Call `reset_credentials` when only its key changed.
        """
        settings_by_name = provider_settings or {}
        names = [provider.name for provider in providers]
        if len(set(names)) != len(names):
            raise ValueError("provider names must be unique")
        known_passes = [slot.stats.rr_pass for slot in self._slot_list]
        start_pass = min(known_passes, default=0.0)
        slots: dict[str, Slot] = {}
        for provider in providers:
            settings = settings_by_name.get(provider.name) or ProviderSettings()
            old = self._slots.get(provider.name)
            if old is None:
                stats = ProviderStats(
                    self._config.ewma_alpha, self._config.latency_window
                )
                # A newcomer joins the round robin level with the others, not far behind them.
                stats.rr_pass = start_pass
            else:
                stats = old.stats
            slot = Slot(provider, settings, stats, self._clock)
            if old is not None and old.settings == settings:
                slot.breaker = old.breaker
                slot.limiter = old.limiter
            slots[provider.name] = slot
        self._slots = slots
        self._slot_list = tuple(slots.values())
        self._budget.set_limits(
            {name: slot.settings.daily_budget for name, slot in slots.items()},
            self._config.global_daily_budget,
        )

    def update_config(self, config: RouterConfig) -> None:
        """Apply new router settings; the cache is emptied when its bounds change."""
        old = self._config
        self._config = config
        self._rules = tuple(
            sorted(config.routing_rules, key=lambda rule: rule.priority)
        )
        self._budget.set_limits(
            {name: slot.settings.daily_budget for name, slot in self._slots.items()},
            config.global_daily_budget,
        )
        if (old.cache_ttl, old.cache_max_entries, old.cache_max_bytes) != (
            config.cache_ttl,
            config.cache_max_entries,
            config.cache_max_bytes,
        ):
            self._cache = ResponseCache(
                config.cache_ttl,
                config.cache_max_entries,
                config.cache_max_bytes,
                self._clock,
            )

    def set_selection_strategy(self, strategy: SelectionStrategy | str) -> None:
        """Switch the strategy (e.g. from a select entity)."""
        self._config = replace(
            self._config, selection_strategy=SelectionStrategy(strategy)
        )

    def reset_credentials(self, name: str) -> None:
        """Close the provider's breaker after its key changed (an auth failure keeps it open)."""
        self._slots[name].breaker.reset()

    def add_listener(
        self, listener: Callable[[AIResponse | AICleanerError], None]
    ) -> Callable[[], None]:
        """Call `listener` with every request's outcome, its answer or its error; return a remover.

        Listeners run synchronously as each request ends, so they must be cheap (schedule a save,
        mark data stale). One that raises is logged and does not change the request's outcome.
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _tell(self, outcome: AIResponse | AICleanerError) -> None:
        for listener in self._listeners:
            try:
                listener(outcome)
            except Exception:
                _LOGGER.exception("A router listener failed")

    # ----------------------------------------------------------------- serving

    async def process(self, request: AIRequest) -> AIResponse:
        """Answer one request, from the cache or the best provider that can.

        Raises `AllProvidersFailed` (with every attempt) when no provider answered, and the
        provider's `BadRequestError` when the caller's own input was at fault.
        """
        started = self._clock()
        overall = self._count_today()
        overall.total_requests += 1
        deadline = started + (request.timeout or self._config.request_timeout)
        try:
            # Without the cache, straight to routing: one coroutine frame less to resume at each
            # of the provider call's suspensions.
            # A conversation is never cached: its tool calls act on the home, and its turns
            # are not asked twice.
            if (
                request.use_cache
                and self._cache.enabled
                and not (request.messages or request.tools)
            ):
                response = await self._serve(request, started, deadline)
            else:
                response = await self._route(request, started, deadline)
        except AICleanerError as err:
            overall.failed_requests += 1
            self._log_failure(request, err, started)
            if self._listeners:
                self._tell(err)
            raise
        overall.successful_requests += 1
        overall.total_response_time += response.latency_ms / 1000
        if response.cached:
            overall.cached_requests += 1
        if _LOGGER.isEnabledFor(logging.INFO):
            self._log_success(response)
        if self._listeners:
            self._tell(response)
        return response

    async def process_batch(
        self, requests: Sequence[AIRequest], batch_size: int | None = None
    ) -> list[AIResponse | Exception]:
        """Answer many requests, at most `batch_size` at once (default: the configured one).

        Results come back in input order; an item that failed holds its exception instead.
        """
        limit = asyncio.Semaphore(max(1, batch_size or self._config.batch_size))

        async def one(request: AIRequest) -> AIResponse | Exception:
            async with limit:
                try:
                    return await self.process(request)
                except Exception as err:  # noqa: BLE001 - one item must never fail the batch
                    return err

        return list(await asyncio.gather(*(one(request) for request in requests)))

    def forget(self, request: AIRequest) -> None:
        """Drop the cached answer to `request`: its caller found it unusable.

        An AI Task answer that does not match the task's structure must not be served again for
        the cache's lifetime.
        """
        self._cache.discard(request_key(request))

    async def _serve(
        self, request: AIRequest, started: float, deadline: float
    ) -> AIResponse:
        """Serve from the cache, join an identical request in flight, or route."""
        key = request_key(request)
        hit = self._cache.get(key)
        if hit is not None:
            return self._from_cache(request, hit, started)
        while (pending := self._coalescer.follow(key)) is not None:
            try:
                # A follower keeps its own deadline, however long the leader takes.
                async with asyncio.timeout(deadline - self._clock()):
                    shared = await asyncio.shield(pending)
            except LeaderGone:
                continue
            except TimeoutError:
                raise AllProvidersFailed(
                    request.request_id,
                    (
                        Attempt(
                            _FOLLOWER,
                            AttemptOutcome.SKIPPED,
                            ErrorCategory.DEADLINE,
                        ),
                    ),
                    "No answer within the deadline while an identical request was in flight",
                ) from None
            return self._from_cache(request, shared, started)
        future = self._coalescer.lead(key)
        try:
            response = await self._route(request, started, deadline)
        except asyncio.CancelledError:
            self._coalescer.finish(key, future, LeaderGone())
            raise
        except AllProvidersFailed as err:
            # Out of the leader's own time (it reached its deadline, or skipped a wait or a retry
            # that did not fit in it): followers with time left route themselves.
            ran_out = self._clock() >= deadline - _DEADLINE_SLACK or any(
                attempt.category == ErrorCategory.DEADLINE for attempt in err.attempts
            )
            self._coalescer.finish(key, future, LeaderGone() if ran_out else err)
            raise
        except BaseException as err:
            self._coalescer.finish(key, future, err)
            raise
        self._cache.put(key, response)
        self._coalescer.finish(key, future, response)
        return response

    def _from_cache(
        self, request: AIRequest, response: AIResponse, started: float
    ) -> AIResponse:
        """Return a stored (or shared) answer as this request's: nothing was spent on it.

        No token was billed either: the usage is zero and the cost exact (`CostSource.CACHE`).
        """
        return replace(
            response,
            request_id=request.request_id,
            usage=_NOTHING_USED,
            cost=0.0,
            cost_estimated=False,
            cost_source=CostSource.CACHE,
            latency_ms=(self._clock() - started) * 1000,
            cached=True,
            attempts=(),
        )

    async def _route(
        self, request: AIRequest, started: float, deadline: float
    ) -> AIResponse:
        """Order the candidates and try each until one answers."""
        # The day every reservation of this request is priced on, and its answer too.
        day = self._today()
        candidates = self._ordered(request, day)
        attempts: list[Attempt] = []
        deferred: list[Candidate] = []
        for index, candidate in enumerate(candidates):
            response = await self._try_provider(
                request,
                candidate,
                attempts,
                deadline,
                started,
                later=candidates[index + 1 :],
                day=day,
            )
            if response is not None:
                return response
            if _rate_limited(attempts, candidate.name):
                deferred.append(candidate)
        if deferred:
            return await self._revisit(
                request,
                deferred,
                attempts,
                deadline=deadline,
                started=started,
                day=day,
            )
        raise AllProvidersFailed(request.request_id, attempts)

    def _ordered(self, request: AIRequest, day: date) -> list[Candidate]:
        """Return the candidates in the order to try them: strategy, then rules, then the caller's order.

        Raises `AllProvidersFailed` when no provider can serve the request.
        """
        config = self._config
        strategy = (
            config.selection_strategy
            if request.strategy is None
            else SelectionStrategy(request.strategy)
        )
        candidates = self._candidates(
            request,
            day=day,
            need_headroom=strategy
            in (SelectionStrategy.LEAST_LOADED, SelectionStrategy.ADAPTIVE),
        )
        if not candidates:
            refusals = self._refusals(request)
            raise AllProvidersFailed(
                request.request_id,
                (),
                self._no_candidate_message(request, refusals),
                refusals=refusals,
            )
        if len(candidates) > 1:
            context = StrategyContext(
                self._clock(), self._rng, config.explore_rate, config.explore_after
            )
            candidates = STRATEGIES[strategy](candidates, context)
        if self._rules:
            rule = matching_rule(self._rules, request)
            if rule is not None:
                candidates = apply_rule(candidates, rule)
        if request.provider_order:
            candidates = put_first(candidates, request.provider_order)
        return candidates

    async def _revisit(
        self,
        request: AIRequest,
        deferred: list[Candidate],
        attempts: list[Attempt],
        *,
        deadline: float,
        started: float,
        day: date,
    ) -> AIResponse:
        """Try again the providers skipped only for their rate limit, now that the others failed.

        Each was passed over while another provider could still answer; now each is worth its
        wait, when the wait fits the deadline: the one free soonest first.
        """
        by_wait = sorted(
            (slot.limiter.wait_time(candidate.input_tokens + request.max_tokens), index)
            for index, candidate in enumerate(deferred)
            if (slot := self._live_slot(candidate.name)) is not None
        )
        for _wait, index in by_wait:
            response = await self._try_provider(
                request,
                deferred[index],
                attempts,
                deadline,
                started,
                later=(),
                day=day,
            )
            if response is not None:
                return response
        raise AllProvidersFailed(request.request_id, attempts)

    def _candidates(
        self, request: AIRequest, *, need_headroom: bool, day: date | None = None
    ) -> list[Candidate]:
        """List the providers that may serve the request, with their estimates for it."""
        # Upper bounds, not guesses: the budget reservation must cover the actual cost.
        if request.messages or request.tools:
            text_tokens = conversation_token_bound(request)
            images = image_count(request)
        else:
            text_tokens = text_token_bound(
                request.prompt, request.effective_system_prompt
            )
            images = len(request.images)
        tools = bool(request.tools)
        model = request.model
        pinned = request.provider
        allowed = request.allowed_providers
        # The price of the day: a reservation's cost bound is taken at the request's date.
        if day is None:
            day = self._today()
        candidates: list[Candidate] = []
        for slot in self._slot_list:
            if not slot.settings.enabled:
                continue
            name = slot.name
            if (pinned is not None and name != pinned) or (
                allowed is not None and name not in allowed
            ):
                continue
            caps = slot.capabilities(model)
            if request.local_only and (
                not slot.provider.is_local or caps.runs_in_cloud
            ):
                continue
            if images and not caps.vision:
                continue
            if tools and not caps.tools:
                continue
            input_tokens = text_tokens + images * caps.tokens_per_image
            candidates.append(
                Candidate(
                    name,
                    slot.settings,
                    slot.stats,
                    slot.price(model, day).cost(input_tokens, request.max_tokens),
                    slot.limiter.headroom() if need_headroom else 1.0,
                    input_tokens,
                    slot.breaker.state is BreakerState.HALF_OPEN,
                    slot.provider.label,
                )
            )
        return candidates

    def _no_candidate_message(
        self, request: AIRequest, refusals: Mapping[str, str]
    ) -> str:
        """Say why no provider qualified (only built on that failure)."""
        if request.provider is not None and request.provider not in self._slots:
            return f"No provider named {request.provider!r} is configured"
        return "No provider can serve this request: " + (
            ", ".join(f"{name} ({reason})" for name, reason in refusals.items())
            or "none configured"
        )

    def _refusals(self, request: AIRequest) -> dict[str, str]:
        """Say why each provider did not qualify, by name (only built on that failure)."""
        reasons: dict[str, str] = {}
        for slot in self._slot_list:
            if request.provider is not None and slot.name != request.provider:
                continue
            if not slot.settings.enabled:
                reason = "disabled"
            elif (
                request.allowed_providers is not None
                and slot.name not in request.allowed_providers
            ):
                reason = "not allowed"
            elif request.local_only and (
                not slot.provider.is_local
                or slot.capabilities(request.model).runs_in_cloud
            ):
                reason = "not local"
            elif request.has_images and not slot.capabilities(request.model).vision:
                reason = "no vision"
            else:
                reason = "no tool calling"
            reasons[slot.name] = reason
        return reasons

    # ----------------------------------------------------------------- time

    def _today(self) -> date:
        """Return the local date, read from the wall clock at most once per `_DAY_CHECK` seconds.

        Every request asks several times (budget, stats, prices); one read serves them all, and a
        wall clock that jumps is still followed within a second. A reading is never reused past
        the next local midnight: a day's prices and budget must not run into the next one's.
        """
        now = self._clock()
        if now < self._day_valid_until:
            return self._day_cached
        wall = self._wall_clock().astimezone(self._tz)
        day = wall.date()
        midnight = datetime.combine(day + timedelta(days=1), dt_time(), tzinfo=self._tz)
        # In UTC: between two datetimes of one zone, Python subtracts the wall-clock times.
        to_midnight = (midnight.astimezone(UTC) - wall.astimezone(UTC)).total_seconds()
        self._day_cached = day
        self._day_valid_until = now + min(_DAY_CHECK, to_midnight)
        return day

    # ----------------------------------------------------------------- health and manual control

    def provider(self, name: str) -> Provider:
        """Return the client of provider `name`, for its free health call.

        The health call's outcome is not folded into the live stats: only real requests shape
        routing.
        """
        return self._slots[name].provider

    def reset_breaker(self, name: str) -> None:
        """Close provider `name`'s breaker now: someone asked for it to be tried again."""
        self._slots[name].breaker.reset()


def _rate_limited(attempts: list[Attempt], name: str) -> bool:
    """Whether provider `name` was just skipped because its rate limit was not free yet."""
    if not attempts:
        return False
    last = attempts[-1]
    return (
        last.provider == name
        and last.outcome is AttemptOutcome.SKIPPED
        and last.category == ErrorCategory.RATE_LIMITED_LOCAL
    )
