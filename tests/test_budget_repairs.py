"""The budget_exhausted repair issue: raised when a budget is spent, gone next day or when raised."""

from __future__ import annotations

from datetime import timedelta
import time

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.aicleaner.budget_repairs import usd
from custom_components.aicleaner.const import CONF_DAILY_BUDGET, CONF_MODEL, DOMAIN
from tests import test_services
from tests.test_services import Setup, analyze

# The actions' setup fixture, shared.
setup_aicleaner = test_services.setup_aicleaner

TINY = 0.000001


def set_budget(
    hass: HomeAssistant, entry: MockConfigEntry, key: str, budget: float
) -> None:
    subentry = entry.subentries[key]
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, CONF_DAILY_BUDGET: budget}
    )


def issue(hass: HomeAssistant, issue_id: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, issue_id)


async def test_spent_provider_budget_raises_a_warning_cleared_when_raised(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    entry = await setup_aicleaner(("openai", "OpenAI", {}), ("anthropic", "Claude", {}))
    key = next(iter(entry.subentries))
    await analyze(hass, prompt="hello")
    assert issue(hass, f"budget_exhausted_{key}") is None
    # Today's spend is now above the budget: spent.
    set_budget(hass, entry, key, TINY)
    await hass.async_block_till_done()
    found = issue(hass, f"budget_exhausted_{key}")
    assert found is not None
    assert found.severity is ir.IssueSeverity.WARNING
    assert found.is_fixable is False
    assert found.translation_key == "budget_exhausted"
    assert found.translation_placeholders["name"] == "OpenAI"
    # Raising the budget clears it, without a reload.
    set_budget(hass, entry, key, 10.0)
    await hass.async_block_till_done()
    assert issue(hass, f"budget_exhausted_{key}") is None


async def test_spent_budget_warning_goes_at_local_midnight(
    hass: HomeAssistant, setup_aicleaner: Setup, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(dt_util.start_of_local_day() + timedelta(hours=23, minutes=59))
    entry = await setup_aicleaner(("openai", "OpenAI", {}))
    key = next(iter(entry.subentries))
    await analyze(hass, prompt="hello")
    set_budget(hass, entry, key, TINY)
    await hass.async_block_till_done()
    assert issue(hass, f"budget_exhausted_{key}") is not None
    # The router reads the date at most once a second of real time.
    await hass.async_add_executor_job(time.sleep, 1.05)
    freezer.tick(timedelta(minutes=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert issue(hass, f"budget_exhausted_{key}") is None


async def test_spent_global_budget_raises_its_own_warning(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    entry = await setup_aicleaner(("openai", "OpenAI", {}))
    await analyze(hass, prompt="hello")
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "global_daily_budget": TINY}
    )
    await hass.async_block_till_done()
    found = issue(hass, "budget_exhausted_global")
    assert found is not None
    assert found.translation_key == "global_budget_exhausted"
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "global_daily_budget": None}
    )
    await hass.async_block_till_done()
    assert issue(hass, "budget_exhausted_global") is None


async def test_a_zero_budget_is_a_choice_not_a_warning(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    entry = await setup_aicleaner(("openai", "OpenAI", {CONF_DAILY_BUDGET: 0.0}))
    await hass.async_block_till_done()
    key = next(iter(entry.subentries))
    assert issue(hass, f"budget_exhausted_{key}") is None


async def test_a_spent_overall_budget_is_one_issue_and_free_providers_keep_serving(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    entry = await setup_aicleaner(
        ("openai", "OpenAI", {CONF_DAILY_BUDGET: 10.0}),
        ("ollama", "Local LLM", {CONF_DAILY_BUDGET: 10.0}),
    )
    await analyze(hass, prompt="hello")
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "global_daily_budget": 0.000001}
    )
    await hass.async_block_till_done()
    ours = sorted(
        issue_id for domain, issue_id in ir.async_get(hass).issues if domain == DOMAIN
    )
    # One overall issue, with the budget as set; no provider is described as spent.
    assert ours == ["budget_exhausted_global"]
    found = issue(hass, "budget_exhausted_global")
    assert found is not None
    assert found.translation_placeholders["budget"] == "0.000001"
    # The paid provider is stopped; the free local one serves, as the issue says.
    assert hass.states.get("sensor.openai_status").state == "budget_exhausted"
    assert hass.states.get("sensor.local_llm_status").state == "healthy"
    # Nor is the free provider's own budget shown as spent.
    assert hass.states.get("sensor.local_llm_budget_remaining_today").state == "10.0"
    assert hass.states.get("sensor.openai_budget_remaining_today").state == "0.0"
    result = await analyze(hass, prompt="hello again")
    assert result["provider"] == "Local LLM"


def test_budgets_are_written_with_every_digit_they_have() -> None:
    assert usd(0.001) == "0.001"
    assert usd(10.0) == "10.00"
    assert usd(1.5) == "1.50"
    assert usd(0.0125) == "0.0125"


async def test_deleting_the_entry_removes_its_budget_and_model_issues(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    # o4-mini was shut down on 2026-10-23: a retired-model issue.
    entry = await setup_aicleaner(("openai", "OpenAI", {CONF_MODEL: "o4-mini"}))
    await analyze(hass, prompt="hello")
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "global_daily_budget": TINY}
    )
    await hass.async_block_till_done()
    key = next(iter(entry.subentries))
    assert issue(hass, "budget_exhausted_global") is not None
    assert issue(hass, f"retired_model_{key}") is not None
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert [i for domain, i in ir.async_get(hass).issues if domain == DOMAIN] == []
