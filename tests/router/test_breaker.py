"""Circuit breaker: closed -> open -> half-open -> closed or open again; auth keeps it open."""

from __future__ import annotations

from hypothesis import example, given, strategies as st

from custom_components.aicleaner.router.breaker import (
    NOT_A_TRIAL,
    BreakerState,
    CircuitBreaker,
)
from custom_components.aicleaner.router.config import BreakerSettings
from custom_components.aicleaner.router.errors import HealthEffect

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
    assert breaker.try_acquire() is None


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
    permits = [breaker.try_acquire() for _ in range(4)]
    assert [permit is not None for permit in permits] == [True, True, True, False]
    breaker.release(permits[0])  # type: ignore[arg-type]
    assert breaker.try_acquire() is not None
    assert breaker.try_acquire() is None


def test_half_open_success_closes_the_breaker() -> None:
    clock = FakeClock()
    breaker = make(clock, failure_threshold=1, timeout_seconds=10)
    breaker.record_failure()
    clock.advance(10)
    assert breaker.try_acquire() is not None
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED


def test_half_open_failure_reopens_the_breaker() -> None:
    clock = FakeClock()
    breaker = make(clock, failure_threshold=2, timeout_seconds=10)
    breaker.record_failure()
    breaker.record_failure()
    clock.advance(10)
    assert breaker.try_acquire() is not None
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.advance(9)
    assert breaker.state is BreakerState.OPEN


def test_neutral_outcome_frees_the_trial_without_closing() -> None:
    clock = FakeClock()
    breaker = make(clock, failure_threshold=1, timeout_seconds=1, half_open_max_calls=1)
    breaker.record_failure()
    clock.advance(1)
    permit = breaker.try_acquire()
    assert permit is not None
    assert breaker.try_acquire() is None
    breaker.record_neutral(permit)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.try_acquire() is not None


def test_auth_failure_keeps_breaker_open_until_reset() -> None:
    clock = FakeClock()
    breaker = make(clock)
    breaker.record_auth_failure()
    clock.advance(10_000)
    assert breaker.state is BreakerState.OPEN
    assert breaker.auth_failed
    assert breaker.try_acquire() is None
    breaker.reset()
    assert breaker.state is BreakerState.CLOSED
    assert not breaker.auth_failed
    assert breaker.try_acquire() is NOT_A_TRIAL


def test_success_in_flight_does_not_clear_an_auth_failure() -> None:
    breaker = make(FakeClock())
    breaker.record_auth_failure()
    breaker.record_success()
    assert breaker.state is BreakerState.OPEN


def test_release_on_closed_breaker_changes_nothing() -> None:
    breaker = make(FakeClock())
    breaker.release(NOT_A_TRIAL)
    assert breaker.state is BreakerState.CLOSED


def test_call_admitted_while_closed_does_not_free_a_half_open_trial() -> None:
    clock = FakeClock()
    breaker = make(
        clock, failure_threshold=1, timeout_seconds=10, half_open_max_calls=1
    )
    closed_call = breaker.try_acquire()
    assert closed_call == NOT_A_TRIAL
    breaker.record_failure()
    clock.advance(10)
    trial = breaker.try_acquire()
    assert trial is not None
    # The call from before the breaker opened ends neutrally (a 429) or is given back.
    breaker.record_neutral(closed_call)
    breaker.release(closed_call)
    assert breaker.try_acquire() is None
    breaker.record_neutral(trial)
    assert breaker.try_acquire() is not None


def test_trial_of_an_earlier_half_open_period_does_not_free_a_current_trial() -> None:
    clock = FakeClock()
    breaker = make(
        clock, failure_threshold=1, timeout_seconds=10, half_open_max_calls=1
    )
    breaker.record_failure()
    clock.advance(10)
    old_trial = breaker.try_acquire()
    assert old_trial is not None
    breaker.record_failure()  # another call reopens the breaker
    clock.advance(10)
    new_trial = breaker.try_acquire()
    assert new_trial is not None
    assert new_trial != old_trial
    breaker.release(old_trial)
    assert breaker.try_acquire() is None


def test_auth_failure_counts_as_a_consecutive_failure() -> None:
    breaker = make(FakeClock())
    breaker.record_failure()
    breaker.record_auth_failure()
    assert breaker.consecutive_failures == 2
    breaker.reset()
    assert breaker.consecutive_failures == 0


def test_a_permit_given_back_twice_frees_only_its_own_trial_slot() -> None:
    clock = FakeClock()
    breaker = make(
        clock, failure_threshold=1, timeout_seconds=10, half_open_max_calls=1
    )
    breaker.record_failure()
    clock.advance(10)
    permit = breaker.try_acquire()
    assert permit is not None
    breaker.release(permit)
    breaker.release(permit)  # a second give-back must not open a second slot
    assert breaker.try_acquire() is not None
    assert breaker.try_acquire() is None


def test_trial_permits_number_the_half_open_periods_from_one() -> None:
    clock = FakeClock()
    breaker = make(
        clock, failure_threshold=1, timeout_seconds=10, half_open_max_calls=1
    )
    for period in (1, 2, 3):
        breaker.record_failure()
        clock.advance(10)
        # As documented: the generation of the period, never NOT_A_TRIAL.
        assert breaker.try_acquire() == period


events = st.lists(
    st.tuples(
        st.sampled_from(
            ["acquire", "success", "failure", "neutral", "auth", "reset", "release"]
        ),
        st.floats(min_value=0, max_value=30),
        # Which call in flight the event settles (oldest first, modulo their number).
        st.integers(min_value=0, max_value=7),
    ),
    max_size=200,
)


@given(events, st.integers(1, 6), st.integers(1, 4))
@example(
    # A call admitted while closed is given back during the half-open period that follows.
    sequence=[
        ("acquire", 0.0, 0),
        ("acquire", 0.0, 0),
        ("failure", 0.0, 0),
        ("acquire", 20.0, 0),
        ("release", 0.0, 0),
        ("acquire", 0.0, 0),
    ],
    threshold=1,
    trials=1,
)
def test_breaker_invariants_hold_for_any_event_sequence(
    sequence: list[tuple[str, float, int]], threshold: int, trials: int
) -> None:
    clock = FakeClock()
    breaker = make(
        clock,
        failure_threshold=threshold,
        timeout_seconds=20,
        half_open_max_calls=trials,
    )
    # Permits of calls in flight, each tagged with the half-open period it is a trial of
    # (None for a call admitted while closed); the model the breaker must agree with.
    held: list[tuple[int, int | None]] = []
    period = 0
    previous = breaker.state
    for event, pause, which in sequence:
        clock.advance(pause)
        state = breaker.state
        if state is BreakerState.HALF_OPEN and previous is not BreakerState.HALF_OPEN:
            period += 1
        if event == "acquire":
            trials_in_flight = sum(1 for _, p in held if p == period)
            permit = breaker.try_acquire()
            if state is BreakerState.OPEN:
                assert permit is None
            elif state is BreakerState.CLOSED:
                assert permit == NOT_A_TRIAL
                held.append((permit, None))
            else:
                # Exactly as many trials as the setting allows, counting only this period's.
                assert (permit is not None) == (trials_in_flight < trials)
                if permit is not None:
                    held.append((permit, period))
                    assert trials_in_flight + 1 <= trials
        elif event in ("success", "failure", "neutral", "release") and held:
            permit, _ = held.pop(which % len(held))
            if event == "success":
                breaker.record_success()
                assert breaker.state is (
                    BreakerState.OPEN if breaker.auth_failed else BreakerState.CLOSED
                )
            elif event == "failure":
                breaker.record_failure()
                if state is BreakerState.HALF_OPEN:
                    assert breaker.state is BreakerState.OPEN
            elif event == "neutral":
                breaker.record_neutral(permit)
            else:
                breaker.release(permit)
        elif event == "failure":
            breaker.record_failure()
        elif event == "auth":
            breaker.record_auth_failure()
            assert breaker.state is BreakerState.OPEN
        elif event == "reset":
            breaker.reset()
        if breaker.auth_failed:
            assert breaker.state is BreakerState.OPEN
        if (
            breaker.consecutive_failures >= threshold
            and breaker.state is BreakerState.CLOSED
        ):
            raise AssertionError("closed with failures at the threshold")
        previous = breaker.state


def test_record_settles_a_failure_by_what_it_says_about_health() -> None:
    clock = [0.0]
    settings = BreakerSettings(failure_threshold=2, timeout_seconds=10.0)
    breaker = CircuitBreaker(settings, lambda: clock[0])
    # Neutral, a 429 and a spent quota count nothing, however many.
    for effect in (
        HealthEffect.NEUTRAL,
        HealthEffect.THROTTLE,
        HealthEffect.COOLDOWN,
    ) * 3:
        breaker.record(effect, breaker.try_acquire() or 0)
    assert breaker.consecutive_failures == 0
    assert breaker.state is BreakerState.CLOSED
    # Health failures count, and open at the threshold; time closes them again.
    breaker.record(HealthEffect.FAILURE, 0)
    assert breaker.state is BreakerState.CLOSED
    breaker.record(HealthEffect.FAILURE, 0)
    assert breaker.state is BreakerState.OPEN
    clock[0] = 10.0
    assert breaker.state is BreakerState.HALF_OPEN
    # A neutral end of a trial frees its slot: the next trial is admitted.
    permits = [breaker.try_acquire() for _ in range(settings.half_open_max_calls)]
    assert None not in permits
    assert breaker.try_acquire() is None
    breaker.record(HealthEffect.NEUTRAL, permits[0] or 0)
    assert breaker.try_acquire() is not None
    # A rejected key holds the breaker open whatever the time.
    breaker.record(HealthEffect.KEY_REJECTED, 0)
    clock[0] = 1e9
    assert breaker.state is BreakerState.OPEN
    assert breaker.auth_failed
