"""Which of an entry's subentries are providers: the others (Assist agents) are never routed to."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry, ConfigSubentry

from .providers import PROVIDER_CLASSES


def provider_subentries(entry: ConfigEntry) -> dict[str, ConfigSubentry]:
    """Return the entry's provider subentries by id (a provider's subentry type is its kind)."""
    return {
        subentry_id: subentry
        for subentry_id, subentry in entry.subentries.items()
        if subentry.subentry_type in PROVIDER_CLASSES
    }
