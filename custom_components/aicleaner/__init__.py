"""AICleaner: several AI providers as one reliable service for Home Assistant."""

from __future__ import annotations

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN
from .credentials import CredentialError
from .entity import async_update_provider_devices
from .model_repairs import async_check_models
from .runtime import AICleanerConfigEntry, async_apply_entry_update, async_build_runtime
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.SELECT,
    Platform.SENSOR,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions; they answer once the entry is loaded."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: AICleanerConfigEntry) -> bool:
    """Set up AICleaner from its config entry."""
    try:
        runtime = await async_build_runtime(hass, entry)
    except CredentialError as err:
        # The data key is gone or was replaced: the stored API keys cannot be read. Retrying will
        # not help; the user reconfigures the providers with their keys.
        raise ConfigEntryError(
            translation_domain=DOMAIN, translation_key="credential_unreadable"
        ) from err
    # Before any request: a restart must never grant a day's budget again.
    ledger = runtime.ledger
    await ledger.async_load()
    entry.runtime_data = runtime
    entry.async_on_unload(
        runtime.router.add_listener(lambda _outcome: ledger.async_schedule_save())
    )

    async def _async_final_write(_event: Event) -> None:
        await ledger.async_save()

    entry.async_on_unload(
        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_FINAL_WRITE, _async_final_write)
    )
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    await async_check_models(hass, entry)
    # Health calls and live stats for the entities; a provider that is down fails no setup.
    await runtime.coordinator.async_config_entry_first_refresh()
    runtime.coordinator.async_start()
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: AICleanerConfigEntry) -> bool:
    """Unload the entry; the ledger is written before the router goes."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    await entry.runtime_data.ledger.async_save()
    return unloaded


async def _async_update_listener(
    hass: HomeAssistant, entry: AICleanerConfigEntry
) -> None:
    """Apply new router settings or provider subentries without a reload."""
    async_apply_entry_update(hass, entry)
    await async_check_models(hass, entry)
    async_update_provider_devices(hass, entry)
    await entry.runtime_data.coordinator.async_sync_providers()
