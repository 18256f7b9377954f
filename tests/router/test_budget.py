"""Daily budgets: reserve, commit, release; never overspend; roll over at local midnight."""

from __future__ import annotations

from datetime import date

from hypothesis import given, strategies as st
import pytest

from custom_components.aicleaner.router.budget import BudgetLedger


class Today:
    def __init__(self) -> None:
        self.value = date(2026, 11, 26)

    def __call__(self) -> date:
        return self.value


def test_reservation_is_refused_when_it_would_exceed_the_provider_limit() -> None:
    ledger = BudgetLedger({"a": 1.0}, None, Today())
    first = ledger.reserve("a", 0.6)
    assert first is not None
    assert ledger.reserve("a", 0.6) is None
    assert ledger.remaining("a") == pytest.approx(0.4)


def test_commit_replaces_the_reservation_by_the_actual_cost() -> None:
    ledger = BudgetLedger({"a": 1.0}, None, Today())
    reservation = ledger.reserve("a", 0.6)
    assert reservation is not None
    ledger.commit(reservation, 0.25, 100, 20)
    entry = ledger.entry("a")
    assert (entry.cost, entry.tokens, entry.requests, entry.reserved) == (
        0.25,
        120,
        1,
        0.0,
    )
    assert ledger.remaining("a") == pytest.approx(0.75)


def test_release_returns_the_reserved_amount() -> None:
    ledger = BudgetLedger({"a": 1.0}, None, Today())
    reservation = ledger.reserve("a", 1.0)
    assert reservation is not None
    assert ledger.reserve("a", 0.01) is None
    ledger.release(reservation)
    assert ledger.reserve("a", 1.0) is not None


def test_global_limit_applies_across_providers() -> None:
    ledger = BudgetLedger({"a": None, "b": 5.0}, 1.0, Today())
    assert ledger.reserve("a", 0.7) is not None
    assert ledger.reserve("b", 0.7) is None
    assert ledger.remaining("b") == pytest.approx(0.3)
    assert ledger.remaining("a") == pytest.approx(0.3)


def test_unlimited_provider_has_no_remaining_figure() -> None:
    ledger = BudgetLedger({"a": None}, None, Today())
    assert ledger.remaining("a") is None
    assert ledger.limit("a") is None
    assert ledger.reserve("a", 1e9) is not None


def test_free_calls_pass_even_when_the_budget_is_spent() -> None:
    ledger = BudgetLedger({"local": 0.0}, 0.0, Today())
    assert ledger.reserve("local", 0.0) is not None
    assert ledger.reserve("local", 0.0001) is None


def test_new_day_starts_from_zero_and_keeps_calls_in_flight_reserved() -> None:
    today = Today()
    ledger = BudgetLedger({"a": 1.0}, 2.0, today)
    done = ledger.reserve("a", 0.5)
    assert done is not None
    ledger.commit(done, 0.5, 10, 0)
    in_flight = ledger.reserve("a", 0.4)
    assert in_flight is not None
    today.value = date(2026, 11, 27)
    assert ledger.day == date(2026, 11, 27)
    assert ledger.total_cost == 0.0
    assert ledger.remaining("a") == pytest.approx(0.6)
    ledger.commit(in_flight, 0.3, 5, 0)
    assert ledger.entry("a").cost == pytest.approx(0.3)


def test_export_and_restore_round_trip_for_the_same_day() -> None:
    today = Today()
    ledger = BudgetLedger({"a": 1.0}, None, today)
    reservation = ledger.reserve("a", 0.5)
    assert reservation is not None
    ledger.commit(reservation, 0.4, 77, 0)
    ledger.reserve("a", 0.1)  # in flight: not exported
    data = ledger.export()
    assert data == {
        "day": "2026-11-26",
        "providers": {
            "a": {
                "cost": 0.4,
                "input_tokens": 77,
                "output_tokens": 0,
                "requests": 1,
                "failures": 0,
            }
        },
        "history": {},
    }
    restored = BudgetLedger({"a": 1.0}, None, today)
    assert restored.restore(data)
    assert restored.remaining("a") == pytest.approx(0.6)
    assert restored.total_cost == pytest.approx(0.4)


def test_restoring_yesterdays_ledger_leaves_today_fresh_but_keeps_yesterday() -> None:
    today = Today()
    ledger = BudgetLedger({"a": 1.0}, None, today)
    assert ledger.restore({"day": "2026-11-25", "providers": {"a": {"cost": 1.0}}})
    assert ledger.remaining("a") == 1.0
    # A clock stepping back to yesterday finds yesterday's budget spent.
    today.value = date(2026, 11, 25)
    assert ledger.remaining("a") == 0.0
    assert ledger.reserve("a", 0.01) is None


def test_a_ledger_too_old_to_keep_is_not_loaded() -> None:
    ledger = BudgetLedger({"a": 1.0}, None, Today())
    assert not ledger.restore({"day": "2026-11-01", "providers": {"a": {"cost": 1.0}}})
    assert ledger.export()["history"] == {}


def test_a_clock_behind_the_saved_day_never_grants_that_days_budget_twice() -> None:
    # A device with no real-time clock boots on an old date, then NTP sets the clock.
    today = Today()
    today.value = date(2026, 1, 1)
    ledger = BudgetLedger({"a": 1.0}, 2.0, today)
    assert ledger.restore({"day": "2026-11-26", "providers": {"a": {"cost": 0.9}}})
    assert ledger.day == date(2026, 11, 26)
    assert ledger.remaining("a") == pytest.approx(0.1)
    assert ledger.reserve("a", 0.2) is None
    today.value = date(2026, 11, 26)  # the clock is set right
    assert ledger.remaining("a") == pytest.approx(0.1)
    assert ledger.total_cost == pytest.approx(0.9)


def test_export_and_restore_carry_the_kept_days() -> None:
    today = Today()
    ledger = BudgetLedger({"a": 1.0}, None, today)
    reservation = ledger.reserve("a", 0.7)
    assert reservation is not None
    ledger.commit(reservation, 0.7, 10, 0)
    today.value = date(2026, 11, 27)
    data = ledger.export()
    assert data["history"] == {
        "2026-11-26": {
            "a": {
                "cost": 0.7,
                "input_tokens": 10,
                "output_tokens": 0,
                "requests": 1,
                "failures": 0,
            }
        }
    }
    restored = BudgetLedger({"a": 1.0}, None, today)
    assert restored.restore(data)
    today.value = date(2026, 11, 26)
    assert restored.remaining("a") == pytest.approx(0.3)


def test_a_ledger_with_an_unreadable_day_is_not_loaded() -> None:
    ledger = BudgetLedger({"a": 1.0}, None, Today())
    assert not ledger.restore({"day": "yesterday", "providers": {"a": {"cost": 1.0}}})
    assert not ledger.restore({})
    assert ledger.remaining("a") == 1.0


def test_every_call_made_is_counted_and_failures_apart() -> None:
    ledger = BudgetLedger({"a": 1.0}, None, Today())
    for settle in ("success", "billed failure", "unbilled failure"):
        reservation = ledger.reserve("a", 0.1)
        assert reservation is not None
        if settle == "success":
            ledger.commit(reservation, 0.05, 30, 12)
        elif settle == "billed failure":
            ledger.commit(reservation, 0.1, 40, 100, failed=True)
        else:
            ledger.release(reservation)
    entry = ledger.entry("a")
    assert (entry.requests, entry.failures) == (3, 2)
    assert (entry.input_tokens, entry.output_tokens) == (70, 112)
    assert entry.cost == pytest.approx(0.15)
    assert entry.reserved == 0.0
    assert ledger.export()["providers"]["a"] == {
        "cost": pytest.approx(0.15),
        "input_tokens": 70,
        "output_tokens": 112,
        "requests": 3,
        "failures": 2,
    }


def test_set_limits_keeps_spend() -> None:
    ledger = BudgetLedger({"a": 1.0}, None, Today())
    reservation = ledger.reserve("a", 0.5)
    assert reservation is not None
    ledger.commit(reservation, 0.5, 1, 0)
    ledger.set_limits({"a": 0.5}, 3.0)
    assert ledger.reserve("a", 0.01) is None
    assert ledger.global_limit == 3.0


operations = st.lists(
    st.tuples(
        st.sampled_from(["reserve", "commit", "release", "next_day"]),
        st.sampled_from(["a", "b"]),
        st.floats(0, 2),
        st.floats(0, 1),
    ),
    max_size=200,
)


@given(operations, st.floats(0.1, 5), st.one_of(st.none(), st.floats(0.1, 5)))
def test_spend_never_exceeds_any_budget(
    ops: list[tuple[str, str, float, float]], limit: float, global_limit: float | None
) -> None:
    today = Today()
    ledger = BudgetLedger({"a": limit, "b": None}, global_limit, today)
    held = []
    for op, provider, amount, share in ops:
        if op == "reserve":
            reservation = ledger.reserve(provider, amount)
            if reservation is not None:
                held.append(reservation)
        elif op == "commit" and held:
            reservation = held.pop(0)
            # A call costs at most what was reserved for it.
            ledger.commit(reservation, reservation.amount * share, 1, 0)
        elif op == "release" and held:
            ledger.release(held.pop())
        elif op == "next_day":
            today.value = date.fromordinal(today.value.toordinal() + 1)
        a = ledger.entry("a")
        b = ledger.entry("b")
        assert a.cost + a.reserved <= limit + 1e-6
        assert a.reserved >= 0
        assert b.reserved >= 0
        if global_limit is not None:
            assert a.cost + b.cost + a.reserved + b.reserved <= global_limit + 1e-6


def test_wall_clock_stepping_back_across_midnight_keeps_todays_spend() -> None:
    today = Today()
    ledger = BudgetLedger({"a": 1.0}, 1.0, today)
    reservation = ledger.reserve("a", 0.8)
    assert reservation is not None
    ledger.commit(reservation, 0.8, 10, 0)
    today.value = date(2026, 11, 25)  # NTP or a time zone change moved the clock back
    assert ledger.day == date(2026, 11, 26)
    assert ledger.reserve("a", 0.5) is None
    today.value = date(2026, 11, 26)
    assert ledger.total_cost == pytest.approx(0.8)
    assert ledger.remaining("a") == pytest.approx(0.2)


def test_clock_that_jumped_ahead_and_came_back_finds_its_days_spend_again() -> None:
    today = Today()
    ledger = BudgetLedger({"a": 1.0}, None, today)
    reservation = ledger.reserve("a", 0.7)
    assert reservation is not None
    in_flight = ledger.reserve("a", 0.2)
    assert in_flight is not None
    ledger.commit(reservation, 0.7, 7, 0)

    today.value = date(2026, 12, 24)  # a bad NTP answer, or someone testing a date
    assert ledger.day == date(2026, 12, 24)
    assert ledger.entry("a").cost == 0.0
    # The call in flight keeps its reservation across the jump.
    assert ledger.entry("a").reserved == pytest.approx(0.2)
    spent_on_the_wrong_day = ledger.reserve("a", 0.1)
    assert spent_on_the_wrong_day is not None
    ledger.commit(spent_on_the_wrong_day, 0.1, 1, 0)

    today.value = date(2026, 11, 26)  # the clock is right again
    assert ledger.day == date(2026, 11, 26)
    assert ledger.entry("a").cost == pytest.approx(0.7)
    assert ledger.remaining("a") == pytest.approx(
        0.1
    )  # 1.0 - 0.7 spent - 0.2 in flight
    # And the real next midnight still starts a fresh day.
    ledger.release(in_flight)
    today.value = date(2026, 11, 27)
    assert ledger.remaining("a") == pytest.approx(1.0)


def test_restore_never_lowers_spend_booked_today() -> None:
    today = Today()
    earlier = BudgetLedger({"a": 1.0}, None, today)
    first = earlier.reserve("a", 0.3)
    assert first is not None
    earlier.commit(first, 0.3, 30, 0)
    state = earlier.export()
    ledger = BudgetLedger({"a": 1.0}, None, today)
    booked = ledger.reserve("a", 0.6)
    assert booked is not None
    ledger.commit(booked, 0.6, 60, 0)
    assert ledger.restore(state)
    assert ledger.entry("a").cost == pytest.approx(0.6)
    assert ledger.entry("a").tokens == 60
    assert ledger.total_cost == pytest.approx(0.6)


def test_restoring_the_same_state_twice_counts_it_once() -> None:
    today = Today()
    data = {"day": "2026-11-26", "providers": {"a": {"cost": 0.4, "input_tokens": 7}}}
    ledger = BudgetLedger({"a": 1.0}, 2.0, today)
    assert ledger.restore(data)
    assert ledger.restore(data)
    assert ledger.total_cost == pytest.approx(0.4)
    assert ledger.remaining("a") == pytest.approx(0.6)


def test_only_the_last_few_days_are_kept_for_a_returning_clock() -> None:
    today = Today()
    ledger = BudgetLedger({"a": 1.0}, None, today)
    first_day = today.value
    reservation = ledger.reserve("a", 0.5)
    assert reservation is not None
    ledger.commit(reservation, 0.5, 5, 0)
    for offset in range(1, 6):
        today.value = date.fromordinal(first_day.toordinal() + offset)
        assert ledger.day == today.value
    # The first day fell out of the kept history: going back to it is an unknown earlier day,
    # which is never started afresh.
    today.value = first_day
    assert ledger.day == date.fromordinal(first_day.toordinal() + 5)
