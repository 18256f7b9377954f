"""In-memory providers, clock and sleep for router tests: no sockets, no real time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
import time

from custom_components.aicleaner.router.models import (
    AIRequest,
    Completion,
    HealthResult,
    ModelCapabilities,
    ModelPrice,
    Usage,
)


class FakeClock:
    """A monotonic clock that moves only when told, plus a wall clock that moves with it."""

    def __init__(self, start: float = 1000.0, wall: datetime | None = None) -> None:
        self.now = start
        self._start = start
        self._wall = wall or datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def wall(self) -> datetime:
        return self._wall + timedelta(seconds=self.now - self._start)


class FakeSleep:
    """An injected sleep that advances the fake clock instead of waiting."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0)


class OffsetClock:
    """Real monotonic time, which a test may push forward (to let a breaker's open time pass)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


class OffsetSleep:
    """Records each wait and pushes an `OffsetClock` forward instead of sleeping."""

    def __init__(self, clock: OffsetClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.offset += seconds


type Outcome = Completion | BaseException | Callable[[AIRequest], Completion]


@dataclass
class FakeProvider:
    """A provider that answers from a script, then with a default completion.

    `script` items are used in order: a Completion is returned, an exception raised, a callable
    called. `latency` advances the clock during each call; `gate` holds every call until set.
    """

    name: str
    label: str = ""
    kind: str = "openai"
    model: str = "fake-model"
    is_local: bool = False
    vision: bool = True
    price_value: ModelPrice = field(default_factory=lambda: ModelPrice(1.0, 2.0))
    tokens_per_image: int = 1000
    context_window: int = 128_000
    script: list[Outcome] = field(default_factory=list)
    output_tokens: int = 10
    latency: float = 0.0
    clock: FakeClock | None = None
    gate: asyncio.Event | None = None
    calls: list[AIRequest] = field(default_factory=list)
    timeouts: list[float] = field(default_factory=list)
    prepared: list[AIRequest] = field(default_factory=list)
    # Replaces the default preparation (the request as it is), e.g. to make it slow or fail.
    prepare_outcome: Callable[[AIRequest], Awaitable[AIRequest]] | None = None

    def __post_init__(self) -> None:
        self.label = self.label or self.name

    def capabilities(self, model: str | None = None) -> ModelCapabilities:
        return ModelCapabilities(
            vision=self.vision,
            context_window=self.context_window,
            max_image_bytes=5_000_000,
            max_image_dimension=2048,
            tokens_per_image=self.tokens_per_image,
        )

    def price(self, model: str | None = None, *, on: date | None = None) -> ModelPrice:
        return self.price_value

    def completion(self, request: AIRequest) -> Completion:
        usage = Usage(
            input_tokens=len(request.prompt) // 4 + 1, output_tokens=self.output_tokens
        )
        return Completion(
            text=f"{self.name}: {request.prompt}",
            model=request.model or self.model,
            usage=usage,
            finish_reason="stop",
            cost=self.price_value.cost(usage.input_tokens, usage.output_tokens),
        )

    async def prepare(self, request: AIRequest) -> AIRequest:
        self.prepared.append(request)
        if self.prepare_outcome is not None:
            return await self.prepare_outcome(request)
        return request

    async def complete(
        self, request: AIRequest, *, timeout: float, day: date | None = None
    ) -> Completion:
        self.calls.append(request)
        self.timeouts.append(timeout)
        if self.gate is not None:
            await self.gate.wait()
        if self.clock is not None and self.latency:
            self.clock.advance(self.latency)
        if self.script:
            outcome = self.script.pop(0)
            if isinstance(outcome, BaseException):
                raise outcome
            if isinstance(outcome, Completion):
                return outcome
            return outcome(request)
        return self.completion(request)

    async def health(self) -> HealthResult:
        return HealthResult(latency_ms=1.0, models=(self.model,))

    async def validate_credentials(self) -> None:
        return None
