"""System health: how many providers answer, and today's spend against the budget."""

from __future__ import annotations

from typing import Any

from homeassistant.components import system_health
from homeassistant.core import HomeAssistant, callback

from .agent_config import SUBENTRY_CONVERSATION
from .budget_repairs import budget_spent, usd
from .const import DOMAIN
from .coordinator import UNAVAILABLE, ProviderStatus
from .runtime import AICleanerConfigEntry


@callback
def async_register(
    hass: HomeAssistant, register: system_health.SystemHealthRegistration
) -> None:
    """Register AICleaner's system health section."""
    register.async_register_info(system_health_info)


async def system_health_info(hass: HomeAssistant) -> dict[str, Any]:
    """Return the providers reachable and today's spend, from the last health snapshot."""
    entries: list[AICleanerConfigEntry] = hass.config_entries.async_loaded_entries(
        DOMAIN
    )
    if not entries:
        return {}
    runtime = entries[0].runtime_data
    data = runtime.coordinator.data
    enabled = [
        health
        for health in data.providers.values()
        if health.status is not ProviderStatus.DISABLED
    ]
    reachable = [health for health in enabled if health.status not in UNAVAILABLE]
    summary = runtime.router.get_cost_summary()
    spent = float(summary["total_cost"])
    limit = summary["global_daily_budget"]
    budgets = [
        costs["daily_budget"]
        for costs in summary["provider_costs"].values()
        if costs["daily_budget"] is not None
    ]
    return {
        "overall_health": data.overall_health.value,
        "providers_reachable": f"{len(reachable)} of {len(enabled)}",
        "providers_unreachable": ", ".join(
            sorted(health.name for health in enabled if health not in reachable)
        )
        or "none",
        "spent_today": f"{spent:.4f} USD",
        "daily_budget": "no overall limit" if limit is None else f"{usd(limit)} USD",
        "budget_used": "-"
        if limit is None or limit <= 0
        else f"{100.0 * spent / limit:.1f} %",
        "providers_over_budget": sum(
            1
            for costs in summary["provider_costs"].values()
            if budget_spent(costs["daily_budget"], costs["total_cost"])
        ),
        "provider_budgets_total": f"{sum(budgets):.2f} USD" if budgets else "none",
        "assist_agents": sum(
            1
            for subentry in entries[0].subentries.values()
            if subentry.subentry_type == SUBENTRY_CONVERSATION
        ),
    }
