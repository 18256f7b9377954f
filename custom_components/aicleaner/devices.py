"""The device registry id of a provider's device (or the router's), for events tied to it."""

from __future__ import annotations

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr

from .const import DOMAIN


@callback
def async_device_id(hass: HomeAssistant, entry_id: str, key: str) -> str | None:
    """Return the id of the device of provider `key` (a subentry id) or of the router (entry id)."""
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, key), entry_id)
    return None if device is None else device.id
