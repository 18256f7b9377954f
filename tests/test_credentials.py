"""Tests for API key encryption at rest."""

from __future__ import annotations

import asyncio

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.aicleaner.const import CONF_MODEL, DOMAIN
from custom_components.aicleaner.credentials import (
    STORAGE_KEY,
    CredentialError,
    async_get_vault,
    fingerprint,
)


async def test_vault_round_trips_and_never_stores_the_plain_key(
    hass: HomeAssistant,
) -> None:
    vault = await async_get_vault(hass)
    token = vault.encrypt("sk-very-secret")
    assert "sk-very-secret" not in token
    assert vault.encrypt("sk-very-secret") != token  # Fernet tokens are salted
    assert vault.decrypt(token) == "sk-very-secret"


async def test_concurrent_first_use_makes_one_data_key(hass: HomeAssistant) -> None:
    first, second = await asyncio.gather(async_get_vault(hass), async_get_vault(hass))
    assert first is second
    token = first.encrypt("k")
    assert second.decrypt(token) == "k"


async def test_data_key_is_saved_to_a_private_store_file(
    hass: HomeAssistant, hass_storage: dict
) -> None:
    vault = await async_get_vault(hass)
    assert STORAGE_KEY in hass_storage
    token = vault.encrypt("k")
    assert hass_storage[STORAGE_KEY]["data"]["key"] not in token


async def test_token_from_another_installation_is_refused(hass: HomeAssistant) -> None:
    vault = await async_get_vault(hass)
    with pytest.raises(CredentialError) as err:
        vault.decrypt("gAAAAABnot-a-token-of-this-vault")
    assert err.value.translation_key == "credential_unreadable"


def test_fingerprint_is_short_stable_and_hides_the_key() -> None:
    assert fingerprint("sk-abc") == fingerprint("sk-abc")
    assert fingerprint("sk-abc") != fingerprint("sk-abd")
    assert len(fingerprint("sk-abc")) == 12
    assert "sk-abc" not in fingerprint("sk-abc")


async def test_entry_with_unreadable_key_fails_setup_with_a_translated_error(
    hass: HomeAssistant,
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AICleaner",
        subentries_data=[
            {
                "subentry_type": "openai",
                "title": "OpenAI",
                "unique_id": None,
                "data": {CONF_API_KEY: "gAAAAAB-garbage", CONF_MODEL: "gpt-4o-mini"},
            }
        ],
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.error_reason_translation_key == "credential_unreadable"
