"""Token buckets for rpm, tpm, rph with burst, and adaptive throttling after 429s."""

from __future__ import annotations

from hypothesis import given, strategies as st
import pytest

from custom_components.aicleaner.router.config import ProviderSettings
from custom_components.aicleaner.router.limits import RateLimiter, TokenBucket

from .fakes import FakeClock


def limiter(clock: FakeClock, **kwargs: object) -> RateLimiter:
    settings = ProviderSettings(
        **{
            "rate_limit_rpm": None,
            "rate_limit_tpm": None,
            "rate_limit_rph": None,
            **kwargs,
        }  # type: ignore[arg-type]
    )
    return RateLimiter(settings, clock)


def test_rpm_bucket_admits_rate_plus_burst_then_makes_callers_wait() -> None:
    clock = FakeClock()
    limits = limiter(clock, rate_limit_rpm=60, burst_allowance=10)
    for _ in range(70):
        assert limits.try_acquire(0) == (0.0, 0)
    wait, taken = limits.try_acquire(0)
    assert taken == 0
    assert wait == pytest.approx(1.0)
    clock.advance(1.0)
    assert limits.try_acquire(0)[0] == 0.0


def test_tpm_bucket_reserves_estimate_and_refunds_unused_tokens() -> None:
    clock = FakeClock()
    limits = limiter(clock, rate_limit_tpm=1000)
    assert limits.try_acquire(600) == (0.0, 600)
    wait, _ = limits.try_acquire(600)
    assert wait == pytest.approx(200 / (1000 / 60))
    limits.reconcile(600, 100)
    # 400 left + 500 unused = 900: a full bucket is 100 tokens (6 s) away.
    assert limits.wait_time(1000) == pytest.approx(100 / (1000 / 60))
    assert limits.try_acquire(600) == (0.0, 600)


def test_tpm_bucket_charges_a_call_that_used_more_than_it_reserved() -> None:
    clock = FakeClock()
    limits = limiter(clock, rate_limit_tpm=1000)
    assert limits.try_acquire(100) == (0.0, 100)
    # The call takes a minute: the bucket is full again when it ends, then pays 300 more.
    clock.advance(60.0)
    limits.reconcile(100, 400)
    assert limits.wait_time(1000) == pytest.approx(300 / (1000 / 60))
    assert limits.headroom() == pytest.approx(0.7)


def test_tpm_bucket_refills_with_time() -> None:
    clock = FakeClock()
    limits = limiter(clock, rate_limit_tpm=1000)
    assert limits.try_acquire(1000) == (0.0, 1000)
    clock.advance(30.0)  # half a minute: half the tokens are back
    assert limits.wait_time(600) == pytest.approx(100 / (1000 / 60))
    assert limits.try_acquire(500) == (0.0, 500)


def test_request_larger_than_the_tpm_bucket_takes_a_full_bucket_instead_of_waiting_forever() -> (
    None
):
    clock = FakeClock()
    limits = limiter(clock, rate_limit_tpm=1000)
    assert limits.try_acquire(5000) == (0.0, 1000)
    assert limits.headroom() == 0.0


def test_rph_bucket_limits_requests_per_hour() -> None:
    clock = FakeClock()
    limits = limiter(clock, rate_limit_rph=2)
    assert limits.try_acquire(0)[0] == 0.0
    assert limits.try_acquire(0)[0] == 0.0
    assert limits.try_acquire(0)[0] == pytest.approx(1800)


def test_retry_after_empties_the_headroom_of_a_provider_without_limits() -> None:
    clock = FakeClock()
    limits = limiter(clock)
    limits.on_rate_limited(30.0)
    # Ordered last meanwhile, as its wait says.
    assert limits.wait_time(0) == pytest.approx(30.0)
    assert limits.headroom() == 0.0
    clock.advance(30.0)
    assert limits.headroom() == 1.0


def test_unlimited_limiter_always_admits_and_has_full_headroom() -> None:
    limits = limiter(FakeClock())
    for _ in range(1000):
        assert limits.try_acquire(10_000) == (0.0, 10_000)
    limits.reconcile(10, 5)
    assert limits.headroom() == 1.0


def test_rate_limit_response_halves_rate_and_successes_recover_it_additively() -> None:
    clock = FakeClock()
    limits = limiter(clock, rate_limit_rpm=60, burst_allowance=0)
    limits.on_rate_limited(None)
    assert limits.factor == 0.5
    limits.on_rate_limited(None)
    assert limits.factor == 0.25
    for _ in range(5):
        limits.on_success()
    assert limits.factor == pytest.approx(0.5)
    for _ in range(100):
        limits.on_success()
    assert limits.factor == 1.0


def test_throttled_bucket_holds_fewer_tokens_and_refills_slower() -> None:
    clock = FakeClock()
    limits = limiter(clock, rate_limit_rpm=60, burst_allowance=0)
    limits.on_rate_limited(None)
    admitted = 0
    while limits.try_acquire(0)[0] == 0.0:
        admitted += 1
    assert admitted == 30
    assert limits.wait_time(0) == pytest.approx(2.0)


def test_retry_after_blocks_the_provider_until_it_passes() -> None:
    clock = FakeClock()
    limits = limiter(clock, rate_limit_rpm=60, enable_adaptive_throttling=False)
    limits.on_rate_limited(12.0)
    assert limits.factor == 1.0
    assert limits.wait_time(0) == pytest.approx(12.0)
    assert limits.headroom() == 0.0
    clock.advance(12.0)
    assert limits.wait_time(0) == 0.0
    # The block ends at the instant Retry-After names, for the ordering of providers too.
    assert limits.headroom() == 1.0


def test_a_later_shorter_retry_after_does_not_shorten_the_block() -> None:
    clock = FakeClock()
    limits = limiter(clock, rate_limit_rpm=60, enable_adaptive_throttling=False)
    limits.on_rate_limited(30.0)
    clock.advance(5.0)
    limits.on_rate_limited(5.0)
    assert limits.wait_time(0) == pytest.approx(25.0)
    limits.on_rate_limited(0.0)  # no Retry-After either
    limits.on_rate_limited(None)
    assert limits.wait_time(0) == pytest.approx(25.0)


def test_fresh_limiter_admits_at_once_even_when_the_monotonic_clock_starts_at_zero() -> (
    None
):
    limits = limiter(FakeClock(start=0.0), rate_limit_rpm=60)
    assert limits.wait_time(0) == 0.0
    assert limits.headroom() == 1.0


def test_throttled_bucket_refills_at_the_throttled_rate() -> None:
    clock = FakeClock()
    limits = limiter(clock, rate_limit_rpm=60, burst_allowance=0)
    limits.on_rate_limited(None)
    while limits.try_acquire(0)[0] == 0.0:
        pass
    # One request a second when unthrottled: half that now, for as long as it lasts.
    for _ in range(3):
        clock.advance(10.0)
        admitted = 0
        while limits.try_acquire(0)[0] == 0.0:
            admitted += 1
        assert admitted == 5


def test_small_throttled_bucket_keeps_one_token_and_admits_only_the_throttled_rate() -> (
    None
):
    clock = FakeClock()
    # Capacity 10, under 32: four 429s take it to 10/16 of a token, held up to 1 so a request fits.
    limits = limiter(clock, rate_limit_rpm=10, burst_allowance=0)
    for _ in range(4):
        limits.on_rate_limited(None)
    assert limits.factor == 1 / 16
    bucket = limits._request_buckets[0]
    assert bucket.effective_capacity == 1.0
    assert limits.try_acquire(0) == (0.0, 0)
    # One token takes 1 / (10 / 60 / 16) = 96 s to come back.
    assert limits.wait_time(0) == pytest.approx(96.0)
    admitted = 1
    for _ in range(1000):
        clock.advance(1.0)
        while limits.try_acquire(0)[0] == 0.0:
            admitted += 1
    # 1 at once, then one every 96 s: never the 10 a minute the bucket holds unthrottled.
    assert admitted == 1 + 1000 // 96


def test_tokens_earned_before_a_429_are_credited_at_the_old_rate() -> None:
    clock = FakeClock()
    limits = limiter(clock, rate_limit_rpm=60, burst_allowance=0)
    while limits.try_acquire(0)[0] == 0.0:
        pass
    # 10 s at one token a second, not looked at until the 429 arrives.
    clock.advance(10.0)
    limits.on_rate_limited(None)
    admitted = 0
    while limits.try_acquire(0)[0] == 0.0:
        admitted += 1
    assert admitted == 10


def test_rate_limit_response_also_throttles_the_token_bucket() -> None:
    clock = FakeClock()
    limits = limiter(clock, rate_limit_tpm=1000)
    limits.on_rate_limited(None)
    # Half the capacity, and half the refill rate: 100 tokens in 100 / (1000 / 60 / 2) = 12 s.
    assert limits.try_acquire(1000) == (0.0, 500)
    assert limits.wait_time(100) == pytest.approx(12.0)


def test_negative_burst_allowance_counts_as_zero() -> None:
    clock = FakeClock()
    limits = limiter(clock, rate_limit_rpm=60, burst_allowance=-5)
    admitted = 0
    while limits.try_acquire(0)[0] == 0.0:
        admitted += 1
    assert admitted == 60


def test_adaptive_throttling_never_drops_below_the_floor() -> None:
    limits = limiter(FakeClock(), rate_limit_rpm=60)
    for _ in range(50):
        limits.on_rate_limited(None)
    assert limits.factor == pytest.approx(1 / 32)


def test_headroom_reports_the_tightest_bucket() -> None:
    clock = FakeClock()
    limits = limiter(clock, rate_limit_rpm=10, burst_allowance=0, rate_limit_tpm=1000)
    limits.try_acquire(500)
    assert limits.headroom() == pytest.approx(0.5)


def test_headroom_when_the_per_minute_request_bucket_is_the_tightest() -> None:
    clock = FakeClock()
    limits = limiter(
        clock,
        rate_limit_rpm=10,
        burst_allowance=0,
        rate_limit_rph=100,
        rate_limit_tpm=1000,
    )
    for _ in range(5):
        limits.try_acquire(10)
    # rpm 5/10, rph 95/100, tpm 950/1000.
    assert limits.headroom() == pytest.approx(0.5)
    # 30 s later rpm is full again (5 tokens back) and rph got 30 * 100 / 3600 back.
    clock.advance(30.0)
    assert limits.headroom() == pytest.approx((95 + 30 * 100 / 3600) / 100)


def test_headroom_when_the_per_hour_request_bucket_is_the_tightest() -> None:
    clock = FakeClock()
    limits = limiter(clock, rate_limit_rpm=60, burst_allowance=0, rate_limit_rph=10)
    for _ in range(5):
        limits.try_acquire(0)
    # rph 5/10 beats rpm 55/60.
    assert limits.headroom() == pytest.approx(0.5)
    clock.advance(360.0)  # one more request per hour comes back
    assert limits.headroom() == pytest.approx(0.6)


def test_bucket_give_back_stays_within_bounds() -> None:
    bucket = TokenBucket(10, 1, 0.0)
    bucket.give_back(100)
    assert bucket.tokens == 10
    bucket.give_back(-100)
    assert bucket.tokens == 0


def window_start(limits: RateLimiter) -> float:
    """Tokens the tightest request bucket holds now, checked against its effective capacity."""
    limits.wait_time(0)  # refills every bucket
    tightest = min(limits._request_buckets, key=lambda b: b.tokens)
    assert tightest.tokens <= tightest.effective_capacity + 1e-9
    return tightest.tokens


operations = st.lists(
    st.tuples(
        st.sampled_from(
            ["acquire", "flood", "reconcile", "rate_limited", "success", "advance"]
        ),
        st.integers(0, 20_000),
        st.floats(0, 120),
    ),
    max_size=150,
)


@given(operations, st.integers(1, 120), st.integers(100, 50_000), st.integers(0, 20))
def test_limiter_tokens_never_go_negative_or_above_capacity(
    ops: list[tuple[str, int, float]], rpm: int, tpm: int, burst: int
) -> None:
    clock = FakeClock()
    limits = limiter(
        clock,
        rate_limit_rpm=rpm,
        rate_limit_tpm=tpm,
        rate_limit_rph=rpm * 30,
        burst_allowance=burst,
    )
    held: list[int] = []
    # Requests admitted since the clock last moved: without refill they can only use the
    # tokens the request buckets held when it stopped, never more than their capacity.
    admitted_in_window = 0
    window_tokens = window_start(limits)
    for op, amount, seconds in ops:
        if op in ("acquire", "flood"):
            # A flood acquires until refused, as a crowd of requests at one instant would.
            for _ in range(1 if op == "acquire" else 10_000):
                wait, taken = limits.try_acquire(
                    amount % 50 if op == "flood" else amount
                )
                if wait > 0.0:
                    break
                held.append(taken)
                admitted_in_window += 1
                assert taken <= amount
                assert admitted_in_window <= window_tokens + 1e-9
        elif op == "reconcile" and held:
            limits.reconcile(held.pop(), amount)
        elif op == "rate_limited":
            limits.on_rate_limited(seconds if amount % 2 else None)
        elif op == "success":
            limits.on_success()
        else:
            clock.advance(seconds)
            window_tokens = window_start(limits)
            admitted_in_window = 0
        for bucket in limits._all:
            assert bucket.tokens >= 0
            # Within the capacity in force: a 429 takes away what the throttled bucket cannot hold.
            assert bucket.tokens <= bucket.effective_capacity + 1e-9
        assert 0.0 <= limits.headroom() <= 1.0


@given(st.integers(1, 120), st.integers(0, 20), st.lists(st.floats(0, 5), max_size=100))
def test_rpm_limit_admits_no_more_than_capacity_plus_refill(
    rpm: int, burst: int, pauses: list[float]
) -> None:
    clock = FakeClock()
    limits = limiter(clock, rate_limit_rpm=rpm, burst_allowance=burst)
    admitted = 0
    elapsed = 0.0
    for pause in pauses:
        clock.advance(pause)
        elapsed += pause
        while limits.try_acquire(0)[0] == 0.0:
            admitted += 1
    assert admitted <= rpm + burst + elapsed * rpm / 60 + 1e-6


def test_headroom_counts_what_a_spent_bucket_earned_in_under_a_second() -> None:
    clock = FakeClock()
    limits = limiter(clock, rate_limit_rpm=60, burst_allowance=0)
    while limits.try_acquire(0)[0] == 0.0:
        pass
    assert limits.headroom() == 0.0
    clock.advance(0.5)  # one token a second: half a token back of 60
    assert limits.headroom() == pytest.approx(0.5 / 60)
    clock.now -= 10.0  # a clock that stepped back earns nothing, nor takes anything
    assert limits.headroom() == 0.0
    limits.wait_time(0)  # a refill at that instant
    assert limits.headroom() == 0.0
