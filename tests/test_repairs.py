"""Key repair issues (rejected, unreadable, due for rotation) and their fix flow, against the simulator."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.aicleaner.const import (
    CONF_API_KEY_SET_AT,
    CONF_BASE_URL,
    CONF_KEY_ROTATION_REMINDER,
    CONF_MODEL,
    CONF_SELECTION_STRATEGY,
    DOMAIN,
)
from custom_components.aicleaner.credentials import async_get_vault
from custom_components.aicleaner.key_repairs import (
    REJECTED,
    ROTATION,
    UNREADABLE,
    issue_id,
)
from custom_components.aicleaner.router.errors import AllProvidersFailed
from custom_components.aicleaner.router.models import AIRequest
from tests.simulator import SimulatorServer

LOST_TOKEN = "gAAAAAB-from-a-lost-vault"


async def _entry(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    *,
    openai_key: str | None = "sk-good",
    gemini_key: str | None = "g-good",
    set_days_ago: float = 1,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Set up OpenAI then Gemini (priority order); a key of None stores an unreadable token."""
    vault = await async_get_vault(hass)
    set_at = (dt_util.utcnow() - timedelta(days=set_days_ago)).isoformat()

    def token(key: str | None) -> str:
        return LOST_TOKEN if key is None else vault.encrypt(key)

    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AICleaner",
        minor_version=2,
        options={CONF_SELECTION_STRATEGY: "priority", **(options or {})},
        subentries_data=[
            {
                "subentry_type": "openai",
                "title": "OpenAI",
                "unique_id": None,
                "data": {
                    CONF_API_KEY: token(openai_key),
                    CONF_API_KEY_SET_AT: set_at,
                    CONF_BASE_URL: simulator.provider_url("openai"),
                    CONF_MODEL: "gpt-4o-mini",
                    "priority": 1,
                },
            },
            {
                "subentry_type": "gemini",
                "title": "Gemini",
                "unique_id": None,
                "data": {
                    CONF_API_KEY: token(gemini_key),
                    CONF_API_KEY_SET_AT: set_at,
                    CONF_BASE_URL: simulator.provider_url("gemini"),
                    CONF_MODEL: "gemini-2.5-flash",
                    "priority": 2,
                },
            },
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def _ids(entry: MockConfigEntry) -> dict[str, str]:
    return {sub.title: sid for sid, sub in entry.subentries.items()}


def _issue(hass: HomeAssistant, kind: str, subentry_id: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, issue_id(kind, subentry_id))


def _key_issues(hass: HomeAssistant) -> set[str]:
    return {
        existing
        for domain, existing in ir.async_get(hass).issues
        if domain == DOMAIN and existing.startswith("key_")
    }


class FixFlow:
    """Drive a repair fix flow through the frontend's HTTP API."""

    def __init__(self, client: Any) -> None:
        self._client = client

    async def start(self, issue: str) -> dict[str, Any]:
        response = await self._client.post(
            "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue}
        )
        assert response.status == HTTPStatus.OK, await response.text()
        return dict(await response.json())

    async def submit(self, flow_id: str, data: dict[str, Any]) -> dict[str, Any]:
        response = await self._client.post(
            f"/api/repairs/issues/fix/{flow_id}", json=data
        )
        assert response.status == HTTPStatus.OK, await response.text()
        return dict(await response.json())


@pytest.fixture
async def fix_flow(hass: HomeAssistant, hass_client: ClientSessionGenerator) -> FixFlow:
    assert await async_setup_component(hass, "repairs", {})
    return FixFlow(await hass_client())


# --- a rejected key ------------------------------------------------------------------------------


async def test_a_rejected_key_raises_a_fixable_issue_and_the_fix_reopens_the_provider(
    hass: HomeAssistant, simulator: SimulatorServer, fix_flow: FixFlow
) -> None:
    entry = await _entry(hass, simulator, openai_key="bad-key")
    ids = _ids(entry)
    router = entry.runtime_data.router
    assert _issue(hass, REJECTED, ids["OpenAI"]) is None

    # OpenAI refuses the key; Gemini answers: the request succeeds, the refusal is still seen.
    answer = await router.process(AIRequest(prompt="hello", use_cache=False))
    assert answer.provider == ids["Gemini"]
    issue = _issue(hass, REJECTED, ids["OpenAI"])
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders == {"name": "OpenAI"}
    assert _issue(hass, REJECTED, ids["Gemini"]) is None
    assert router.provider_stats(ids["OpenAI"]).breaker_auth_failed

    result = await fix_flow.start(issue_id(REJECTED, ids["OpenAI"]))
    assert result["step_id"] == "key"
    assert result["description_placeholders"] == {"name": "OpenAI"}
    result = await fix_flow.submit(result["flow_id"], {CONF_API_KEY: "sk-rotated"})
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()

    # Stored encrypted, breaker closed, same router: no reload.
    vault = await async_get_vault(hass)
    data = entry.subentries[ids["OpenAI"]].data
    assert vault.decrypt(data[CONF_API_KEY]) == "sk-rotated"
    assert "sk-rotated" not in str(data)
    assert entry.runtime_data.router is router
    assert not router.provider_stats(ids["OpenAI"]).breaker_auth_failed
    assert _issue(hass, REJECTED, ids["OpenAI"]) is None
    answer = await router.process(AIRequest(prompt="hello", use_cache=False))
    assert answer.provider == ids["OpenAI"]
    sent = simulator.sim.last_request("openai")
    assert sent.headers["Authorization"] == "Bearer sk-rotated"


async def test_the_rejected_key_issue_goes_when_the_key_is_changed_elsewhere(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator, openai_key="bad-key")
    ids = _ids(entry)
    await entry.runtime_data.router.process(AIRequest(prompt="hi", use_cache=False))
    assert _issue(hass, REJECTED, ids["OpenAI"]) is not None

    # Rotated through the provider's reconfigure step instead of the repair.
    vault = await async_get_vault(hass)
    subentry = entry.subentries[ids["OpenAI"]]
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, **vault.key_data("sk-ok")}
    )
    await hass.async_block_till_done()
    assert _issue(hass, REJECTED, ids["OpenAI"]) is None


async def test_a_fix_with_another_rejected_key_shows_invalid_auth_and_keeps_what_was_typed(
    hass: HomeAssistant, simulator: SimulatorServer, fix_flow: FixFlow
) -> None:
    entry = await _entry(hass, simulator, openai_key="bad-key", gemini_key="bad-too")
    ids = _ids(entry)
    with pytest.raises(AllProvidersFailed):
        await entry.runtime_data.router.process(AIRequest(prompt="hi"))
    assert _key_issues(hass) == {
        issue_id(REJECTED, ids["OpenAI"]),
        issue_id(REJECTED, ids["Gemini"]),
    }
    before = dict(entry.subentries[ids["Gemini"]].data)

    result = await fix_flow.start(issue_id(REJECTED, ids["Gemini"]))
    result = await fix_flow.submit(result["flow_id"], {CONF_API_KEY: "bad-again"})
    assert result["type"] == "form"
    assert result["errors"] == {"base": "invalid_auth"}
    field = next(f for f in result["data_schema"] if f["name"] == CONF_API_KEY)
    assert field["description"] == {"suggested_value": "bad-again"}

    result = await fix_flow.submit(result["flow_id"], {CONF_API_KEY: "  "})
    assert result["errors"] == {CONF_API_KEY: "key_required"}
    assert dict(entry.subentries[ids["Gemini"]].data) == before
    assert _issue(hass, REJECTED, ids["Gemini"]) is not None


async def test_a_fix_reports_an_unreachable_provider(
    hass: HomeAssistant, simulator: SimulatorServer, fix_flow: FixFlow
) -> None:
    entry = await _entry(hass, simulator, openai_key="bad-key")
    ids = _ids(entry)
    await entry.runtime_data.router.process(AIRequest(prompt="hi"))
    from tests.simulator import Fault

    simulator.sim.set_fault("openai", Fault(kind="reset"))
    result = await fix_flow.start(issue_id(REJECTED, ids["OpenAI"]))
    result = await fix_flow.submit(result["flow_id"], {CONF_API_KEY: "sk-new"})
    assert result["errors"] == {"base": "cannot_connect"}


async def test_a_fix_never_sends_the_key_over_plain_http_to_a_public_host(
    hass: HomeAssistant, simulator: SimulatorServer, fix_flow: FixFlow
) -> None:
    entry = await _entry(hass, simulator, openai_key=None)
    ids = _ids(entry)
    subentry = entry.subentries[ids["OpenAI"]]
    hass.config_entries.async_update_subentry(
        entry,
        subentry,
        data={**subentry.data, CONF_BASE_URL: "http://gateway.example.com/v1"},
    )
    await hass.async_block_till_done()
    calls = simulator.sim.request_count("openai")
    result = await fix_flow.start(issue_id(UNREADABLE, ids["OpenAI"]))
    result = await fix_flow.submit(result["flow_id"], {CONF_API_KEY: "sk-new"})
    assert result["errors"] == {"base": "key_in_clear"}
    assert simulator.sim.request_count("openai") == calls


async def test_a_fix_for_a_deleted_provider_aborts(
    hass: HomeAssistant, simulator: SimulatorServer, fix_flow: FixFlow
) -> None:
    entry = await _entry(hass, simulator, openai_key=None)
    ids = _ids(entry)
    result = await fix_flow.start(issue_id(UNREADABLE, ids["OpenAI"]))
    hass.config_entries.async_remove_subentry(entry, ids["OpenAI"])
    await hass.async_block_till_done()
    result = await fix_flow.submit(result["flow_id"], {CONF_API_KEY: "sk-new"})
    assert result["type"] == "abort"
    assert result["reason"] == "provider_gone"
    # The issue went with the provider.
    assert _key_issues(hass) == set()


# --- an unreadable key ---------------------------------------------------------------------------


async def test_an_unreadable_key_leaves_out_only_its_provider_until_the_key_is_entered(
    hass: HomeAssistant, simulator: SimulatorServer, fix_flow: FixFlow
) -> None:
    entry = await _entry(hass, simulator, openai_key=None)
    ids = _ids(entry)
    assert entry.state is ConfigEntryState.LOADED
    router = entry.runtime_data.router
    assert router.provider_names == (ids["Gemini"],)
    answer = await router.process(AIRequest(prompt="hello", use_cache=False))
    assert answer.provider == ids["Gemini"]
    assert _key_issues(hass) == {issue_id(UNREADABLE, ids["OpenAI"])}
    issue = _issue(hass, UNREADABLE, ids["OpenAI"])
    assert issue is not None
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {"name": "OpenAI"}

    result = await fix_flow.start(issue_id(UNREADABLE, ids["OpenAI"]))
    result = await fix_flow.submit(result["flow_id"], {CONF_API_KEY: "bad-key"})
    assert result["errors"] == {"base": "invalid_auth"}
    result = await fix_flow.submit(result["flow_id"], {CONF_API_KEY: "sk-again"})
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()

    assert entry.runtime_data.router is router
    assert set(router.provider_names) == {ids["OpenAI"], ids["Gemini"]}
    answer = await router.process(AIRequest(prompt="hello", use_cache=False))
    assert answer.provider == ids["OpenAI"]
    assert _key_issues(hass) == set()


# --- rotation reminder ---------------------------------------------------------------------------


async def test_a_key_90_days_old_gets_a_rotation_reminder_and_a_young_one_does_not(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator, set_days_ago=91)
    ids = _ids(entry)
    issue = _issue(hass, ROTATION, ids["OpenAI"])
    assert issue is not None
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["days"] == "91"
    assert issue.translation_placeholders["name"] == "OpenAI"

    # Turning the reminder off in the options removes the issues.
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_KEY_ROTATION_REMINDER: False}
    )
    await hass.async_block_till_done()
    assert _key_issues(hass) == set()


async def test_a_key_turning_90_days_old_gets_its_reminder_without_a_restart(
    hass: HomeAssistant, simulator: SimulatorServer, freezer: FrozenDateTimeFactory
) -> None:
    entry = await _entry(hass, simulator, set_days_ago=89.8)
    ids = _ids(entry)
    assert _key_issues(hass) == set()
    freezer.tick(timedelta(hours=12))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert _issue(hass, ROTATION, ids["OpenAI"]) is not None


async def test_rotating_through_the_fix_flow_needs_a_new_key_and_clears_the_reminder(
    hass: HomeAssistant, simulator: SimulatorServer, fix_flow: FixFlow
) -> None:
    entry = await _entry(hass, simulator, set_days_ago=120)
    ids = _ids(entry)
    result = await fix_flow.start(issue_id(ROTATION, ids["Gemini"]))
    # A fixable issue shows only its fix flow's step: the step says how old the key is.
    assert result["description_placeholders"]["name"] == "Gemini"
    assert result["description_placeholders"]["days"] == "120"
    assert result["description_placeholders"]["date"]
    result = await fix_flow.submit(result["flow_id"], {CONF_API_KEY: "g-good"})
    assert result["errors"] == {CONF_API_KEY: "key_unchanged"}
    result = await fix_flow.submit(result["flow_id"], {CONF_API_KEY: "g-new"})
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    data = entry.subentries[ids["Gemini"]].data
    set_at = dt_util.parse_datetime(data[CONF_API_KEY_SET_AT])
    assert set_at is not None
    assert dt_util.utcnow() - set_at < timedelta(minutes=1)
    assert _key_issues(hass) == {issue_id(ROTATION, ids["OpenAI"])}


async def test_keys_stored_before_1_2_get_a_date_when_the_entry_is_migrated(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    vault = await async_get_vault(hass)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AICleaner",
        minor_version=1,
        subentries_data=[
            {
                "subentry_type": "openai",
                "title": "OpenAI",
                "unique_id": None,
                "data": {
                    CONF_API_KEY: vault.encrypt("sk-1"),
                    CONF_BASE_URL: simulator.provider_url("openai"),
                    CONF_MODEL: "gpt-4o-mini",
                },
            },
            {
                "subentry_type": "ollama",
                "title": "Ollama",
                "unique_id": None,
                "data": {
                    CONF_BASE_URL: simulator.provider_url("ollama"),
                    CONF_MODEL: "llava",
                },
            },
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.minor_version == 2
    by_title = {sub.title: sub.data for sub in entry.subentries.values()}
    assert CONF_API_KEY_SET_AT in by_title["OpenAI"]
    assert CONF_API_KEY_SET_AT not in by_title["Ollama"]
    assert _key_issues(hass) == set()


async def test_unloading_the_entry_removes_its_key_issues(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator, openai_key=None, set_days_ago=100)
    assert len(_key_issues(hass)) == 2
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert _key_issues(hass) == set()
