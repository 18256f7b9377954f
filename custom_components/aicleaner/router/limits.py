"""Per-provider rate limits: token buckets for rpm, tpm and rph, with adaptive throttling.

A 429 halves the provider's effective rate (every bucket's refill rate and capacity) and a success
gives back a fixed step of it: additive increase, multiplicative decrease.
"""

from __future__ import annotations

from collections.abc import Callable

from .config import ProviderSettings

# Effective rate never drops below this share of the configured rate.
_MIN_FACTOR = 1 / 32
# Share of the configured rate a success gives back after a 429.
_RECOVERY_STEP = 0.05


class TokenBucket:
    """Tokens refill continuously at `rate` per second up to `capacity`; never below zero.

    A throttling factor (`rescale`) applies to both; the scaled figures are kept, not recomputed,
    since every request reads them several times.
    """

    __slots__ = (
        "updated_at",
        "capacity",
        "effective_capacity",
        "effective_rate",
        "rate",
        "tokens",
    )

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        """Start full."""
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.updated_at = now
        self.rescale(1.0)

    def rescale(self, scale: float) -> None:
        """Apply a throttling factor to the configured rate and capacity."""
        # Capacity under the current throttling; at least one token so anything can pass.
        self.effective_capacity = max(1.0, self.capacity * scale)
        self.effective_rate = self.rate * scale

    def refill(self, now: float) -> None:
        """Add the tokens earned since the last refill."""
        # A clock that stepped back earns nothing (and takes nothing).
        elapsed = max(0.0, now - self.updated_at)
        self.updated_at = now
        self.tokens = min(
            self.effective_capacity, self.tokens + elapsed * self.effective_rate
        )

    def needed(self, amount: float) -> float:
        """Tokens a request of `amount` takes: more than a full bucket would never fit."""
        return min(amount, self.effective_capacity)

    def wait_time(self, amount: float) -> float:
        """Seconds until `amount` tokens are available (0 when they are now); call after refill."""
        missing = self.needed(amount) - self.tokens
        if missing <= 0:
            return 0.0
        return missing / self.effective_rate

    def take(self, amount: float) -> float:
        """Remove the tokens a request of `amount` takes; return how many were removed."""
        taken = self.needed(amount)
        self.tokens = max(0.0, self.tokens - taken)
        return taken

    def take_ahead(self, amount: float) -> float:
        """Remove the tokens a request of `amount` takes, into debt when they are not there yet.

        A request that will wait for its tokens holds its place: the debt makes whoever comes
        next wait behind it, so waiters are served in arrival order.
        """
        taken = self.needed(amount)
        self.tokens -= taken
        return taken

    def give_back(self, amount: float) -> None:
        """Return tokens (a negative amount charges more), up to capacity.

        A charge never takes the bucket below 0, nor deeper into the debt of waiters; tokens
        given back from a debt repay it, so the waiters behind keep their places.
        """
        self.tokens = min(
            self.effective_capacity,
            max(min(0.0, self.tokens), self.tokens + amount),
        )


class RateLimiter:
    """The rpm, tpm and rph buckets of one provider; unconfigured limits are not enforced."""

    __slots__ = (
        "_adaptive",
        "_all",
        "_blocked_until",
        "_clock",
        "_factor",
        "_request_buckets",
        "_tpm",
    )

    def __init__(self, settings: ProviderSettings, clock: Callable[[], float]) -> None:
        """Build the buckets the settings ask for."""
        self._clock = clock
        now = clock()
        self._adaptive = settings.enable_adaptive_throttling
        self._factor = 1.0
        self._blocked_until = 0.0
        requests: list[TokenBucket] = []
        if settings.rate_limit_rpm:
            capacity = settings.rate_limit_rpm + max(0, settings.burst_allowance)
            requests.append(TokenBucket(capacity, settings.rate_limit_rpm / 60, now))
        if settings.rate_limit_rph:
            requests.append(
                TokenBucket(
                    settings.rate_limit_rph, settings.rate_limit_rph / 3600, now
                )
            )
        self._request_buckets = tuple(requests)
        self._tpm = (
            TokenBucket(settings.rate_limit_tpm, settings.rate_limit_tpm / 60, now)
            if settings.rate_limit_tpm
            else None
        )
        self._all = (
            self._request_buckets
            if self._tpm is None
            else (*self._request_buckets, self._tpm)
        )

    @property
    def factor(self) -> float:
        """Share of the configured rate in force (1.0 unless throttled by 429s)."""
        return self._factor

    def wait_time(self, tokens: int) -> float:
        """Seconds until a request of `tokens` estimated tokens would be admitted (0 = now)."""
        now = self._clock()
        wait = self._blocked_until - now if self._blocked_until > now else 0.0
        for bucket in self._request_buckets:
            bucket.refill(now)
            wait = max(wait, bucket.wait_time(1))
        if self._tpm is not None:
            self._tpm.refill(now)
            wait = max(wait, self._tpm.wait_time(tokens))
        return wait

    def acquire(self, tokens: int) -> int:
        """Take one request and `tokens` tokens; call only when `wait_time` was 0.

        Returns the tokens taken, to pass to `reconcile` after the call.
        """
        for bucket in self._request_buckets:
            bucket.take(1)
        if self._tpm is None:
            return tokens
        return int(self._tpm.take(tokens))

    def acquire_ahead(self, tokens: int) -> int:
        """Take one request and `tokens` tokens now, before they are there; call after `wait_time`.

        For a request about to wait `wait_time`: when that wait is over, what it took is there.
        Returns the tokens taken; `cancel` gives everything back if the request does not go.
        """
        for bucket in self._request_buckets:
            bucket.take_ahead(1)
        if self._tpm is None:
            return tokens
        return int(self._tpm.take_ahead(tokens))

    def cancel(self, taken: int) -> None:
        """Give back the request and the `taken` tokens of a request that was not sent."""
        # No refill first: what a bucket earns meanwhile is added later, to the same total.
        for bucket in self._request_buckets:
            bucket.give_back(1)
        if self._tpm is not None:
            self._tpm.give_back(taken)

    def blocked_for(self) -> float:
        """Seconds a provider's Retry-After still blocks it (0 when it does not)."""
        return max(self._blocked_until - self._clock(), 0.0)

    def try_acquire(self, tokens: int) -> tuple[float, int]:
        """Acquire if possible: (0, tokens taken), else (seconds to wait, 0)."""
        wait = self.wait_time(tokens)
        if wait > 0:
            return wait, 0
        return 0.0, self.acquire(tokens)

    def reconcile(self, reserved: int, actual: int) -> None:
        """Settle the tokens taken before a call against the tokens the call really used."""
        if self._tpm is not None and reserved != actual:
            self._tpm.refill(self._clock())
            self._tpm.give_back(reserved - actual)

    def on_rate_limited(self, retry_after: float | None) -> None:
        """Halve the effective rate after a 429 and respect its Retry-After."""
        if retry_after:
            self._blocked_until = max(self._blocked_until, self._clock() + retry_after)
        if self._adaptive:
            self._set_factor(max(_MIN_FACTOR, self._factor / 2))

    def on_success(self) -> None:
        """Win back part of the throttled rate after a success."""
        if self._factor < 1.0:
            self._set_factor(min(1.0, self._factor + _RECOVERY_STEP))

    def headroom(self) -> float:
        """Share of the tightest bucket that is available now, from 0 to 1.

        0 while a Retry-After blocks the provider, configured limits or not.
        """
        now = self._clock()
        if self._blocked_until > now:
            return 0.0
        headroom = 1.0
        for bucket in self._all:
            # `refill` inlined, without storing (hot path: every candidate of every request).
            elapsed = max(0.0, now - bucket.updated_at)
            tokens = bucket.tokens + elapsed * bucket.effective_rate
            headroom = min(headroom, tokens / bucket.effective_capacity)
        # Below 0 while requests wait for tokens taken ahead (`acquire_ahead`).
        return max(headroom, 0.0)

    def _set_factor(self, factor: float) -> None:
        now = self._clock()
        self._factor = factor
        for bucket in self._all:
            bucket.refill(now)
            bucket.rescale(factor)
            bucket.refill(now)
