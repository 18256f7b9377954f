"""The base entity: one device per provider subentry, and one for the router."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import CONF_MODEL, DEFAULT_TITLE, DOMAIN
from .coordinator import AICleanerCoordinator, ProviderHealth
from .runtime import AICleanerConfigEntry
from .subentries import provider_subentries

# What the device page shows as a provider's maker: its kind (the subentry type).
KIND_NAMES: Final = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "gemini": "Google Gemini",
    "ollama": "Ollama",
    "openai_compatible": "OpenAI-compatible server",
}


class AICleanerEntity(CoordinatorEntity[AICleanerCoordinator]):
    """An entity of the router as a whole, on the router's device."""

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: AICleanerCoordinator, description: EntityDescription
    ) -> None:
        """Describe the entity and put it on the router's device."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        self.entity_description = description
        self._attr_unique_id = f"{entry.entry_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title or DEFAULT_TITLE,
            manufacturer=DEFAULT_TITLE,
            model="Router",
            entry_type=DeviceEntryType.SERVICE,
        )


class AICleanerProviderEntity(CoordinatorEntity[AICleanerCoordinator]):
    """An entity of one provider, on that provider subentry's device."""

    _attr_has_entity_name = True

    def __init__(
        self,
        coordinator: AICleanerCoordinator,
        description: EntityDescription,
        subentry_id: str,
    ) -> None:
        """Describe the entity and put it on its provider's device."""
        super().__init__(coordinator)
        subentry = coordinator.config_entry.subentries[subentry_id]
        self.entity_description = description
        self.subentry_id = subentry_id
        self._attr_unique_id = f"{subentry_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, subentry_id)},
            name=subentry.title,
            manufacturer=KIND_NAMES.get(subentry.subentry_type, subentry.subentry_type),
            model=subentry.data.get(CONF_MODEL),
            entry_type=DeviceEntryType.SERVICE,
        )

    @property
    def provider(self) -> ProviderHealth | None:
        """The provider's part of the snapshot; None once it left the router."""
        return self.coordinator.data.providers.get(self.subentry_id)

    @property
    def available(self) -> bool:
        """Available while the router has the provider (its key readable, not removed)."""
        return super().available and self.subentry_id in self.coordinator.data.providers


@callback
def async_add_provider_entities(
    entry: AICleanerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    build: Callable[[AICleanerCoordinator, str], Iterable[Entity]],
) -> None:
    """Add each provider's entities under its subentry, now and for providers added later.

    Subentries change without a reload, so the platform follows the coordinator: a provider the
    router gained gets its entities; one whose subentry was removed loses them with its device.
    """
    coordinator = entry.runtime_data.coordinator
    added: set[str] = set()

    @callback
    def _add_new() -> None:
        present = set(coordinator.data.providers) & set(entry.subentries)
        added.intersection_update(entry.subentries)
        for subentry_id in sorted(present - added):
            added.add(subentry_id)
            async_add_entities(
                build(coordinator, subentry_id), config_subentry_id=subentry_id
            )

    _add_new()
    entry.async_on_unload(coordinator.async_add_listener(_add_new))


@callback
def async_update_provider_devices(
    hass: HomeAssistant, entry: AICleanerConfigEntry
) -> None:
    """Show a renamed provider's new title, and its new model, on its device page."""
    registry = dr.async_get(hass)
    for subentry_id, subentry in provider_subentries(entry).items():
        device = registry.async_get_device_by_identifier(
            (DOMAIN, subentry_id), entry.entry_id
        )
        model = subentry.data.get(CONF_MODEL)
        if device is not None and (device.name, device.model) != (
            subentry.title,
            model,
        ):
            registry.async_update_device(device.id, name=subentry.title, model=model)
