"""System health: providers reachable and today's spend against the budget."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import get_system_health_info

from tests import test_services
from tests.simulator import Fault, SimulatorServer
from tests.test_services import Setup, analyze

# The actions' setup fixture, shared.
setup_aicleaner = test_services.setup_aicleaner


async def test_system_health_counts_reachable_providers_and_the_spend(
    hass: HomeAssistant, setup_aicleaner: Setup, simulator: SimulatorServer
) -> None:
    assert await async_setup_component(hass, "system_health", {})
    entry = await setup_aicleaner(
        ("openai", "OpenAI", {}),
        ("anthropic", "Claude", {}),
        options={"global_daily_budget": 2.0},
    )
    simulator.sim.set_fault("anthropic", Fault(kind="status", status=503))
    await analyze(hass, prompt="hello")
    await entry.runtime_data.coordinator.async_check_now()
    info = await get_system_health_info(hass, "aicleaner")
    spent = entry.runtime_data.router.get_cost_summary()["total_cost"]
    assert spent > 0
    assert info["providers_reachable"] == "1 of 2"
    assert info["providers_unreachable"] == "Claude"
    assert info["spent_today"] == f"{spent:.4f} USD"
    assert info["daily_budget"] == "2.00 USD"
    assert info["budget_used"] == f"{100 * spent / 2.0:.1f} %"
    assert info["overall_health"] == "degraded"


async def test_system_health_without_an_overall_budget(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    assert await async_setup_component(hass, "system_health", {})
    await setup_aicleaner(("openai", "OpenAI", {"daily_budget": 3.0}))
    info = await get_system_health_info(hass, "aicleaner")
    assert info["providers_reachable"] == "1 of 1"
    assert info["spent_today"] == "0.0000 USD"
    assert info["daily_budget"] == "no overall limit"
    assert info["provider_budgets_total"] == "3.00 USD"
