"""Sensors: each provider's spend, budget, traffic, latency and status, and the router's totals."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .agent_sensor import async_add_agent_sensors
from .coordinator import AICleanerData, ProviderHealth, ProviderStatus
from .entity import (
    AICleanerEntity,
    AICleanerProviderEntity,
    async_add_provider_entities,
)
from .runtime import AICleanerConfigEntry

# Entities only read the coordinator's snapshot.
PARALLEL_UPDATES = 0

USD = "USD"


@dataclass(frozen=True, kw_only=True)
class ProviderSensorEntityDescription(SensorEntityDescription):
    """A sensor of one provider, read from its part of the snapshot."""

    value_fn: Callable[[ProviderHealth], StateType]
    attributes_fn: Callable[[ProviderHealth], Mapping[str, Any]] | None = None
    # A total of the local day: its last reset is the day's midnight.
    daily: bool = False


@dataclass(frozen=True, kw_only=True)
class RouterSensorEntityDescription(SensorEntityDescription):
    """A sensor of the router as a whole."""

    value_fn: Callable[[AICleanerData], StateType]
    attributes_fn: Callable[[AICleanerData], Mapping[str, Any]] | None = None
    daily: bool = False


def _percent(share: float | None) -> float | None:
    return None if share is None else share * 100.0


PROVIDER_SENSORS: tuple[ProviderSensorEntityDescription, ...] = (
    ProviderSensorEntityDescription(
        key="cost_today",
        translation_key="cost_today",
        device_class=SensorDeviceClass.MONETARY,
        native_unit_of_measurement=USD,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=4,
        daily=True,
        value_fn=lambda health: health.stats.cost_today,
    ),
    ProviderSensorEntityDescription(
        key="budget_remaining",
        translation_key="budget_remaining",
        device_class=SensorDeviceClass.MONETARY,
        native_unit_of_measurement=USD,
        # As the costs: "1.0000 left" beside "0.0025 spent", never "1.00" beside "0.0025".
        suggested_display_precision=4,
        # Unknown when the provider has no daily budget.
        value_fn=lambda health: health.budget_remaining,
        attributes_fn=lambda health: {"daily_budget": health.stats.daily_budget},
    ),
    ProviderSensorEntityDescription(
        key="requests_today",
        translation_key="requests_today",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda health: health.stats.requests_today,
    ),
    ProviderSensorEntityDescription(
        key="tokens_today",
        translation_key="tokens_today",
        native_unit_of_measurement="tokens",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_registry_enabled_default=False,
        value_fn=lambda health: health.stats.tokens_today,
        attributes_fn=lambda health: {
            "input_tokens": health.stats.input_tokens_today,
            "output_tokens": health.stats.output_tokens_today,
        },
    ),
    ProviderSensorEntityDescription(
        key="latency",
        translation_key="latency",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda health: health.latency_ms,
    ),
    ProviderSensorEntityDescription(
        key="success_rate",
        translation_key="success_rate",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda health: _percent(health.stats.success_rate),
    ),
    ProviderSensorEntityDescription(
        key="status",
        translation_key="status",
        device_class=SensorDeviceClass.ENUM,
        options=[status.value for status in ProviderStatus],
        value_fn=lambda health: health.status.value,
        attributes_fn=lambda health: {
            "last_error": health.last_error,
            "breaker": health.stats.breaker_state,
        },
    ),
)

ROUTER_SENSORS: tuple[RouterSensorEntityDescription, ...] = (
    RouterSensorEntityDescription(
        key="total_cost_today",
        translation_key="total_cost_today",
        device_class=SensorDeviceClass.MONETARY,
        native_unit_of_measurement=USD,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=4,
        daily=True,
        value_fn=lambda data: data.router.cost_today,
    ),
    RouterSensorEntityDescription(
        key="total_requests_today",
        translation_key="total_requests_today",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda data: data.router.total_requests,
    ),
    RouterSensorEntityDescription(
        key="cache_hit_rate",
        translation_key="cache_hit_rate",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.cache_hit_rate,
    ),
    RouterSensorEntityDescription(
        key="healthy_providers",
        translation_key="healthy_providers",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: len(data.healthy_providers),
        attributes_fn=lambda data: {"providers": data.healthy_providers},
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AICleanerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the router's sensors, and each provider's under its subentry."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        RouterSensor(coordinator, description) for description in ROUTER_SENSORS
    )
    async_add_provider_entities(
        entry,
        async_add_entities,
        lambda coordinator, subentry_id: [
            ProviderSensor(coordinator, description, subentry_id)
            for description in PROVIDER_SENSORS
        ],
    )
    async_add_agent_sensors(hass, entry, async_add_entities)


class ProviderSensor(AICleanerProviderEntity, SensorEntity):
    """One figure of one provider."""

    entity_description: ProviderSensorEntityDescription

    @property
    def native_value(self) -> StateType:
        """The figure now."""
        health = self.provider
        return None if health is None else self.entity_description.value_fn(health)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Details of the figure, where it has any."""
        attributes_fn = self.entity_description.attributes_fn
        health = self.provider
        return (
            None if attributes_fn is None or health is None else attributes_fn(health)
        )

    @property
    def last_reset(self) -> datetime | None:
        """Local midnight, for the day's totals."""
        return (
            self.coordinator.data.day_started if self.entity_description.daily else None
        )


class RouterSensor(AICleanerEntity, SensorEntity):
    """One figure of the router as a whole."""

    entity_description: RouterSensorEntityDescription

    @property
    def native_value(self) -> StateType:
        """The figure now."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Details of the figure, where it has any."""
        attributes_fn = self.entity_description.attributes_fn
        return None if attributes_fn is None else attributes_fn(self.coordinator.data)

    @property
    def last_reset(self) -> datetime | None:
        """Local midnight, for the day's totals."""
        return (
            self.coordinator.data.day_started if self.entity_description.daily else None
        )
