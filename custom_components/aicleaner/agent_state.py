"""What an Assist agent keeps while it runs: its own budget and the provider that last answered it.

Kept per agent subentry in `hass.data`, so the agent's sensors read what its conversation entity
writes, and a reload of the entry keeps today's spend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .agent_budget import AgentBudget
from .agent_config import SUBENTRY_CONVERSATION
from .const import DOMAIN

_AGENTS: HassKey[dict[str, AgentState]] = HassKey(f"{DOMAIN}_agents")


@dataclass
class AgentState:
    """One agent's spend and last provider, with whoever shows them."""

    budget: AgentBudget
    last_provider: str | None = None
    _listeners: list[Callable[[], None]] = field(default_factory=list)

    @callback
    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` after each model call; return a remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def changed(self) -> None:
        """Tell the listeners (the agent's sensors) that a model call ended."""
        for listener in list(self._listeners):
            listener()


@callback
def async_agent_state(
    hass: HomeAssistant, subentry_id: str, limit: float
) -> AgentState:
    """Return the agent's state, made on first use; its budget limit follows the settings."""
    agents = hass.data.setdefault(_AGENTS, {})
    state = agents.get(subentry_id)
    if state is None:
        state = agents[subentry_id] = AgentState(
            AgentBudget(limit, lambda: dt_util.now().date())
        )
    state.budget.limit = limit
    return state


@callback
def assist_agents_diagnostics(
    hass: HomeAssistant, entry: ConfigEntry
) -> dict[str, dict[str, Any]]:
    """Each Assist agent's budget and last provider, by subentry id, for diagnostics."""
    agents = hass.data.get(_AGENTS, {})
    result: dict[str, dict[str, Any]] = {}
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type != SUBENTRY_CONVERSATION:
            continue
        state = agents.get(subentry_id)
        result[subentry_id] = {
            "title": subentry.title,
            "daily_budget": None if state is None else state.budget.limit,
            "spent_today": 0.0 if state is None else state.budget.spent_today(),
            "reserved": 0.0 if state is None else state.budget.reserved,
            "last_provider": None if state is None else state.last_provider,
        }
    return result
