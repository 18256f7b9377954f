"""Select: the router's selection strategy, changed live and kept in the options."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_SELECTION_STRATEGY, SELECTION_STRATEGIES
from .entity import AICleanerEntity
from .runtime import AICleanerConfigEntry

PARALLEL_UPDATES = 0

SELECTION_STRATEGY = SelectEntityDescription(
    key="selection_strategy",
    translation_key="selection_strategy",
    entity_category=EntityCategory.CONFIG,
    options=list(SELECTION_STRATEGIES),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AICleanerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the router's strategy select."""
    async_add_entities(
        [SelectionStrategySelect(entry.runtime_data.coordinator, SELECTION_STRATEGY)]
    )


class SelectionStrategySelect(AICleanerEntity, SelectEntity):
    """How the router orders providers for a request."""

    @property
    def current_option(self) -> str:
        """The strategy the router uses now."""
        return self.coordinator.data.router.selection_strategy

    async def async_select_option(self, option: str) -> None:
        """Switch the live router, and keep the choice in the entry's options."""
        entry = self.coordinator.config_entry
        entry.runtime_data.router.set_selection_strategy(option)
        # The update listener applies the same options to the router again: no reload.
        self.hass.config_entries.async_update_entry(
            entry, options={**entry.options, CONF_SELECTION_STRATEGY: option}
        )
        self.coordinator.async_push()
