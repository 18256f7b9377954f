"""An Assist agent's own daily budget (agent_budget.py): reservations never let it spend past it."""

from __future__ import annotations

from datetime import date

import pytest

from custom_components.aicleaner.agent_budget import AgentBudget


class Clock:
    """A settable local date."""

    def __init__(self) -> None:
        self.day = date(2026, 12, 7)

    def __call__(self) -> date:
        return self.day


def test_reservations_together_never_pass_the_limit() -> None:
    budget = AgentBudget(1.0, Clock())
    first = budget.reserve(0.6)
    assert first == 0.6
    # A second call at once must not count on what the first may still spend.
    assert budget.reserve(0.6) is None
    assert budget.reserve(0.4) == 0.4
    assert budget.reserved == pytest.approx(1.0)


def test_settling_frees_the_reservation_and_counts_the_cost() -> None:
    budget = AgentBudget(1.0, Clock())
    held = budget.reserve(0.6)
    budget.settle(held, 0.1)
    assert budget.spent_today() == pytest.approx(0.1)
    assert budget.reserved == 0
    assert budget.reserve(0.9) == 0.9


def test_a_free_call_holds_nothing_and_costs_nothing() -> None:
    budget = AgentBudget(0.0, Clock())
    assert budget.reserve(0.0001) is None
    budget.settle(None, 0.0)
    assert budget.spent_today() == 0


def test_the_day_rolls_at_local_midnight() -> None:
    clock = Clock()
    budget = AgentBudget(1.0, clock)
    budget.settle(budget.reserve(1.0), 1.0)
    assert budget.reserve(0.01) is None
    clock.day = date(2026, 12, 8)
    assert budget.spent_today() == 0
    assert budget.reserve(0.01) == 0.01


def test_a_restart_takes_back_todays_spend_but_not_yesterdays() -> None:
    clock = Clock()
    budget = AgentBudget(1.0, clock)
    budget.restore(date(2026, 12, 6), 0.9)
    assert budget.spent_today() == 0
    budget.restore(date(2026, 12, 7), 0.9)
    assert budget.spent_today() == pytest.approx(0.9)
    assert budget.reserve(0.2) is None
