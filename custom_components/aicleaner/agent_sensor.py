"""An Assist agent's own sensors, on its device: what it spent today and which provider last answered.

The cost is restored after a restart when it is still the same day, and the agent's budget takes it
back, so a restart never gives an agent a fresh budget.
"""

from __future__ import annotations

from datetime import datetime

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .agent_config import SUBENTRY_CONVERSATION, AgentSettings
from .agent_state import AgentState, async_agent_state
from .const import DEFAULT_TITLE, DOMAIN
from .runtime import AICleanerConfigEntry


@callback
def async_add_agent_sensors(
    hass: HomeAssistant,
    entry: AICleanerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each agent's sensors, now and for every agent added later."""
    added: set[str] = set()

    @callback
    def _add_new() -> None:
        added.intersection_update(entry.subentries)
        for subentry_id, subentry in entry.subentries.items():
            if subentry.subentry_type != SUBENTRY_CONVERSATION or subentry_id in added:
                continue
            added.add(subentry_id)
            state = async_agent_state(
                hass,
                subentry_id,
                AgentSettings.from_data(subentry.data).daily_budget,
            )
            async_add_entities(
                [
                    AgentCostSensor(subentry, state),
                    AgentProviderSensor(subentry, state),
                ],
                config_subentry_id=subentry_id,
            )

    async def _async_entry_updated(
        hass: HomeAssistant, entry: AICleanerConfigEntry
    ) -> None:
        _add_new()

    _add_new()
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))


class _AgentSensor(SensorEntity):
    """A figure of one agent, updated as each of its model calls ends."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, subentry: ConfigSubentry, state: AgentState, key: str) -> None:
        self._state = state
        self._attr_translation_key = f"agent_{key}"
        self._attr_unique_id = f"{subentry.subentry_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, subentry.subentry_id)},
            name=subentry.title,
            manufacturer=DEFAULT_TITLE,
            model="Assist agent",
            entry_type=DeviceEntryType.SERVICE,
        )

    async def async_added_to_hass(self) -> None:
        """Follow the agent's calls."""
        await super().async_added_to_hass()
        self.async_on_remove(self._state.add_listener(self.async_write_ha_state))


class AgentCostSensor(_AgentSensor, RestoreSensor):
    """USD the agent spent today on paid providers."""

    _attr_device_class = SensorDeviceClass.MONETARY
    _attr_state_class = SensorStateClass.TOTAL
    _attr_native_unit_of_measurement = "USD"
    _attr_suggested_display_precision = 4

    def __init__(self, subentry: ConfigSubentry, state: AgentState) -> None:
        """Describe the sensor."""
        super().__init__(subentry, state, "cost_today")

    async def async_added_to_hass(self) -> None:
        """Take back today's spend from before a restart."""
        await super().async_added_to_hass()
        last = await self.async_get_last_sensor_data()
        last_state = await self.async_get_last_state()
        if last is None or last_state is None or last.native_value is None:
            return
        day = dt_util.as_local(last_state.last_updated).date()
        self._state.budget.restore(day, float(str(last.native_value)))

    @property
    def native_value(self) -> float:
        """Return today's spend."""
        return round(self._state.budget.spent_today(), 6)

    @property
    def last_reset(self) -> datetime:
        """Return the start of today: the figure starts again at local midnight."""
        return dt_util.start_of_local_day()


class AgentProviderSensor(_AgentSensor):
    """The provider that answered the agent's last model call."""

    def __init__(self, subentry: ConfigSubentry, state: AgentState) -> None:
        """Describe the sensor."""
        super().__init__(subentry, state, "last_provider")

    @property
    def native_value(self) -> str | None:
        """Return the provider's name."""
        return self._state.last_provider
