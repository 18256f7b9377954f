"""AICleaner: several AI providers as one reliable service for Home Assistant."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN
from .credentials import CredentialError
from .runtime import AICleanerConfigEntry, async_apply_entry_update, async_build_runtime

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up the integration; nothing to do until the entry loads."""
    return True


async def async_setup_entry(hass: HomeAssistant, entry: AICleanerConfigEntry) -> bool:
    """Set up AICleaner from its config entry."""
    try:
        entry.runtime_data = await async_build_runtime(hass, entry)
    except CredentialError as err:
        # The data key is gone or was replaced: the stored API keys cannot be read. Retrying will
        # not help; the user reconfigures the providers with their keys.
        raise ConfigEntryError(
            translation_domain=DOMAIN, translation_key="credential_unreadable"
        ) from err
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: AICleanerConfigEntry) -> bool:
    """Unload the entry."""
    return True


async def _async_update_listener(
    hass: HomeAssistant, entry: AICleanerConfigEntry
) -> None:
    """Apply new router settings or provider subentries without a reload."""
    async_apply_entry_update(hass, entry)
