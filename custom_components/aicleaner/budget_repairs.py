"""Repair issues for spent daily budgets: `budget_exhausted_<id>` per provider, `_global` overall.

A warning the user can act on: raise the budget (the provider's gear icon, or the router settings)
or let the day end. Each health snapshot (after requests, at local midnight, when settings change)
is checked, so the issue appears when the budget is spent and goes when a new day starts or the
budget is raised. A budget of 0 is the user's "never spend", not a spent budget: no issue.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import CONF_ENABLED, DOMAIN
from .runtime import AICleanerConfigEntry

ISSUE_PREFIX: Final = "budget_exhausted_"
GLOBAL: Final = "global"


def issue_id(key: str) -> str:
    """Return the issue id for a provider's budget (its subentry id) or `GLOBAL`."""
    return f"{ISSUE_PREFIX}{key}"


def budget_spent(limit: float | None, spent: float) -> bool:
    """Whether a daily budget is spent; a budget of 0 is "never spend", not a spent one."""
    return bool(limit) and spent >= float(limit or 0)


@callback
def async_check_budgets(hass: HomeAssistant, entry: AICleanerConfigEntry) -> None:
    """Raise an issue for each spent budget; drop the issues of budgets no longer spent."""
    summary = entry.runtime_data.router.get_cost_summary()
    wanted: dict[str, dict[str, str]] = {}
    for key, costs in summary["provider_costs"].items():
        subentry = entry.subentries.get(key)
        if subentry is None or not subentry.data.get(CONF_ENABLED, True):
            continue
        # Its own budget only: a spent overall budget is the overall issue's, not every provider's.
        if budget_spent(costs["daily_budget"], costs["total_cost"]):
            wanted[issue_id(key)] = _placeholders(
                subentry.title, costs["total_cost"], costs["daily_budget"]
            )
    global_limit = summary["global_daily_budget"]
    if budget_spent(global_limit, summary["total_cost"]):
        wanted[issue_id(GLOBAL)] = _placeholders(
            "", summary["total_cost"], global_limit
        )
    for wanted_id, placeholders in wanted.items():
        ir.async_create_issue(
            hass,
            DOMAIN,
            wanted_id,
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="global_budget_exhausted"
            if wanted_id == issue_id(GLOBAL)
            else "budget_exhausted",
            translation_placeholders=placeholders,
        )
    _delete_issues(hass, keep=wanted)


def _placeholders(name: str, spent: float, limit: Any) -> dict[str, str]:
    return {"name": name, "spent": f"{spent:.4f}", "budget": usd(float(limit))}


def usd(amount: float) -> str:
    """Write a budget in USD with cents, and with as many more digits as it has (0.001 stays)."""
    text = f"{amount:.6f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"{whole}.{cents.ljust(2, '0')}"


@callback
def async_setup_budget_checks(
    hass: HomeAssistant, entry: AICleanerConfigEntry
) -> Callable[[], None]:
    """Check the budgets now and on every health snapshot; return the undo.

    The undo deletes the budget issues: they describe the loaded entry (a deleted entry's must
    not stay), and setup checks again.
    """
    async_check_budgets(hass, entry)
    remove_listener = entry.runtime_data.coordinator.async_add_listener(
        lambda: async_check_budgets(hass, entry)
    )

    @callback
    def _undo() -> None:
        remove_listener()
        _delete_issues(hass, keep=set())

    return _undo


@callback
def _delete_issues(hass: HomeAssistant, keep: Collection[str]) -> None:
    for domain, existing in list(ir.async_get(hass).issues):
        if (
            domain == DOMAIN
            and existing.startswith(ISSUE_PREFIX)
            and existing not in keep
        ):
            ir.async_delete_issue(hass, DOMAIN, existing)
