"""`Router.stream`: the same routing as `process`, answering in deltas, failing over before the first.

Candidates, admission (breaker, rate limit, budget) and settlement are `process`'s own (`_ordered`,
`_admit`, `_settle_*`). What differs is the attempt: the provider's stream must yield its first delta
within the provider's time-to-first-token deadline. Until that first delta leaves the router, any
failure (an error before the stream, a 429, a stream that ends with no content, a first token that
does not come in time) moves on to the next candidate. After it, a broken stream ends the request
with `StreamInterrupted`, never with another provider's words spliced in.

Time: the first-token deadline also bounds each silence after the first token (a stalled stream),
and the whole stream may run to the request's deadline. The attempt timeout, which bounds a whole
answer, does not apply: a long answer from a slow local model streams past it.

Money: a stream reserves like a request, is booked from its usage record, and at its reservation
when it broke or was cancelled before the usage came (the provider billed what it generated).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
import contextlib
from datetime import date
import logging
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

from .attempts import AttemptsMixin, _classified
from .budget import BudgetLedger, Reservation
from .config import SelectionStrategy
from .conversation import ProviderDelta, RouterDelta, StreamEnd, StreamResult
from .errors import (
    AICleanerError,
    AllProvidersFailed,
    EmptyResponseError,
    ErrorCategory,
    ProviderError,
    ProviderTimeoutError,
)
from .models import (
    AIRequest,
    AIResponse,
    Attempt,
    AttemptOutcome,
    Completion,
    CostSource,
    Usage,
)
from .reporting import ReportingMixin

if TYPE_CHECKING:
    from .slot import Slot
    from .strategies import Candidate

_LOGGER = logging.getLogger("custom_components.aicleaner.router")

# Time to the first token when the provider's settings name none: a cloud model starts within a
# second or two; a local one may have to load into memory first.
TTFT_CLOUD: Final = 10.0
TTFT_LOCAL: Final = 30.0
# The breaker rule of `attempts._settle_failure`: these say nothing of the provider's health.


@runtime_checkable
class StreamingProvider(Protocol):
    """A provider client that can stream (every client of `providers/` can)."""

    def stream(
        self, request: AIRequest, *, timeout: float, day: date, idle: float | None
    ) -> AsyncIterator[ProviderDelta]:
        """Yield the answer's deltas, then one `StreamEnd`.

        `timeout`: seconds the whole stream may take; `idle`: seconds it may go without a byte.
        """


class StreamInterrupted(AICleanerError):
    """A stream broke after its first delta was yielded: the answer is incomplete.

    `error` is the provider's classified failure; `attempts` every provider tried.
    """

    def __init__(
        self, request_id: str, error: ProviderError, attempts: Sequence[Attempt]
    ) -> None:
        """Keep the failure and the attempts."""
        self.request_id = request_id
        self.error = error
        self.attempts = tuple(attempts)
        super().__init__(f"The answer broke off: {error}")


def ttft_deadline(slot: Slot) -> float:
    """Seconds the provider of `slot` has for its first token, and for each one after it."""
    if slot.settings.ttft_timeout is not None:
        return slot.settings.ttft_timeout
    return TTFT_LOCAL if slot.provider.is_local else TTFT_CLOUD


class StreamingMixin(AttemptsMixin, ReportingMixin):
    """The streaming half of `Router`; the attributes and methods below are the router's."""

    _listeners: list[Callable[[AIResponse | AICleanerError], None]]

    if TYPE_CHECKING:

        def _ordered(self, request: AIRequest, day: date) -> list[Candidate]: ...
        def _today(self) -> date: ...
        def _log_failure(
            self, request: AIRequest, err: AICleanerError, started: float
        ) -> None: ...
        def _log_success(self, response: AIResponse) -> None: ...
        def _tell(self, outcome: AIResponse | AICleanerError) -> None: ...

    async def stream(self, request: AIRequest) -> AsyncIterator[RouterDelta]:
        """Answer `request` as a stream: text, reasoning and tool-call deltas, then a `StreamResult`.

        Raises `AllProvidersFailed` when no provider produced a first delta, the provider's
        `BadRequestError` when the caller's input was at fault, and `StreamInterrupted` when the
        stream broke after its first delta. A conversation is never answered from the cache.
        """
        # One generator from the provider's stream to the caller: each layer would cost every
        # delta a resumption.
        clock = self._clock
        started = clock()
        overall = self._count_today()
        overall.total_requests += 1
        deadline = started + (request.timeout or self._config.request_timeout)
        opened: _OpenStream | None = None
        try:
            # The day every reservation of this request is priced on, and its answer too.
            day = self._today()
            candidates = self._ordered(request, day)
            attempts: list[Attempt] = []
            for index, candidate in enumerate(candidates):
                opened = await self._open_stream(
                    request,
                    candidate,
                    attempts,
                    deadline,
                    later=candidates[index + 1 :],
                    day=day,
                )
                if opened is not None:
                    break
            else:
                raise AllProvidersFailed(request.request_id, attempts)
            deltas = opened.deltas
            first = opened.first
            if deltas is None or first is None or isinstance(first, StreamEnd):
                raise RuntimeError("a stream relayed before its first delta")
            yield first
            end: StreamEnd | None = None
            try:
                async for item in deltas:
                    if isinstance(item, StreamEnd):
                        end = item
                        break
                    yield item
            except ProviderError as err:
                self._settle_broken(opened, err, attempts)
                raise StreamInterrupted(request.request_id, err, attempts) from err
            if end is None:
                broken = EmptyResponseError(
                    "the stream ended without its usage record",
                    provider=opened.slot.name,
                )
                self._settle_broken(opened, broken, attempts)
                raise StreamInterrupted(request.request_id, broken, attempts)
            response = self._settle_stream(request, opened, end, attempts, started)
            overall.successful_requests += 1
            overall.total_response_time += response.latency_ms / 1000
            if _LOGGER.isEnabledFor(logging.INFO):
                self._log_success(response)
            if self._listeners:
                self._tell(response)
            yield StreamResult(response)
        except AICleanerError as err:
            overall.failed_requests += 1
            self._log_failure(request, err, started)
            if self._listeners:
                self._tell(err)
            raise
        finally:
            if opened is not None:
                if not opened.settled:
                    # The consumer stopped reading (or was cancelled) before the usage came.
                    opened.cancelled(self._budget)
                if opened.deltas is not None:
                    await _close(opened.deltas)

    async def _open_stream(
        self,
        request: AIRequest,
        candidate: Candidate,
        attempts: list[Attempt],
        deadline: float,
        *,
        later: Sequence[Candidate],
        day: date,
    ) -> _OpenStream | None:
        """Admit one candidate and wait for its first delta; None means: try the next one."""
        name = candidate.name
        slot = self._live_slot(name)
        if slot is None:
            return None
        provider = slot.provider
        if not isinstance(provider, StreamingProvider):
            self._skip(attempts, slot.stats, name, ErrorCategory.BAD_REQUEST, 0)
            return None
        prepared = (
            await self._prepare(slot, request, attempts, deadline)
            if request.has_images
            else request
        )
        if prepared is None:
            return None
        tokens = candidate.input_tokens + request.max_tokens
        admitted = await self._admit(slot, candidate.cost, tokens, deadline, later)
        if isinstance(admitted, ErrorCategory):
            self._skip(attempts, slot.stats, name, admitted, 0)
            return None
        if (
            request.strategy or self._config.selection_strategy
        ) == SelectionStrategy.ROUND_ROBIN:
            slot.stats.rr_pass += 1 / max(slot.settings.weight, 1e-6)
        clock = self._clock
        remaining = deadline - clock()
        patience = ttft_deadline(slot)
        bound = (candidate.input_tokens, request.max_tokens)
        opened = _OpenStream(slot, admitted, bound, clock())
        slot.stats.in_flight += 1
        deltas = provider.stream(prepared, timeout=remaining, day=day, idle=patience)
        error: ProviderError
        try:
            async with asyncio.timeout(min(patience, remaining)) as first:
                item = await anext(deltas)
        except ProviderError as err:
            error = err
        except TimeoutError:
            error = ProviderTimeoutError(
                "no first token within the time-to-first-token deadline"
                if first.expired()
                else "no answer within the request's deadline",
                provider=name,
            )
        except StopAsyncIteration:
            error = EmptyResponseError("the stream ended empty", provider=name)
        except asyncio.CancelledError:
            await _close(deltas)
            opened.cancelled(self._budget)
            raise
        except Exception as err:  # noqa: BLE001 - a client bug must not lose the request
            error = _classified(provider, err)
        else:
            if not isinstance(item, StreamEnd):
                opened.deltas = deltas
                opened.first = item
                return opened
            error = EmptyResponseError("the stream had no content", provider=name)
        await _close(deltas)
        slot.stats.in_flight -= 1
        elapsed = clock() - opened.started
        self._settle_failure(slot, error, admitted, bound, elapsed)
        attempts.append(
            Attempt(
                name,
                AttemptOutcome.ERROR,
                error.category,
                latency_ms=elapsed * 1000,
                status=error.status,
            )
        )
        if not error.failover:
            raise error
        return None

    def _settle_stream(
        self,
        request: AIRequest,
        opened: _OpenStream,
        end: StreamEnd,
        attempts: list[Attempt],
        started: float,
    ) -> AIResponse:
        """Book a stream that ended with its usage record, as `process` books an answer."""
        slot = opened.slot
        elapsed = self._clock() - opened.started
        completion = Completion(
            text=end.text,
            model=end.model,
            usage=end.usage or Usage(),
            finish_reason=end.finish_reason,
            cost=end.cost,
            usage_reported=end.usage is not None,
            tool_calls=end.tool_calls,
        )
        reservation, taken, _ = opened.admitted
        opened.settled = True
        slot.stats.in_flight -= 1
        cost, source = self._settle_success(
            slot,
            completion,
            reservation,
            taken=taken,
            bound=opened.bound,
            elapsed=elapsed,
        )
        attempts.append(
            Attempt(slot.name, AttemptOutcome.SUCCESS, latency_ms=elapsed * 1000)
        )
        return AIResponse(
            request_id=request.request_id,
            text=end.text,
            provider=slot.name,
            model=end.model,
            usage=completion.usage,
            cost=cost,
            latency_ms=(self._clock() - started) * 1000,
            finish_reason=end.finish_reason,
            attempts=tuple(attempts),
            cost_estimated=source is CostSource.RESERVATION,
            cost_source=source,
            tool_calls=end.tool_calls,
        )

    def _settle_broken(
        self, opened: _OpenStream, error: ProviderError, attempts: list[Attempt]
    ) -> None:
        """Book a stream that broke after its first delta: at its reservation, an upper bound.

        The provider generated (and bills) what it sent, whatever the failure's category; the
        breaker and the stats learn of the failure as after any call.
        """
        slot = opened.slot
        reservation, _, permit = opened.admitted
        opened.settled = True
        attempts.append(opened.attempt(self._clock(), error))
        slot.stats.in_flight -= 1
        self._budget.commit(reservation, reservation.amount, *opened.bound, failed=True)
        slot.stats.record_failure(error.category, self._wall_clock().isoformat())
        slot.breaker.record(error.health, permit)


class _OpenStream:
    """One admitted stream attempt, from its admission to its settlement."""

    __slots__ = ("admitted", "bound", "deltas", "first", "settled", "slot", "started")

    def __init__(
        self,
        slot: Slot,
        admitted: tuple[Reservation, int, int],
        bound: tuple[int, int],
        started: float,
    ) -> None:
        self.slot = slot
        self.admitted = admitted
        self.bound = bound
        self.started = started
        self.deltas: AsyncIterator[ProviderDelta] | None = None
        self.first: ProviderDelta | None = None
        # Booked: once, however the stream ends.
        self.settled = False

    def cancelled(self, budget: BudgetLedger) -> None:
        """Book a stream its consumer gave up on: sent, so billed, at its reservation."""
        self.settled = True
        reservation, _, permit = self.admitted
        self.slot.stats.in_flight -= 1
        budget.commit(reservation, reservation.amount, *self.bound, failed=True)
        self.slot.breaker.release(permit)

    def attempt(self, now: float, error: ProviderError) -> Attempt:
        return Attempt(
            self.slot.name,
            AttemptOutcome.ERROR,
            error.category,
            latency_ms=(now - self.started) * 1000,
            status=error.status,
        )


async def _close(deltas: AsyncIterator[ProviderDelta]) -> None:
    """Close a provider's stream (its connection goes back or is dropped)."""
    aclose = getattr(deltas, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()
