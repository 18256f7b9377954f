"""Repair issues for provider subentries whose model its provider has shut down.

`async_check_models` runs when the entry is set up and whenever its subentries change: a subentry
whose model is retired (`providers.catalog.RETIRED_MODELS`) gets an issue asking for a new model; one
whose model is current, or that is gone, loses its issue. Issue ids carry the subentry id, so a rename
keeps the issue and two providers on the same retired model get one issue each.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .const import CONF_MODEL, DOMAIN
from .providers.catalog import is_retired, retirement_date

ISSUE_PREFIX: Final = "retired_model_"


def issue_id(subentry_id: str) -> str:
    """Return the repair issue id of one provider subentry."""
    return f"{ISSUE_PREFIX}{subentry_id}"


@callback
def _check(hass: HomeAssistant, entry: ConfigEntry) -> None:
    today = dt_util.now().date()
    wanted: set[str] = set()
    for subentry_id, subentry in entry.subentries.items():
        model = str(subentry.data.get(CONF_MODEL) or "")
        if not model or not is_retired(model, today):
            continue
        wanted.add(issue_id(subentry_id))
        day = retirement_date(model)
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id(subentry_id),
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key="retired_model",
            translation_placeholders={
                "name": subentry.title,
                "model": model,
                "date": day.isoformat() if day else "",
            },
        )
    async_delete_model_issues(hass, keep=wanted)


@callback
def async_delete_model_issues(hass: HomeAssistant, keep: Collection[str] = ()) -> None:
    """Delete the retired-model issues but `keep`; at unload all go (setup checks again)."""
    for domain, existing in list(ir.async_get(hass).issues):
        if (
            domain == DOMAIN
            and existing.startswith(ISSUE_PREFIX)
            and existing not in keep
        ):
            ir.async_delete_issue(hass, DOMAIN, existing)


async def async_check_models(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Create a repair issue for each provider on a retired model; drop the issues now resolved."""
    _check(hass, entry)
