"""Config flow for AICleaner.

The main entry holds the router's settings; each provider is a config subentry whose type is the
provider kind (provider_flow). Subentries have no reauth step, so a provider's reconfigure step is
where its API key is rotated. The options flow (router settings, routing rules) is in options_flow.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
)
from homeassistant.core import callback

from .agent_config import SUBENTRY_CONVERSATION
from .agent_flow import AgentSubentryFlow
from .const import DEFAULT_TITLE, DOMAIN
from .flow_schema import ROUTER_SCHEMA
from .options_flow import RouterOptionsFlow
from .provider_flow import ProviderSubentryFlow
from .providers import PROVIDER_KINDS


class AICleanerConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create the single AICleaner entry; providers are added to it as subentries."""

    VERSION = 1
    # 1.2: each provider's stored API key records when it was set (`api_key_set_at`).
    MINOR_VERSION = 2

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> RouterOptionsFlow:
        """Change the router settings later; applied without a reload."""
        return RouterOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """One subentry type per provider kind, and the Assist agent's."""
        return {
            **dict.fromkeys(PROVIDER_KINDS, ProviderSubentryFlow),
            SUBENTRY_CONVERSATION: AgentSubentryFlow,
        }

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the router settings and create the entry."""
        # manifest.json sets single_config_entry, so HA aborts a second flow before this step.
        if user_input is not None:
            return self.async_create_entry(
                title=DEFAULT_TITLE, data={}, options=user_input
            )
        return self.async_show_form(step_id="user", data_schema=ROUTER_SCHEMA)
