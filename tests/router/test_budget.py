"""Daily budgets: reserve, commit, release; never overspend; roll over at local midnight."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, strategies as st
import pytest

from custom_components.aicleaner.router import budget
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


def test_free_calls_pass_once_the_overall_budget_is_overspent() -> None:
    # The last paid answer cost more than its share: the overall spend is past the limit.
    ledger = BudgetLedger({"cloud": None, "local": None}, 0.001, Today())
    reservation = ledger.reserve("cloud", 0.001)
    assert reservation is not None
    ledger.commit(reservation, 0.0012, 10, 10)
    assert ledger.reserve("local", 0.0) is not None
    assert ledger.reserve("cloud", 0.000001) is None


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


def test_a_limit_can_be_spent_to_the_cent_despite_float_rounding() -> None:
    # 0.1 + 0.2 is 0.30000000000000004 in floats: a 0.30 budget must still take both calls.
    ledger = BudgetLedger({"a": 0.3, "b": None}, 0.3, Today())
    assert ledger.reserve("a", 0.1) is not None
    assert ledger.reserve("a", 0.2) is not None
    assert ledger.reserve("a", 0.01) is None
    global_only = BudgetLedger({"a": None, "b": None}, 0.3, Today())
    assert global_only.reserve("a", 0.1) is not None
    assert global_only.reserve("b", 0.2) is not None
    assert global_only.reserve("b", 0.01) is None


def test_the_float_tolerance_admits_exactly_one_billionth_of_a_dollar_over() -> None:
    # The tolerance is for float drift only: up to 1e-9 USD over the limit passes, more does not.
    for limits, global_limit in (({"a": 1.0}, None), ({"a": None}, 1.0)):
        assert BudgetLedger(limits, global_limit, Today()).reserve("a", 1.0 + 1e-9)
        assert (
            BudgetLedger(limits, global_limit, Today()).reserve("a", 1.0 + 3e-9) is None
        )


def test_remaining_is_zero_not_negative_once_spend_passes_a_lowered_limit() -> None:
    # The sensors show this figure: a negative amount left makes no sense to a user.
    ledger = BudgetLedger({"a": 1.0, "b": 1.0}, 2.0, Today())
    reservation = ledger.reserve("a", 0.8)
    assert reservation is not None
    ledger.commit(reservation, 0.8, 1, 0)
    ledger.set_limits({"a": 0.5, "b": 1.0}, 0.6)
    assert ledger.remaining("a") == 0.0
    assert ledger.remaining("b") == 0.0


def test_remaining_under_the_global_limit_counts_what_every_provider_spent() -> None:
    ledger = BudgetLedger({"a": None, "b": None}, 1.0, Today())
    reservation = ledger.reserve("a", 0.5)
    assert reservation is not None
    ledger.commit(reservation, 0.25, 10, 0)
    assert ledger.remaining("b") == pytest.approx(0.75)
    assert ledger.remaining("a") == pytest.approx(0.75)


def test_a_providers_limit_is_reported_as_configured_and_follows_changes() -> None:
    ledger = BudgetLedger({"a": 1.5, "b": None}, None, Today())
    assert ledger.limit("a") == 1.5
    assert ledger.limit("b") is None
    assert ledger.limit("unknown") is None
    ledger.set_limits({"a": 0.5}, None)
    assert ledger.limit("a") == 0.5


def test_total_cost_read_first_thing_after_midnight_is_the_new_days() -> None:
    today = Today()
    ledger = BudgetLedger({"a": 1.0}, None, today)
    reservation = ledger.reserve("a", 0.5)
    assert reservation is not None
    ledger.commit(reservation, 0.5, 1, 0)
    today.value = date(2026, 11, 27)
    assert ledger.total_cost == 0.0


def _spend_then_jump(days_ahead: int) -> BudgetLedger:
    """A ledger that spent 0.5 of 1.0 today, then saw the clock jump `days_ahead` days."""
    today = Today()
    ledger = BudgetLedger({"a": 1.0}, None, today)
    reservation = ledger.reserve("a", 0.5)
    assert reservation is not None
    ledger.commit(reservation, 0.5, 5, 0)
    first_day = today.value
    for offset in range(1, days_ahead + 1):
        today.value = first_day + timedelta(days=offset)
        assert ledger.day == today.value
    today.value = first_day
    return ledger


def test_a_clock_back_within_the_kept_days_finds_the_spend_a_day_later_not() -> None:
    # However many days the ledger keeps, the last of them is kept and the one after is not.
    kept = budget._HISTORY_DAYS
    within = _spend_then_jump(kept)
    assert within.day == date(2026, 11, 26)
    assert within.remaining("a") == pytest.approx(0.5)
    beyond = _spend_then_jump(kept + 1)
    assert beyond.day == date(2026, 11, 26) + timedelta(days=kept + 1)


def test_the_ledger_keeps_three_past_days() -> None:
    # As documented: a clock back by up to three days finds that day's spend again.
    assert _spend_then_jump(3).day == date(2026, 11, 26)
    assert _spend_then_jump(4).day == date(2026, 11, 30)


def test_restore_keeps_exactly_the_days_the_ledger_itself_keeps() -> None:
    # A restart must not forget a day that the running ledger would still have found again.
    kept = budget._HISTORY_DAYS
    today = Today()
    ledger = BudgetLedger({"a": 1.0}, None, today)
    day = today.value
    history = {
        (day - timedelta(days=back)).isoformat(): {"a": {"cost": 0.1 * back}}
        for back in range(1, kept + 2)
    }
    assert ledger.restore({"day": day.isoformat(), "providers": {}, "history": history})
    assert sorted(ledger.export()["history"]) == sorted(
        (day - timedelta(days=back)).isoformat() for back in range(1, kept + 1)
    )
    today.value = day - timedelta(days=kept)
    assert ledger.remaining("a") == pytest.approx(1.0 - 0.1 * kept)


def test_settling_one_call_keeps_the_global_budget_held_by_another_in_flight() -> None:
    ledger = BudgetLedger({"a": None, "b": None}, 1.0, Today())
    first = ledger.reserve("a", 0.5)
    in_flight = ledger.reserve("b", 0.4)
    assert first is not None
    assert in_flight is not None
    ledger.commit(first, 0.5, 1, 0)
    # 0.5 spent and 0.4 still held: only 0.1 is left.
    assert ledger.reserve("a", 0.2) is None
    assert ledger.remaining("a") == pytest.approx(0.1)


def test_a_clock_behind_a_saved_state_moves_to_its_latest_day() -> None:
    today = Today()
    today.value = date(2026, 1, 1)
    ledger = BudgetLedger({"a": 1.0}, None, today)
    saved = {
        "day": "2026-11-26",
        "providers": {"a": {"cost": 0.9}},
        "history": {"2026-11-25": {"a": {"cost": 0.2}}},
    }
    assert ledger.restore(saved)
    assert ledger.day == date(2026, 11, 26)
    assert ledger.remaining("a") == pytest.approx(0.1)


def test_a_restore_after_an_unnoticed_midnight_keeps_each_days_spend_apart() -> None:
    today = Today()
    ledger = BudgetLedger({"a": 1.0}, None, today)
    reservation = ledger.reserve("a", 0.5)
    assert reservation is not None
    ledger.commit(reservation, 0.5, 5, 0)
    # Midnight passes, and nothing reads the ledger before the restore.
    today.value = date(2026, 11, 27)
    assert ledger.restore({"day": "2026-11-27", "providers": {"a": {"cost": 0.2}}})
    assert ledger.remaining("a") == pytest.approx(0.8)
    assert ledger.export()["history"]["2026-11-26"]["a"]["cost"] == pytest.approx(0.5)


def test_figures_missing_from_a_saved_state_count_as_zero() -> None:
    # An older saved state may lack figures added since (tokens split in two, failures).
    ledger = BudgetLedger({"a": 1.0, "b": 1.0}, None, Today())
    assert ledger.restore(
        {
            "day": "2026-11-26",
            "providers": {"a": {"cost": 0.4}, "b": {"input_tokens": 7}},
        }
    )
    a, b = ledger.entry("a"), ledger.entry("b")
    assert (a.input_tokens, a.output_tokens, a.requests, a.failures) == (0, 0, 0, 0)
    assert b.cost == 0.0
    assert ledger.remaining("b") == 1.0


def test_a_new_day_holds_no_figures_for_a_provider_with_nothing_in_flight() -> None:
    today = Today()
    ledger = BudgetLedger({"a": 1.0, "b": 1.0}, None, today)
    done = ledger.reserve("a", 0.5)
    in_flight = ledger.reserve("b", 0.2)
    assert done is not None
    assert in_flight is not None
    ledger.commit(done, 0.5, 5, 0)
    today.value = date(2026, 11, 27)
    ledger.commit(in_flight, 0.1, 1, 0)
    # Only the call that settled today counts today: "a" made no call on the new day.
    assert list(ledger.export()["providers"]) == ["b"]


def test_the_saved_history_reads_in_calendar_order_after_the_clock_went_back() -> None:
    today = Today()
    ledger = BudgetLedger({"a": 1.0}, None, today)
    for day in (26, 27, 28, 26, 29):  # two days on, back to the first, then on again
        today.value = date(2026, 11, day)
        reservation = ledger.reserve("a", 0.1)
        assert reservation is not None
        ledger.commit(reservation, 0.1, 1, 0)
    history = list(ledger.export()["history"])
    assert history == ["2026-11-26", "2026-11-27", "2026-11-28"]


def test_restore_merges_into_a_past_day_the_ledger_already_keeps() -> None:
    # Spend booked yesterday and kept in the history, then a saved state of that day arrives:
    # the larger of each figure wins, never the sum and never a loss.
    today = Today()
    ledger = BudgetLedger({"a": 1.0, "b": 1.0}, None, today)
    reservation = ledger.reserve("a", 0.2)
    assert reservation is not None
    ledger.commit(reservation, 0.2, 20, 2)
    yesterday = today.value
    today.value = yesterday + timedelta(days=1)
    saved = {
        "day": today.value.isoformat(),
        "providers": {},
        "history": {
            yesterday.isoformat(): {
                "a": {"cost": 0.1, "input_tokens": 50, "requests": 1},
                "b": {"cost": 0.3, "requests": 1},
            }
        },
    }
    assert ledger.restore(saved)
    kept = ledger.export()["history"][yesterday.isoformat()]
    assert kept["a"]["cost"] == pytest.approx(0.2)
    assert kept["a"]["input_tokens"] == 50
    assert kept["b"]["cost"] == pytest.approx(0.3)
