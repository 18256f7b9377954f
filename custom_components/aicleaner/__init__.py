"""AICleaner: several AI providers as one reliable service for Home Assistant."""

from __future__ import annotations

from homeassistant.const import CONF_API_KEY, EVENT_HOMEASSISTANT_FINAL_WRITE, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import dt as dt_util

from .access_repairs import async_setup_access_checks
from .budget_repairs import async_setup_budget_checks
from .const import CONF_API_KEY_SET_AT, DOMAIN
from .entity import async_update_provider_devices
from .key_repairs import async_check_keys, async_setup_key_checks
from .model_repairs import async_check_models, async_delete_model_issues
from .runtime import AICleanerConfigEntry, async_apply_entry_update, async_build_runtime
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS: list[Platform] = [
    Platform.AI_TASK,
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.CONVERSATION,
    Platform.SELECT,
    Platform.SENSOR,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions; they answer once the entry is loaded."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: AICleanerConfigEntry) -> bool:
    """Set up AICleaner from its config entry."""
    # A provider whose stored key cannot be decrypted is left out with a repair issue (key_repairs);
    # the others keep working.
    runtime = await async_build_runtime(hass, entry)
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
    # The issues describe the loaded entry: a deleted or disabled entry's must not stay.
    entry.async_on_unload(lambda: async_delete_model_issues(hass))
    entry.async_on_unload(async_setup_key_checks(hass, entry))
    entry.async_on_unload(async_setup_access_checks(hass, entry))
    # Health calls and live stats for the entities; a provider that is down fails no setup.
    await runtime.coordinator.async_config_entry_first_refresh()
    runtime.coordinator.async_start()
    entry.async_on_unload(async_setup_budget_checks(hass, entry))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: AICleanerConfigEntry) -> bool:
    """Bring an entry up to date: 1.2 records when each stored API key was set."""
    if entry.version > 1:
        # A newer AICleaner wrote this entry; it cannot be read back.
        return False
    if entry.minor_version < 2:
        # Keys stored before 1.2 have no date: their age counts from this upgrade.
        now = dt_util.utcnow().isoformat()
        for subentry in entry.subentries.values():
            if (
                subentry.data.get(CONF_API_KEY)
                and CONF_API_KEY_SET_AT not in subentry.data
            ):
                hass.config_entries.async_update_subentry(
                    entry, subentry, data={**subentry.data, CONF_API_KEY_SET_AT: now}
                )
        hass.config_entries.async_update_entry(entry, minor_version=2)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: AICleanerConfigEntry) -> bool:
    """Unload the entry; the ledger is written before the router goes.

    Requests in flight end first (within a bound; then they are cancelled, which books their
    reserved cost): their spend is in the router before the last save, so a reload, a disable or
    a delete never loses it.
    """
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    runtime = entry.runtime_data
    await runtime.inflight.async_close()
    await runtime.ledger.async_close()
    return unloaded


async def _async_update_listener(
    hass: HomeAssistant, entry: AICleanerConfigEntry
) -> None:
    """Apply new router settings or provider subentries without a reload."""
    rekeyed = async_apply_entry_update(hass, entry)
    await async_check_models(hass, entry)
    async_check_keys(hass, entry)
    async_update_provider_devices(hass, entry)
    # A provider with a new key starts afresh: its auth failures were the old key's.
    await entry.runtime_data.coordinator.async_sync_providers(fresh=rekeyed)
