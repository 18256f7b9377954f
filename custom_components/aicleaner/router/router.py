"""The Router: one request in, one answer out, from the best provider that can give it.

`Router.process` runs the loop of the architecture document: cache, candidates, strategy order,
then for each provider the breaker, rate limit and budget checks, the call, and retry or failover.
Every other concern is a small object the loop calls (breaker, limiter, budget, cache, stats).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, tzinfo
import logging
import math
import random
import time
from typing import Any

from .breaker import BreakerState, CircuitBreaker
from .budget import BILLED_FAILURES, BudgetLedger, Reservation
from .cache import LeaderGone, RequestCoalescer, ResponseCache, request_key
from .config import ProviderSettings, RouterConfig, SelectionStrategy
from .errors import (
    AICleanerError,
    AllProvidersFailed,
    BadRequestError,
    ErrorCategory,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
)
from .estimate import text_token_bound
from .limits import RateLimiter
from .models import (
    AIRequest,
    AIResponse,
    Attempt,
    AttemptOutcome,
    Completion,
    ModelCapabilities,
    ModelPrice,
    Provider,
)
from .stats import OverallStats, ProviderSnapshot, ProviderStats
from .strategies import (
    STRATEGIES,
    Candidate,
    StrategyContext,
    apply_rule,
    matching_rule,
    put_first,
)

_LOGGER = logging.getLogger("custom_components.aicleaner.router")

STATE_VERSION = 1
# The client enforces the attempt timeout itself and classifies it precisely; this guard only
# catches a client that does not, shortly after.
_TIMEOUT_GRACE = 1.0
# A limiter wait this short is cheaper than a failover (timers may wake a little early).
_WAIT_SLACK = 0.05
# Seconds a wall-clock reading of today's date is reused for.
_DAY_CHECK = 1.0
# A leader this close to its deadline when it failed ran out of its own time (timers may fire early).
_DEADLINE_SLACK = 0.05
# Provider name of the attempt a coalesced follower reports when its deadline passed while waiting.
_FOLLOWER = "(identical request in flight)"
# Errors that say nothing about the provider's health: they neither trip nor close the breaker.
_NEUTRAL = frozenset({ErrorCategory.RATE_LIMIT, ErrorCategory.CONTENT_FILTER})


class _Slot:
    """One provider with its settings and the live objects that guard it."""

    __slots__ = (
        "_capabilities",
        "_prices",
        "_prices_day",
        "breaker",
        "guarded",
        "limiter",
        "name",
        "provider",
        "settings",
        "stats",
    )

    def __init__(
        self,
        provider: Provider,
        settings: ProviderSettings,
        stats: ProviderStats,
        clock: Callable[[], float],
    ) -> None:
        self.provider = provider
        self.name = provider.name
        self.settings = settings
        self.stats = stats
        self.breaker = CircuitBreaker(settings.breaker, clock)
        self.limiter = RateLimiter(settings, clock)
        # A client that does not say it enforces its own attempt timeout gets one around it.
        self.guarded = getattr(provider, "enforces_timeout", False) is not True
        # Per-model lookups are cached: the provider answers from static tables.
        self._capabilities: dict[str | None, ModelCapabilities] = {}
        self._prices: dict[str | None, ModelPrice] = {}
        self._prices_day: date | None = None

    def capabilities(self, model: str | None) -> ModelCapabilities:
        caps = self._capabilities.get(model)
        if caps is None:
            caps = self._capabilities[model] = self.provider.capabilities(model)
        return caps

    def price(self, model: str | None, day: date) -> ModelPrice:
        # A price may change on a given day (`pricing.Dated`): each day's are cached for that day.
        if day != self._prices_day:
            self._prices.clear()
            self._prices_day = day
        price = self._prices.get(model)
        if price is None:
            price = self._prices[model] = self.provider.price(model)
        return price


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


class Router:
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
        self._day_checked_at = float("-inf")
        self._day_cached = date.min
        self._slots: dict[str, _Slot] = {}
        self._slot_list: tuple[_Slot, ...] = ()
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
        slots: dict[str, _Slot] = {}
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
            slot = _Slot(provider, settings, stats, self._clock)
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

    def _label(self, name: str) -> str:
        """Return what people call the provider `name` (the name itself once it is gone)."""
        slot = self._slots.get(name)
        return name if slot is None else slot.provider.label

    def _live_slot(self, name: str) -> _Slot | None:
        """Return the provider's current slot, or None once it was removed or disabled."""
        slot = self._slots.get(name)
        return slot if slot is not None and slot.settings.enabled else None

    def _count_today(self) -> OverallStats:
        """Today's overall counters; the first request of a new day starts them afresh."""
        day = self._budget.day
        if day > self._stats_day:
            self._stats_day = day
            self._overall = OverallStats()
            for slot in self._slot_list:
                slot.stats.new_day()
        return self._overall

    # ----------------------------------------------------------------- serving

    async def process(self, request: AIRequest) -> AIResponse:
        """Answer one request, from the cache or the best provider that can.

        Raises `AllProvidersFailed` (with every attempt) when no provider answered, and the
        provider's `BadRequestError` when the caller's own input was at fault.
        """
        started = self._clock()
        overall = self._count_today()
        overall.total_requests += 1
        try:
            response = await self._serve(request, started)
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
        else:
            overall.total_cost += response.cost
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

    async def _serve(self, request: AIRequest, started: float) -> AIResponse:
        """Serve from the cache, join an identical request in flight, or route."""
        deadline = started + (request.timeout or self._config.request_timeout)
        if not request.use_cache or not self._cache.enabled:
            return await self._route(request, started, deadline)
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
        """Return a stored (or shared) answer as this request's: nothing was spent on it."""
        return replace(
            response,
            request_id=request.request_id,
            cost=0.0,
            latency_ms=(self._clock() - started) * 1000,
            cached=True,
            attempts=(),
        )

    async def _route(
        self, request: AIRequest, started: float, deadline: float
    ) -> AIResponse:
        """Order the candidates and try each until one answers."""
        config = self._config
        strategy = (
            config.selection_strategy
            if request.strategy is None
            else SelectionStrategy(request.strategy)
        )
        candidates = self._candidates(
            request,
            need_headroom=strategy
            in (SelectionStrategy.LEAST_LOADED, SelectionStrategy.ADAPTIVE),
        )
        if not candidates:
            raise AllProvidersFailed(
                request.request_id, (), self._no_candidate_message(request)
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
        attempts: list[Attempt] = []
        last = len(candidates) - 1
        for index, candidate in enumerate(candidates):
            # The last candidate that can take a call is worth a rate-limit wait: one followed only
            # by providers whose breakers are open is the last, or the request fails at once.
            is_last = index == last or all(
                self._shut(later.name) for later in candidates[index + 1 :]
            )
            response = await self._try_provider(
                request, candidate, attempts, deadline, started, is_last=is_last
            )
            if response is not None:
                return response
        raise AllProvidersFailed(request.request_id, attempts)

    def _shut(self, name: str) -> bool:
        """Whether provider `name` takes no call now: gone, disabled or its breaker open."""
        slot = self._live_slot(name)
        return slot is None or slot.breaker.state is BreakerState.OPEN

    def _candidates(
        self, request: AIRequest, *, need_headroom: bool
    ) -> list[Candidate]:
        """List the providers that may serve the request, with their estimates for it."""
        # Upper bounds, not guesses: the budget reservation must cover the actual cost.
        text_tokens = text_token_bound(request.prompt, request.effective_system_prompt)
        images = len(request.images)
        model = request.model
        pinned = request.provider
        allowed = request.allowed_providers
        # The price of the day: a reservation's cost bound is taken at the request's date.
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
                )
            )
        return candidates

    def _no_candidate_message(self, request: AIRequest) -> str:
        """Say why no provider qualified (only built on that failure)."""
        if request.provider is not None and request.provider not in self._slots:
            return f"No provider named {request.provider!r} is configured"
        reasons = []
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
            elif request.local_only and not slot.provider.is_local:
                reason = "not local"
            else:
                reason = "no vision"
            reasons.append(f"{slot.name} ({reason})")
        return "No provider can serve this request: " + (
            ", ".join(reasons) or "none configured"
        )

    async def _try_provider(
        self,
        request: AIRequest,
        candidate: Candidate,
        attempts: list[Attempt],
        deadline: float,
        started: float,
        *,
        is_last: bool,
    ) -> AIResponse | None:
        """Call one provider, retrying retryable errors; None means fail over to the next."""
        name = candidate.name
        slot = self._live_slot(name)
        if slot is None:
            # Removed or disabled while this request waited for an earlier candidate.
            return None
        clock = self._clock
        # Most input and output tokens the call can use: booked when the provider reports none.
        bound = (candidate.input_tokens, request.max_tokens)
        tokens = candidate.input_tokens + request.max_tokens
        prepared = (
            await self._prepare(slot, request, attempts, deadline)
            if request.images
            else request
        )
        if prepared is None:
            return None
        for retry in range(slot.settings.max_retries + 1):
            if retry and (slot := self._live_slot(name)) is None:
                return None
            stats = slot.stats
            admitted = await self._admit(
                slot, candidate.cost, tokens, deadline, is_last=is_last
            )
            if isinstance(admitted, ErrorCategory):
                self._skip(attempts, stats, name, admitted, retry)
                return None
            reservation, taken, permit = admitted
            if (
                retry == 0
                and (request.strategy or self._config.selection_strategy)
                == SelectionStrategy.ROUND_ROBIN
            ):
                stats.rr_pass += 1 / max(slot.settings.weight, 1e-6)
            attempt_timeout = min(slot.settings.timeout_seconds, deadline - clock())
            stats.in_flight += 1
            call_started = clock()
            try:
                completion = await _call(
                    slot.provider, prepared, attempt_timeout, guarded=slot.guarded
                )
            except ProviderError as err:
                error = err
            except asyncio.CancelledError:
                # The request may well have been sent: the provider bills it all the same.
                self._budget.commit(
                    reservation, reservation.amount, *bound, failed=True
                )
                slot.breaker.release(permit)
                raise
            else:
                elapsed = clock() - call_started
                cost = self._settle_success(
                    slot,
                    completion,
                    reservation,
                    taken=taken,
                    bound=bound,
                    elapsed=elapsed,
                )
                attempts.append(
                    Attempt(
                        name,
                        AttemptOutcome.SUCCESS,
                        latency_ms=elapsed * 1000,
                        retry=retry,
                    )
                )
                return AIResponse(
                    request_id=request.request_id,
                    text=completion.text,
                    provider=name,
                    model=completion.model,
                    usage=completion.usage,
                    cost=cost,
                    latency_ms=(clock() - started) * 1000,
                    finish_reason=completion.finish_reason,
                    attempts=tuple(attempts),
                    cost_estimated=not completion.usage_reported,
                    data=completion.data,
                )
            finally:
                stats.in_flight -= 1
            elapsed = clock() - call_started
            self._settle_failure(slot, error, admitted, bound, elapsed)
            attempts.append(
                Attempt(
                    name,
                    AttemptOutcome.ERROR,
                    error.category,
                    latency_ms=elapsed * 1000,
                    status=error.status,
                    retry=retry,
                )
            )
            if isinstance(error, BadRequestError) and error.caller_input:
                raise error
            if not error.retryable or retry >= slot.settings.max_retries:
                return None
            delay = self._retry_delay(error, retry)
            if delay is None:
                return None
            if clock() + delay >= deadline:
                # Only this request's own deadline stops the retry: a caller with more time
                # would have waited, so the failure must not be shared with one (see `_serve`).
                self._skip(attempts, stats, name, ErrorCategory.DEADLINE, retry + 1)
                return None
            if delay > 0:
                await self._sleep(delay)
        return None  # pragma: no cover - the loop always returns

    async def _prepare(
        self,
        slot: _Slot,
        request: AIRequest,
        attempts: list[Attempt],
        deadline: float,
    ) -> AIRequest | None:
        """Fit the request's images to the provider, before any attempt's clock starts.

        This is local work: a failure here is neither billed nor the provider's, so it touches
        no budget and no breaker. None means: skip this provider.
        """
        try:
            async with asyncio.timeout(deadline - self._clock()):
                return await slot.provider.prepare(request)
        except TimeoutError:
            reason = ErrorCategory.DEADLINE
        except BadRequestError as err:
            if err.caller_input:
                raise
            reason = ErrorCategory.BAD_REQUEST
        except Exception as err:  # noqa: BLE001 - a client bug must not lose the request
            _LOGGER.warning(
                "Provider %s could not prepare a request: unexpected %s",
                slot.name,
                type(err).__name__,
            )
            reason = ErrorCategory.BAD_REQUEST
        self._skip(attempts, slot.stats, slot.name, reason, 0)
        return None

    async def _admit(
        self, slot: _Slot, cost: float, tokens: int, deadline: float, *, is_last: bool
    ) -> tuple[Reservation, int, int] | ErrorCategory:
        """Pass the breaker, the rate limit and the budget, or say which one refused.

        Returns the budget reservation, the rate-limit tokens taken and the breaker permit.
        """
        now = self._clock()
        if now >= deadline:
            return ErrorCategory.DEADLINE
        breaker = slot.breaker
        # Checked before any wait (no point waiting for a provider that is shut), and the permit is
        # taken only after it, so a breaker that opened meanwhile is honoured and a request
        # cancelled while waiting holds no trial slot.
        if breaker.state is BreakerState.OPEN:
            return ErrorCategory.BREAKER_OPEN
        wait = slot.limiter.wait_time(tokens)
        if wait > 0 and (is_last or wait <= _WAIT_SLACK):
            # The last candidate is worth waiting for, when the wait fits; so is a moment
            # left over from a Retry-After sleep that woke early.
            if now + wait >= deadline:
                # A wait only this request's deadline forbids (see `_serve`).
                return ErrorCategory.DEADLINE
            await self._sleep(wait)
            wait = slot.limiter.wait_time(tokens)
        if wait > 0:
            return ErrorCategory.RATE_LIMITED_LOCAL
        if self._clock() >= deadline:
            return ErrorCategory.DEADLINE
        permit = breaker.try_acquire()
        if permit is None:
            return ErrorCategory.BREAKER_OPEN
        reservation = self._budget.reserve(slot.name, cost)
        if reservation is None:
            breaker.release(permit)
            return ErrorCategory.BUDGET
        return reservation, slot.limiter.acquire(tokens), permit

    def _settle_success(
        self,
        slot: _Slot,
        completion: Completion,
        reservation: Reservation,
        *,
        taken: int,
        bound: tuple[int, int],
        elapsed: float,
    ) -> float:
        """Book a successful call: its cost and tokens, breaker, throttling, stats.

        Returns the cost booked. An answer without token usage is booked at its reservation, an
        upper bound of what it can have cost, and counted. `_call` has checked the completion, so
        nothing here can fail between the reservation and its commit.
        """
        usage = completion.usage
        if completion.usage_reported:
            cost, (used_in, used_out) = (
                completion.cost,
                (usage.input_tokens, usage.output_tokens),
            )
        else:
            cost, (used_in, used_out) = reservation.amount, bound
            slot.stats.usage_missing += 1
        self._budget.commit(reservation, cost, used_in, used_out)
        slot.limiter.reconcile(taken, used_in + used_out)
        slot.limiter.on_success()
        slot.breaker.record_success()
        slot.stats.record_success(elapsed, self._clock())
        return cost

    def _settle_failure(
        self,
        slot: _Slot,
        error: ProviderError,
        admitted: tuple[Reservation, int, int],
        bound: tuple[int, int],
        elapsed: float,
    ) -> None:
        """Book a failed call: settle its reservations, tell the breaker and the limiter.

        A failure the provider most likely billed (see `BILLED_FAILURES`) is charged its
        reservation, an upper bound of its cost, and keeps its rate-limit tokens; any other
        failure gives both back.
        """
        reservation, taken, permit = admitted
        category = error.category
        if category in BILLED_FAILURES or isinstance(error, _UnexpectedError):
            self._budget.commit(reservation, reservation.amount, *bound, failed=True)
        else:
            self._budget.release(reservation)
            slot.limiter.reconcile(taken, 0)
        if category is ErrorCategory.TIMEOUT:
            # A timeout is a lower bound of the provider's latency; "fastest" should know.
            slot.stats.record_latency(elapsed, self._clock())
        slot.stats.record_failure(category, self._wall_clock().isoformat())
        if category is ErrorCategory.AUTH:
            slot.breaker.record_auth_failure()
        elif category is ErrorCategory.RATE_LIMIT:
            slot.limiter.on_rate_limited(error.retry_after)
            slot.breaker.record_neutral(permit)
        elif category in _NEUTRAL or (
            isinstance(error, BadRequestError) and error.caller_input
        ):
            slot.breaker.record_neutral(permit)
        else:
            slot.breaker.record_failure()

    def _retry_delay(self, error: ProviderError, retry: int) -> float | None:
        """Seconds to wait before retrying: Retry-After, else full jitter; None to fail over.

        None when the wait is longer than any caller may wait (`max_retry_wait`); whether it fits
        this request's deadline is the caller's check.
        """
        config = self._config
        delay = (
            error.retry_after
            if error.retry_after is not None
            else self._rng.uniform(
                0, min(config.backoff_max, config.backoff_base * 2**retry)
            )
        )
        return None if delay > config.max_retry_wait else delay

    def _skip(
        self,
        attempts: list[Attempt],
        stats: ProviderStats,
        name: str,
        reason: ErrorCategory,
        retry: int,
    ) -> None:
        """Record that a provider was not called, and why."""
        stats.record_skip(reason)
        attempts.append(Attempt(name, AttemptOutcome.SKIPPED, reason, retry=retry))

    # ----------------------------------------------------------------- time

    def _today(self) -> date:
        """Return the local date, read from the wall clock at most once per `_DAY_CHECK` seconds.

        Every request asks several times (budget, stats, prices); one read serves them all, and a
        wall clock that jumps is still followed within a second.
        """
        now = self._clock()
        if now - self._day_checked_at < _DAY_CHECK or now < self._day_checked_at:
            return self._day_cached
        self._day_cached = self._wall_clock().astimezone(self._tz).date()
        self._day_checked_at = now
        return self._day_cached

    # ----------------------------------------------------------------- logging

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

    # ----------------------------------------------------------------- stats and state

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
                "total_cost": overall.total_cost,
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


class _UnexpectedError(ProviderServerError):
    """A client raised something outside the taxonomy (a bug): fail over, do not retry."""

    retryable = False


async def _call(
    provider: Provider, request: AIRequest, timeout: float, *, guarded: bool
) -> Completion:
    """Call the provider; every failure comes out as a `ProviderError`.

    `guarded` puts a timer around a client that does not enforce its timeout itself; the clients of
    `providers/` do (their HTTP timeout covers the whole call), and a timer per call is not free.
    """
    try:
        if guarded:
            async with asyncio.timeout(timeout + _TIMEOUT_GRACE):
                completion = await provider.complete(request, timeout=timeout)
        else:
            completion = await provider.complete(request, timeout=timeout)
        _check_completion(completion)
    except ProviderError:
        raise
    except TimeoutError:
        raise ProviderTimeoutError(
            "no answer within the attempt timeout", provider=provider.name
        ) from None
    except Exception as err:  # noqa: BLE001 - a client bug must not lose the request
        # Only the type: the message of a foreign exception might quote a URL with a key.
        _LOGGER.warning(
            "Provider %s raised an unexpected %s", provider.name, type(err).__name__
        )
        raise _UnexpectedError(
            f"unexpected {type(err).__name__}", provider=provider.name
        ) from None
    return completion


def _check_completion(completion: Completion) -> None:
    """Refuse a completion the router could not book, before anything is booked.

    A client bug found here is settled as a failed call (its reservation charged, the breaker
    told), never half way through booking a success.
    """
    if not isinstance(completion, Completion):
        raise TypeError("not a Completion")
    usage = completion.usage
    counts = (usage.input_tokens, usage.output_tokens)
    if not (
        isinstance(completion.text, str)
        and isinstance(completion.model, str)
        and isinstance(completion.finish_reason, str)
        and all(isinstance(n, int) and n >= 0 for n in counts)
        and isinstance(completion.cost, int | float)
        and math.isfinite(completion.cost)
        and completion.cost >= 0
    ):
        raise ValueError("malformed Completion")


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
