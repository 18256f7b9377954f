"""Calling one provider for one request: admission, the call, retries, and booking the outcome.

The mixin holds the part of `Router` that runs per candidate: breaker, rate limit and budget checks
(`_admit`), image preparation outside the attempt's clock (`_prepare`), the call under its timeout
(failures outside the taxonomy classified by `_classified`), retry with backoff, and settling
money, limits, breaker and stats (`_settle_*`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
import logging
import math
import random

from .breaker import BreakerState
from .budget import BudgetLedger, Reservation
from .config import RouterConfig, SelectionStrategy
from .errors import (
    BadRequestError,
    ContextLengthError,
    ErrorCategory,
    HealthEffect,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
)
from .limits import RateLimiter
from .models import (
    AIRequest,
    AIResponse,
    Attempt,
    AttemptOutcome,
    Completion,
    CostSource,
    Provider,
)
from .slot import Slot
from .stats import ProviderStats
from .strategies import Candidate

_LOGGER = logging.getLogger("custom_components.aicleaner.router")

# The client enforces the attempt timeout itself and classifies it precisely; this guard only
# catches a client that does not, shortly after.
_TIMEOUT_GRACE = 1.0
# A limiter wait this short is cheaper than a failover (timers may wake a little early).
_WAIT_SLACK = 0.05


class AttemptsMixin:
    """The per-candidate half of `Router`; the attributes below are the router's."""

    _budget: BudgetLedger
    _clock: Callable[[], float]
    _config: RouterConfig
    _rng: random.Random
    _sleep: Callable[[float], Awaitable[object]]
    _slots: dict[str, Slot]
    _wall_clock: Callable[[], datetime]

    def _live_slot(self, name: str) -> Slot | None:
        """Return the provider's current slot, or None once it was removed or disabled."""
        slot = self._slots.get(name)
        return slot if slot is not None and slot.settings.enabled else None

    async def _try_provider(
        self,
        request: AIRequest,
        candidate: Candidate,
        attempts: list[Attempt],
        deadline: float,
        started: float,
        *,
        later: Sequence[Candidate],
        day: date,
    ) -> AIResponse | None:
        """Call one provider, retrying retryable errors; None means fail over to the next.

        `later` are the candidates after this one, for `_admit` to tell whether it is the last.
        `day` is the day the candidates' reservations were priced on: the answer is priced on it too.
        """
        name = candidate.name
        slot = self._live_slot(name)
        if slot is None:
            # Removed or disabled while this request waited for an earlier candidate.
            return None
        needed = _window_needed(attempts)
        if needed and slot.capabilities(request.model).context_window < needed:
            # An earlier model's window was too small; this one's is no larger.
            self._skip(attempts, slot.stats, name, ErrorCategory.CONTEXT_LENGTH, 0)
            return None
        clock = self._clock
        # Most input and output tokens the call can use: booked when the provider reports none.
        bound = (candidate.input_tokens, request.max_tokens)
        tokens = candidate.input_tokens + request.max_tokens
        prepared = (
            await self._prepare(slot, request, attempts, deadline)
            if request.has_images
            else request
        )
        if prepared is None:
            return None
        # Retries end inside the loop: on success, on an error not worth retrying, or once
        # `max_retries` (of the provider's current settings) are spent.
        retry = 0
        while True:
            if retry and (slot := self._live_slot(name)) is None:
                return None
            stats = slot.stats
            admitted = await self._admit(slot, candidate.cost, tokens, deadline, later)
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
            provider = slot.provider
            # The call is inline, not in a helper coroutine: every frame between the caller and
            # the HTTP client is resumed at each of the call's suspensions.
            try:
                if slot.guarded:
                    # The clients of `providers/` enforce their timeout themselves (their HTTP
                    # timeout covers the whole call), and a timer per call is not free.
                    async with asyncio.timeout(attempt_timeout + _TIMEOUT_GRACE):
                        completion = await provider.complete(
                            prepared, timeout=attempt_timeout, day=day
                        )
                else:
                    completion = await provider.complete(
                        prepared, timeout=attempt_timeout, day=day
                    )
                _check_completion(completion)
            except ProviderError as err:
                error = err
            except asyncio.CancelledError:
                # The request may well have been sent: the provider bills it all the same.
                self._budget.commit(
                    reservation, reservation.amount, *bound, failed=True
                )
                slot.breaker.release(permit)
                raise
            except Exception as err:  # noqa: BLE001 - a client bug must not lose the request
                error = _classified(provider, err)
            else:
                elapsed = clock() - call_started
                cost, source = self._settle_success(
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
                    cost_estimated=source is CostSource.RESERVATION,
                    data=completion.data,
                    cost_source=source,
                    tool_calls=completion.tool_calls,
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
                    needs_window=_window_after(error, slot, request)
                    if isinstance(error, ContextLengthError)
                    else None,
                )
            )
            # The class answers what follows, never the status: the caller's own fault goes
            # back to the caller; otherwise retry here, or fail over.
            if not error.failover:
                raise error
            if not error.retry_same or retry >= slot.settings.max_retries:
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
            retry += 1

    async def _prepare(
        self,
        slot: Slot,
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
            if not err.failover:
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
        self,
        slot: Slot,
        cost: float,
        tokens: int,
        deadline: float,
        later: Sequence[Candidate],
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
        limiter = slot.limiter
        wait = limiter.wait_time(tokens)
        taken: int | None = None
        if wait > 0:
            # The last candidate is worth waiting for, when the wait fits; so is a moment
            # left over from a Retry-After sleep that woke early.
            if wait > _WAIT_SLACK and not self._is_last(later):
                return ErrorCategory.RATE_LIMITED_LOCAL
            if now + wait >= deadline:
                # A wait only this request's deadline forbids (see `_serve`).
                return ErrorCategory.DEADLINE
            # The tokens are taken now, ahead of time: a request that comes later waits behind
            # this one, so waiters go in arrival order and none is refused after its wait.
            taken = limiter.acquire_ahead(tokens)
            try:
                refused = await self._wait_for_tokens(limiter, wait, deadline)
            except asyncio.CancelledError:
                limiter.cancel(taken)
                raise
            if refused is not None:
                limiter.cancel(taken)
                return refused
        # Without a wait, nothing was awaited since the deadline was checked above.
        permit = breaker.try_acquire()
        if permit is None:
            if taken is not None:
                limiter.cancel(taken)
            return ErrorCategory.BREAKER_OPEN
        reservation = self._budget.reserve(slot.name, cost)
        if reservation is None:
            breaker.release(permit)
            if taken is not None:
                limiter.cancel(taken)
            return ErrorCategory.BUDGET
        if taken is None:
            taken = limiter.acquire(tokens)
        return reservation, taken, permit

    async def _wait_for_tokens(
        self, limiter: RateLimiter, wait: float, deadline: float
    ) -> ErrorCategory | None:
        """Sleep until tokens taken ahead are there; then through a Retry-After that came meanwhile.

        None when the request may go; DEADLINE when a further wait does not fit its deadline.
        """
        await self._sleep(wait)
        while (blocked := limiter.blocked_for()) > 0:
            if self._clock() + blocked >= deadline:
                return ErrorCategory.DEADLINE
            await self._sleep(blocked)
        return ErrorCategory.DEADLINE if self._clock() >= deadline else None

    def _is_last(self, later: Sequence[Candidate]) -> bool:
        """Whether no candidate after this one can take a call now.

        The last candidate that can take a call is worth a rate-limit wait: one followed only by
        providers that are gone, disabled or whose breakers are open is the last, or the request
        would fail at once. Asked only when a wait is due, so the common path pays nothing for it.
        """
        for candidate in later:
            slot = self._live_slot(candidate.name)
            if slot is not None and slot.breaker.state is not BreakerState.OPEN:
                return False
        return True

    def _settle_success(
        self,
        slot: Slot,
        completion: Completion,
        reservation: Reservation,
        *,
        taken: int,
        bound: tuple[int, int],
        elapsed: float,
    ) -> tuple[float, CostSource]:
        """Book a successful call: its cost and tokens, breaker, throttling, stats.

        Returns the cost booked and where it comes from. A gateway's billed figure is booked as it
        is, even above the reservation (money is never guessed low; the budget then shows the
        overspend and refuses what no longer fits). An answer without token usage is booked at its
        tokens' upper bound, and, unless a gateway said what it cost, at its reservation, an upper
        bound of what it can have cost, and counted. `_check_completion` has checked the completion,
        so nothing here can fail between the reservation and its commit.
        """
        usage = completion.usage
        source = completion.cost_source
        if completion.usage_reported:
            used_in, used_out = usage.input_tokens, usage.output_tokens
        else:
            used_in, used_out = bound
            slot.stats.usage_missing += 1
        if source is CostSource.GATEWAY or completion.usage_reported:
            cost = completion.cost
        else:
            cost, source = reservation.amount, CostSource.RESERVATION
        self._budget.commit(reservation, cost, used_in, used_out)
        slot.limiter.reconcile(taken, used_in + used_out)
        slot.limiter.on_success()
        slot.breaker.record_success()
        slot.stats.record_success(elapsed, self._clock())
        return cost, source

    def _settle_failure(
        self,
        slot: Slot,
        error: ProviderError,
        admitted: tuple[Reservation, int, int],
        bound: tuple[int, int],
        elapsed: float,
    ) -> None:
        """Book a failed call by its class's answers: money, limiter, breaker and stats.

        A failure the provider billed (`billed`) is charged its reservation, an upper bound of its
        cost, and keeps its rate-limit tokens; any other failure gives both back. What it says
        about the provider's health (`health`) goes to the breaker, or to the limiter as a wait.
        """
        reservation, taken, permit = admitted
        category = error.category
        if error.billed:
            self._budget.commit(reservation, reservation.amount, *bound, failed=True)
        else:
            self._budget.release(reservation)
            slot.limiter.reconcile(taken, 0)
        if category is ErrorCategory.TIMEOUT:
            # A timeout is a lower bound of the provider's latency; "fastest" should know.
            slot.stats.record_latency(elapsed, self._clock())
        slot.stats.record_failure(category, self._wall_clock().isoformat())
        effect = error.health
        if effect is HealthEffect.THROTTLE:
            slot.limiter.on_rate_limited(error.retry_after)
        elif effect is HealthEffect.COOLDOWN:
            slot.limiter.on_rate_limited(
                max(error.retry_after or 0.0, error.cooldown_seconds)
            )
        slot.breaker.record(effect, permit)

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


class _UnexpectedError(ProviderServerError):
    """A client raised something outside the taxonomy (a bug): fail over, do not retry.

    Billed: there is no way to know how far the call got.
    """

    retry_same = False
    billed = True


def _window_needed(attempts: Sequence[Attempt]) -> int:
    """Return the smallest context window a candidate needs after context-length errors (0: any)."""
    return max((a.needs_window or 0 for a in attempts), default=0)


def _window_after(error: ContextLengthError, slot: Slot, request: AIRequest) -> int:
    """Return the smallest window that can fit the request, after it did not fit this model's.

    What the answer says (the tokens the request needed, the window it did not fit), else the
    window the model tables give this model.
    """
    window = error.context_window or slot.capabilities(request.model).context_window
    return max(error.requested_tokens or 0, window + 1)


def _classified(provider: Provider, err: Exception) -> ProviderError:
    """Return the `ProviderError` of an exception a client raised outside the taxonomy.

    A `TimeoutError` is the router's own guard firing (see `_TIMEOUT_GRACE`); anything else is a
    client bug, which must not lose the request.
    """
    if isinstance(err, TimeoutError):
        return ProviderTimeoutError(
            "no answer within the attempt timeout", provider=provider.name
        )
    # Only the type: the message of a foreign exception might quote a URL with a key.
    _LOGGER.warning(
        "Provider %s raised an unexpected %s", provider.name, type(err).__name__
    )
    return _UnexpectedError(f"unexpected {type(err).__name__}", provider=provider.name)


def _check_completion(completion: Completion) -> None:
    """Refuse a completion the router could not book, before anything is booked.

    A client bug found here is settled as a failed call (its reservation charged, the breaker
    told), never half way through booking a success.
    """
    if not isinstance(completion, Completion):
        raise TypeError("not a Completion")
    usage = completion.usage
    used_in, used_out, cost = usage.input_tokens, usage.output_tokens, completion.cost
    if not (
        isinstance(completion.text, str)
        and isinstance(completion.model, str)
        and isinstance(completion.finish_reason, str)
        and isinstance(used_in, int)
        and used_in >= 0
        and isinstance(used_out, int)
        and used_out >= 0
        and isinstance(cost, int | float)
        and 0 <= cost < math.inf
    ):
        raise ValueError("malformed Completion")
