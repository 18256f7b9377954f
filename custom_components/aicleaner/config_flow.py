"""Config flow for AICleaner: one main entry that holds the router's settings."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import probatio

from .const import (
    CONF_BATCH_SIZE,
    CONF_CACHE_TTL,
    CONF_SELECTION_STRATEGY,
    DEFAULT_BATCH_SIZE,
    DEFAULT_CACHE_TTL,
    DEFAULT_SELECTION_STRATEGY,
    DEFAULT_TITLE,
    DOMAIN,
    SELECTION_STRATEGIES,
)

ROUTER_SCHEMA = probatio.Schema(
    {
        probatio.Required(
            CONF_SELECTION_STRATEGY, default=DEFAULT_SELECTION_STRATEGY
        ): SelectSelector(
            SelectSelectorConfig(
                options=list(SELECTION_STRATEGIES),
                mode=SelectSelectorMode.DROPDOWN,
                translation_key="selection_strategy",
            )
        ),
        probatio.Required(CONF_CACHE_TTL, default=DEFAULT_CACHE_TTL): probatio.All(
            NumberSelector(
                NumberSelectorConfig(
                    min=0,
                    max=86400,
                    step=1,
                    mode=NumberSelectorMode.BOX,
                    unit_of_measurement="s",
                )
            ),
            probatio.Coerce(int),
        ),
        probatio.Required(CONF_BATCH_SIZE, default=DEFAULT_BATCH_SIZE): probatio.All(
            NumberSelector(
                NumberSelectorConfig(min=1, max=50, step=1, mode=NumberSelectorMode.BOX)
            ),
            probatio.Coerce(int),
        ),
    }
)


class AICleanerConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create the single AICleaner entry; providers are added to it afterwards."""

    VERSION = 1
    MINOR_VERSION = 1

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
