"""An Assist agent's settings: its subentry type, keys, defaults, and the typed form the agent reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.const import CONF_LLM_HASS_API, CONF_PROMPT

from .const import CONF_DAILY_BUDGET, SELECTION_STRATEGIES

# The subentry type of an Assist agent (core's AI integrations name theirs the same).
SUBENTRY_CONVERSATION: Final = "conversation"
DEFAULT_AGENT_NAME: Final = "AICleaner Assist"

# Which providers the agent may use (subentry ids; none chosen: every provider).
CONF_AGENT_PROVIDERS: Final = "providers"
# In what order: local providers first, then the others by the router's strategy; the router's own
# strategy; or one of the strategies, for this agent only.
CONF_PROVIDER_ORDER: Final = "provider_order"
ORDER_LOCAL_FIRST: Final = "local_first"
ORDER_ROUTER: Final = "router"
PROVIDER_ORDERS: Final = (ORDER_LOCAL_FIRST, ORDER_ROUTER, *SELECTION_STRATEGIES)
CONF_MAX_TOOL_ROUNDS: Final = "max_tool_rounds"
CONF_TTFT_TIMEOUT: Final = "ttft_timeout"
CONF_MAX_TOKENS: Final = "max_tokens"
CONF_TEMPERATURE: Final = "temperature"

DEFAULT_PROVIDER_ORDER: Final = ORDER_LOCAL_FIRST
DEFAULT_MAX_TOOL_ROUNDS: Final = 10
# Seconds the agent waits for a first word, whichever providers the router tries meanwhile (each
# provider's own deadline, 10 s in the cloud and 30 s at home by default, moves it to the next).
DEFAULT_TTFT_TIMEOUT: Final = 30.0
DEFAULT_MAX_TOKENS: Final = 1024
DEFAULT_TEMPERATURE: Final = 0.7
# USD per day this agent may spend on paid providers; free (local) providers answer past it.
DEFAULT_AGENT_DAILY_BUDGET: Final = 1.0


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """One agent's settings, read from its subentry data with the defaults filled in."""

    prompt: str | None
    llm_apis: tuple[str, ...]
    providers: frozenset[str]
    provider_order: str
    max_tool_rounds: int
    ttft_timeout: float
    max_tokens: int
    temperature: float
    daily_budget: float

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> AgentSettings:
        """Read a subentry's data; a missing key takes its default."""
        apis = data.get(CONF_LLM_HASS_API) or ()
        return cls(
            prompt=data.get(CONF_PROMPT) or None,
            llm_apis=(apis,) if isinstance(apis, str) else tuple(apis),
            providers=frozenset(data.get(CONF_AGENT_PROVIDERS) or ()),
            provider_order=data.get(CONF_PROVIDER_ORDER, DEFAULT_PROVIDER_ORDER),
            max_tool_rounds=int(
                data.get(CONF_MAX_TOOL_ROUNDS, DEFAULT_MAX_TOOL_ROUNDS)
            ),
            ttft_timeout=float(data.get(CONF_TTFT_TIMEOUT, DEFAULT_TTFT_TIMEOUT)),
            max_tokens=int(data.get(CONF_MAX_TOKENS, DEFAULT_MAX_TOKENS)),
            temperature=float(data.get(CONF_TEMPERATURE, DEFAULT_TEMPERATURE)),
            daily_budget=float(data.get(CONF_DAILY_BUDGET, DEFAULT_AGENT_DAILY_BUDGET)),
        )
