"""Diagnostics: what explains the router, and never a key, a key fragment or its ciphertext."""

from __future__ import annotations

import json

from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.aicleaner.const import CONF_BASE_URL
from custom_components.aicleaner.credentials import async_get_vault
from custom_components.aicleaner.diagnostics import async_get_config_entry_diagnostics
from tests import test_services
from tests.simulator import Fault, SimulatorServer
from tests.test_services import Setup, analyze

# The actions' setup fixture, shared.
setup_aicleaner = test_services.setup_aicleaner

SECRET = "sk-proj-Zq7XwV3kLm9PtR2sYb8NcD4fGh6JuE1a"


def fragments(text: str, size: int = 6) -> set[str]:
    return {text[i : i + size] for i in range(len(text) - size + 1)}


async def test_diagnostics_hold_settings_stats_breakers_and_ledger_but_no_key(
    hass: HomeAssistant, setup_aicleaner: Setup, simulator: SimulatorServer
) -> None:
    vault = await async_get_vault(hass)
    entry = await setup_aicleaner(
        ("openai", "OpenAI", {"max_retries": 0, "failure_threshold": 1}),
        ("anthropic", "Claude", {}),
        options={"global_daily_budget": 5.0},
    )
    # Store a real-looking key, and a gateway URL carrying a token, on the first provider.
    subentry = next(iter(entry.subentries.values()))
    ciphertext = vault.encrypt(SECRET)
    hass.config_entries.async_update_subentry(
        entry,
        subentry,
        data={
            **subentry.data,
            CONF_API_KEY: ciphertext,
            CONF_BASE_URL: f"{subentry.data[CONF_BASE_URL]}?token={SECRET}",
        },
    )
    await hass.async_block_till_done()
    simulator.sim.set_fault("openai", Fault(kind="status", status=500))
    await analyze(hass, prompt="hello")

    dump = await async_get_config_entry_diagnostics(hass, entry)
    text = json.dumps(dump, default=str)

    assert SECRET not in text
    assert ciphertext not in text
    leaked = {f for f in fragments(SECRET) if f in text}
    assert not leaked, leaked
    assert not {f for f in fragments(ciphertext, 12) if f in text}
    subentries = {s["title"]: s["data"] for s in dump["entry"]["subentries"]}
    assert subentries["OpenAI"][CONF_API_KEY] == "**REDACTED**"
    assert subentries["OpenAI"]["has_api_key"] is True
    assert "?" not in subentries["OpenAI"][CONF_BASE_URL]

    assert dump["router_settings"]["global_daily_budget"] == 5.0
    key = subentry.subentry_id
    # Keyed by the name people see (issue 20); the subentry id stays inside.
    assert dump["breakers"]["OpenAI"] == {
        "id": key,
        "state": "open",
        "auth_failed": False,
    }
    assert dump["snapshot"]["total_requests"] == 1
    assert dump["snapshot"]["providers"]["OpenAI"]["failures_today"] == 1
    assert dump["snapshot"]["providers"]["OpenAI"]["id"] == key
    ledger = dump["ledger_today"]
    assert ledger["global_daily_budget"] == 5.0
    assert ledger["total_cost"] > 0
    claude = next(k for k in entry.subentries if k != key)
    assert ledger["provider_costs"]["Claude"]["requests"] == 1
    assert ledger["provider_costs"]["Claude"]["id"] == claude
    assert dump["health"]["providers"]["OpenAI"]["status"] == "circuit_open"
    assert dump["health"]["providers"]["OpenAI"]["id"] == key
    assert (
        set(dump["breakers"])
        == set(dump["health"]["providers"])
        == {
            "OpenAI",
            "Claude",
        }
    )


async def test_diagnostics_keep_a_plain_base_url(
    hass: HomeAssistant, setup_aicleaner: Setup, simulator: SimulatorServer
) -> None:
    entry: MockConfigEntry = await setup_aicleaner(("ollama", "Ollama", {}))
    dump = await async_get_config_entry_diagnostics(hass, entry)
    [subentry] = dump["entry"]["subentries"]
    assert subentry["data"][CONF_BASE_URL] == f"{simulator.url}/ollama"
    assert subentry["data"]["has_api_key"] is False
