"""Tests for API key encryption at rest."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import patch

from cryptography.fernet import Fernet
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
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


async def test_data_key_is_saved_in_a_private_store_and_is_the_one_in_use(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    with patch(
        "custom_components.aicleaner.credentials.Store", wraps=Store
    ) as store_class:
        vault = await async_get_vault(hass)
    # private=True: HA writes the file readable by its own user only.
    assert store_class.call_args.kwargs["private"] is True
    key = hass_storage[STORAGE_KEY]["data"]["key"]
    # After a restart the same key is loaded, so today's tokens stay readable.
    assert Fernet(key.encode()).decrypt(vault.encrypt("k").encode()) == b"k"


async def test_token_from_another_installation_is_refused(hass: HomeAssistant) -> None:
    vault = await async_get_vault(hass)
    with pytest.raises(CredentialError) as err:
        vault.decrypt("gAAAAABnot-a-token-of-this-vault")
    assert err.value.translation_key == "credential_unreadable"


def test_fingerprint_is_short_stable_and_hides_the_key() -> None:
    assert fingerprint("sk-abc") == fingerprint("sk-abc")
    assert fingerprint("sk-abc") != fingerprint("sk-abd")
    assert len(fingerprint("sk-abc")) == 12


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
    assert entry.reason == (
        "A stored API key cannot be decrypted. Reconfigure the provider and enter its key again"
    )
