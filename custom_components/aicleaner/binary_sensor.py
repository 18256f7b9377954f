"""Binary sensors: whether each provider has a problem."""

from __future__ import annotations

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import ProviderStatus
from .entity import AICleanerProviderEntity, async_add_provider_entities
from .runtime import AICleanerConfigEntry

# Entities only read the coordinator's snapshot.
PARALLEL_UPDATES = 0

# Statuses that are no problem: working, or turned off on purpose.
_FINE = frozenset({ProviderStatus.HEALTHY, ProviderStatus.DISABLED})

PROBLEM = BinarySensorEntityDescription(
    key="problem", device_class=BinarySensorDeviceClass.PROBLEM
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AICleanerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each provider's problem sensor under its subentry."""
    async_add_provider_entities(
        entry,
        async_add_entities,
        lambda coordinator, subentry_id: [
            ProviderProblemSensor(coordinator, PROBLEM, subentry_id)
        ],
    )


class ProviderProblemSensor(AICleanerProviderEntity, BinarySensorEntity):
    """On while the provider is not healthy (degraded, down, limited, out of budget)."""

    @property
    def is_on(self) -> bool | None:
        """Whether the provider's status is a problem."""
        health = self.provider
        return None if health is None else health.status not in _FINE
