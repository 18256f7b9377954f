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
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.aicleaner.const import CONF_MODEL, DOMAIN
from custom_components.aicleaner.credentials import (
    STORAGE_KEY,
    CredentialError,
    CredentialVault,
    async_get_vault,
    fingerprint,
    key_set_at,
    sends_key_in_clear,
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


async def test_an_unreadable_key_leaves_out_its_provider_and_the_entry_loads(
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
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.router.provider_names == ()
    assert entry.runtime_data.unreadable_keys == frozenset(entry.subentries)


def test_vault_key_data_records_when_the_key_was_set() -> None:
    vault = CredentialVault(Fernet(Fernet.generate_key()))
    before = dt_util.utcnow()
    data = vault.key_data("sk-new")
    assert vault.decrypt(data[CONF_API_KEY]) == "sk-new"
    assert "sk-new" not in str(data)
    set_at = key_set_at(data)
    assert set_at is not None
    assert before <= set_at <= dt_util.utcnow()
    assert key_set_at({}) is None


@pytest.mark.parametrize(
    ("url", "in_clear"),
    [
        ("http://api.example.com/v1", True),
        ("http://93.184.216.34:8080/v1", True),
        ("https://api.example.com/v1", False),
        ("http://192.168.1.20:8080/v1", False),
        ("http://localai:8080/v1", False),
        ("http://nas.local:11434", False),
        ("http://127.0.0.1:9000/v1", False),
        (None, False),
    ],
)
def test_a_key_travels_in_clear_only_over_http_to_a_public_host(
    url: str | None, in_clear: bool
) -> None:
    assert sends_key_in_clear(url) is in_clear
