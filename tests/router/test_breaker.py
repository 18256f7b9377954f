"""Circuit breaker: closed -> open -> half-open -> closed or open again; auth keeps it open."""

from __future__ import annotations

from hypothesis import given, strategies as st

from custom_components.aicleaner.router.breaker import BreakerState, CircuitBreaker
from custom_components.aicleaner.router.config import BreakerSettings

from .fakes import FakeClock


def make(clock: FakeClock, **kwargs: float) -> CircuitBreaker:
    return CircuitBreaker(BreakerSettings(**kwargs), clock)  # type: ignore[arg-type]


def test_breaker_opens_after_threshold_consecutive_failures() -> None:
    clock = FakeClock()
    breaker = make(clock)
    for _ in range(4):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.try_acquire()


def test_success_resets_the_consecutive_failure_count() -> None:
    breaker = make(FakeClock())
    for _ in range(4):
        breaker.record_failure()
    breaker.record_success()
    assert breaker.consecutive_failures == 0
    for _ in range(4):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED


def test_open_breaker_goes_half_open_after_timeout_and_admits_limited_trials() -> None:
    clock = FakeClock()
    breaker = make(
        clock, failure_threshold=1, timeout_seconds=60, half_open_max_calls=3
    )
    breaker.record_failure()
    clock.advance(59.9)
    assert breaker.state is BreakerState.OPEN
    clock.advance(0.1)
    assert breaker.state is BreakerState.HALF_OPEN
    assert [breaker.try_acquire() for _ in range(4)] == [True, True, True, False]
    breaker.release()
    assert breaker.try_acquire()


def test_half_open_success_closes_the_breaker() -> None:
    clock = FakeClock()
    breaker = make(clock, failure_threshold=1, timeout_seconds=10)
    breaker.record_failure()
    clock.advance(10)
    assert breaker.try_acquire()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED


def test_half_open_failure_reopens_the_breaker() -> None:
    clock = FakeClock()
    breaker = make(clock, failure_threshold=2, timeout_seconds=10)
    breaker.record_failure()
    breaker.record_failure()
    clock.advance(10)
    assert breaker.try_acquire()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.advance(9)
    assert breaker.state is BreakerState.OPEN


def test_neutral_outcome_frees_the_trial_without_closing() -> None:
    clock = FakeClock()
    breaker = make(clock, failure_threshold=1, timeout_seconds=1, half_open_max_calls=1)
    breaker.record_failure()
    clock.advance(1)
    assert breaker.try_acquire()
    assert not breaker.try_acquire()
    breaker.record_neutral()
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.try_acquire()


def test_auth_failure_keeps_breaker_open_until_reset() -> None:
    clock = FakeClock()
    breaker = make(clock)
    breaker.record_auth_failure()
    clock.advance(10_000)
    assert breaker.state is BreakerState.OPEN
    assert breaker.auth_failed
    assert not breaker.try_acquire()
    breaker.reset()
    assert breaker.state is BreakerState.CLOSED
    assert not breaker.auth_failed
    assert breaker.try_acquire()


def test_success_in_flight_does_not_clear_an_auth_failure() -> None:
    breaker = make(FakeClock())
    breaker.record_auth_failure()
    breaker.record_success()
    assert breaker.state is BreakerState.OPEN


def test_release_on_closed_breaker_changes_nothing() -> None:
    breaker = make(FakeClock())
    breaker.release()
    assert breaker.state is BreakerState.CLOSED


events = st.lists(
    st.tuples(
        st.sampled_from(
            ["acquire", "success", "failure", "neutral", "auth", "reset", "release"]
        ),
        st.floats(min_value=0, max_value=30),
    ),
    max_size=200,
)


@given(events, st.integers(1, 6), st.integers(1, 4))
def test_breaker_invariants_hold_for_any_event_sequence(
    sequence: list[tuple[str, float]], threshold: int, trials: int
) -> None:
    clock = FakeClock()
    breaker = make(
        clock,
        failure_threshold=threshold,
        timeout_seconds=20,
        half_open_max_calls=trials,
    )
    admitted_while_half_open = 0
    for event, pause in sequence:
        clock.advance(pause)
        state = breaker.state
        if event == "acquire":
            admitted = breaker.try_acquire()
            if state is BreakerState.OPEN:
                assert not admitted
            if state is BreakerState.CLOSED:
                assert admitted
            if state is BreakerState.HALF_OPEN and admitted:
                admitted_while_half_open += 1
            # Trials in flight never exceed the configured maximum.
            assert breaker._trials_in_flight <= trials
        elif event == "success":
            breaker.record_success()
            assert breaker.state is (
                BreakerState.OPEN if breaker.auth_failed else BreakerState.CLOSED
            )
        elif event == "failure":
            breaker.record_failure()
            if state is BreakerState.HALF_OPEN:
                assert breaker.state is BreakerState.OPEN
        elif event == "neutral":
            breaker.record_neutral()
        elif event == "auth":
            breaker.record_auth_failure()
            assert breaker.state is BreakerState.OPEN
        elif event == "reset":
            breaker.reset()
        else:
            breaker.release()
        assert breaker._trials_in_flight >= 0
        if breaker.auth_failed:
            assert breaker.state is BreakerState.OPEN
        if (
            breaker.consecutive_failures >= threshold
            and breaker.state is BreakerState.CLOSED
        ):
            raise AssertionError("closed with failures at the threshold")
