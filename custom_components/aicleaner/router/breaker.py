"""Per-provider circuit breaker: closed, open, half-open, with a bounded number of trial calls."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from .config import BreakerSettings
from .errors import HealthEffect

# Permit of a call admitted while the breaker was closed: it holds no trial slot.
NOT_A_TRIAL = 0


class BreakerState(StrEnum):
    """Where a breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Stops calls to a provider that keeps failing, then lets a few trial calls through.

    The router calls `try_acquire` before a call and after it exactly one of `record_success`,
    `release`, or `record` with what the failure says about health (the error class's
    `HealthEffect`). A rejected key opens the breaker until `reset` (the credentials changed);
    time alone does not close it. Failures that are not the provider's (the caller's input, a
    model this key may not use, a 429, a spent quota) hand the permit back and count nothing.

    Each half-open period has its own generation number, and a trial's permit carries it: only
    trials of the current period free a trial slot when they end, so a call admitted while closed
    (or in an earlier half-open period) can never let more than `half_open_max_calls` through.
    """

    __slots__ = (
        "_clock",
        "_consecutive_failures",
        "_generation",
        "_opened_at",
        "_settings",
        "_state",
        "_trials_in_flight",
        "auth_failed",
    )

    def __init__(self, settings: BreakerSettings, clock: Callable[[], float]) -> None:
        """Start closed."""
        self._settings = settings
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._consecutive_failures = 0
        self._opened_at = 0.0
        # Trials of the current half-open period: set to 0 when a period begins, read only in one.
        self._trials_in_flight = 0
        # Number of the current (or last) half-open period; 0 means there was none yet.
        self._generation = 0
        self.auth_failed = False

    @property
    def state(self) -> BreakerState:
        """Current state; an open breaker whose timeout has passed reports half-open."""
        if (
            self._state is BreakerState.OPEN
            and not self.auth_failed
            and self._clock() - self._opened_at >= self._settings.timeout_seconds
        ):
            self._state = BreakerState.HALF_OPEN
            self._trials_in_flight = 0
            self._generation += 1
        return self._state

    @property
    def consecutive_failures(self) -> int:
        """Failures since the last success."""
        return self._consecutive_failures

    def try_acquire(self) -> int | None:
        """Admit a call now, or return None when the breaker refuses it.

        The permit returned is `NOT_A_TRIAL` (0) for a call admitted while closed, else the
        generation of the half-open period whose trial slot the call holds.
        """
        state = self.state
        if state is BreakerState.CLOSED:
            return NOT_A_TRIAL
        if state is BreakerState.OPEN:
            return None
        if self._trials_in_flight >= self._settings.half_open_max_calls:
            return None
        self._trials_in_flight += 1
        return self._generation

    def release(self, permit: int) -> None:
        """Give back an admitted call that was never sent, or ended without a verdict.

        Only a trial of the current half-open period frees a trial slot.
        """
        if (
            permit == self._generation
            and self._state is BreakerState.HALF_OPEN
            and self._trials_in_flight > 0
        ):
            self._trials_in_flight -= 1

    def record_success(self) -> None:
        """Close after a successful call and forget past failures.

        A call that was already in flight when the key was rejected does not clear an auth failure.
        """
        if self.auth_failed:
            return
        self._state = BreakerState.CLOSED
        self._consecutive_failures = 0

    def record_failure(self) -> None:
        """Count a failure that says the provider is unhealthy; open at the threshold."""
        self._consecutive_failures += 1
        if self._state is BreakerState.HALF_OPEN or (
            self._state is BreakerState.CLOSED
            and self._consecutive_failures >= self._settings.failure_threshold
        ):
            self._open()

    def record_neutral(self, permit: int) -> None:
        """Settle a call whose end says nothing about health (429, content filter, caller error)."""
        self.release(permit)

    def record(self, effect: HealthEffect, permit: int) -> None:
        """Settle a failed call by what it says about the provider's health."""
        if effect is HealthEffect.FAILURE:
            self.record_failure()
        elif effect is HealthEffect.KEY_REJECTED:
            self.record_auth_failure()
        else:
            self.record_neutral(permit)

    def record_auth_failure(self) -> None:
        """Open until the credentials change, because the key was rejected."""
        self.auth_failed = True
        self._consecutive_failures += 1
        self._open()

    def reset(self) -> None:
        """Close the breaker, e.g. after the credentials changed."""
        self.auth_failed = False
        self._state = BreakerState.CLOSED
        self._consecutive_failures = 0

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()
