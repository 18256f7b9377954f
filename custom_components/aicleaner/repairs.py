"""Fix flows of AICleaner's repair issues: a provider's API key (see `key_repairs`).

The flow asks for the new key, tests it with the provider's free model-list call, stores it encrypted
in the provider's subentry and ends; the entry's update listener rebuilds the provider and closes its
breaker without a reload.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.selector import (
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio

from .connection_test import async_test_provider
from .const import CONF_BASE_URL, CONF_MODEL, DOMAIN
from .credentials import CredentialError, CredentialVault, async_get_vault
from .key_repairs import ROTATION

KEY_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_API_KEY): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        )
    }
)


class ProviderKeyRepairFlow(RepairsFlow):
    """Ask for a provider's new API key, test it and store it."""

    def __init__(self, issue_id: str, data: Mapping[str, Any]) -> None:
        """Remember which issue this flow fixes and the entry and subentry its data names."""
        self._issue_id = issue_id
        self._entry_id = str(data.get("entry_id"))
        self._subentry_id = str(data.get("subentry_id"))

    def _subentry(self) -> tuple[ConfigEntry, ConfigSubentry] | None:
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return None
        subentry = entry.subentries.get(self._subentry_id)
        return None if subentry is None else (entry, subentry)

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Show the key form (the issue's description says why a new key is needed)."""
        return await self.async_step_key()

    async def async_step_key(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Test the typed key; store it when the provider accepts it."""
        found = self._subentry()
        if found is None:
            return self.async_abort(reason="provider_gone")
        entry, subentry = found
        errors: dict[str, str] = {}
        if user_input is not None:
            new_key = str(user_input.get(CONF_API_KEY) or "").strip()
            vault = await async_get_vault(self.hass)
            errors = await self._async_check(vault, subentry, new_key)
            if not errors:
                self.hass.config_entries.async_update_subentry(
                    entry, subentry, data={**subentry.data, **vault.key_data(new_key)}
                )
                return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="key",
            # The typed key stays after an error, as in the provider flow.
            data_schema=self.add_suggested_values_to_schema(KEY_SCHEMA, user_input),
            errors=errors,
            # The issue's own figures (a rotation's date and age): a fixable issue shows only
            # this step's description, not the issue's.
            description_placeholders={
                **self._issue_placeholders(),
                "name": subentry.title,
            },
        )

    def _issue_placeholders(self) -> dict[str, str]:
        issue = ir.async_get(self.hass).async_get_issue(DOMAIN, self._issue_id)
        return dict(issue.translation_placeholders or {}) if issue else {}

    async def _async_check(
        self, vault: CredentialVault, subentry: ConfigSubentry, new_key: str
    ) -> dict[str, str]:
        if not new_key:
            return {CONF_API_KEY: "key_required"}
        if self._issue_id.startswith(f"{ROTATION}_") and subentry.data.get(
            CONF_API_KEY
        ):
            try:
                unchanged = vault.decrypt(subentry.data[CONF_API_KEY]) == new_key
            except CredentialError:
                unchanged = False
            if unchanged:
                # Rotating means a new key: the provider's dashboard issues one.
                return {CONF_API_KEY: "key_unchanged"}
        error, _models = await async_test_provider(
            self.hass,
            subentry.subentry_type,
            api_key=new_key,
            base_url=subentry.data.get(CONF_BASE_URL) or None,
            model=str(subentry.data.get(CONF_MODEL) or ""),
        )
        return {} if error is None else {"base": error}


async def async_create_fix_flow(
    hass: HomeAssistant,
    issue_id: str,
    data: dict[str, str | int | float | None] | None,
) -> RepairsFlow:
    """Create the fix flow of a key issue (the only fixable issues AICleaner raises)."""
    return ProviderKeyRepairFlow(issue_id, data or {})
