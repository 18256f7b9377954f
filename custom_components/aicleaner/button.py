"""Buttons: close a provider's circuit breaker by hand."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import LOGGER
from .entity import AICleanerProviderEntity, async_add_provider_entities
from .runtime import AICleanerConfigEntry

PARALLEL_UPDATES = 0

RESET_BREAKER = ButtonEntityDescription(
    key="reset_circuit_breaker",
    translation_key="reset_circuit_breaker",
    entity_category=EntityCategory.CONFIG,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AICleanerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each provider's reset button under its subentry."""
    async_add_provider_entities(
        entry,
        async_add_entities,
        lambda coordinator, subentry_id: [
            ResetBreakerButton(coordinator, RESET_BREAKER, subentry_id)
        ],
    )


class ResetBreakerButton(AICleanerProviderEntity, ButtonEntity):
    """Closes the provider's breaker, so that the next request tries it again."""

    async def async_press(self) -> None:
        """Close the breaker, start the provider afresh and show its status from a new health call.

        Its failures before the press (the fault just fixed) no longer make it degraded.
        """
        LOGGER.info(
            "Circuit breaker of %s closed by hand",
            self.coordinator.config_entry.subentries[self.subentry_id].title,
        )
        self.coordinator.config_entry.runtime_data.router.reset_breaker(
            self.subentry_id
        )
        await self.coordinator.async_recheck(self.subentry_id)
