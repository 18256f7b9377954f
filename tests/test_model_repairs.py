"""Repair issues for providers whose model was shut down."""

from __future__ import annotations

from datetime import datetime
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.aicleaner.const import CONF_MODEL, DOMAIN
from custom_components.aicleaner.model_repairs import async_check_models, issue_id


def _entry(hass: HomeAssistant, models: dict[str, str]) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AICleaner",
        subentries_data=[
            {
                "subentry_type": "anthropic" if m.startswith("claude") else "openai",
                "title": title,
                "unique_id": None,
                "data": {CONF_MODEL: m},
            }
            for title, m in models.items()
        ],
    )
    entry.add_to_hass(hass)
    return entry


def _ids(entry: MockConfigEntry) -> dict[str, str]:
    return {s.title: s.subentry_id for s in entry.subentries.values()}


def _on(day: str):
    return patch(
        "custom_components.aicleaner.model_repairs.dt_util.now",
        return_value=datetime.fromisoformat(f"{day}T12:00:00").replace(
            tzinfo=dt_util.get_default_time_zone()
        ),
    )


async def test_a_provider_on_a_retired_model_gets_an_issue_asking_for_a_new_one(
    hass: HomeAssistant,
) -> None:
    entry = _entry(hass, {"Old": "o4-mini", "Current": "gpt-5.4-mini"})
    ids = _ids(entry)
    with _on("2026-12-01"):
        await async_check_models(hass, entry)
    registry = ir.async_get(hass)
    issue = registry.async_get_issue(DOMAIN, issue_id(ids["Old"]))
    assert issue is not None
    assert issue.translation_key == "retired_model"
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {
        "name": "Old",
        "model": "o4-mini",
        "date": "2026-10-23",
    }
    assert registry.async_get_issue(DOMAIN, issue_id(ids["Current"])) is None


async def test_the_issue_appears_on_the_shutdown_day_and_goes_when_the_model_changes(
    hass: HomeAssistant,
) -> None:
    entry = _entry(hass, {"Five": "gpt-5-mini-2025-08-07"})
    subentry_id = _ids(entry)["Five"]
    registry = ir.async_get(hass)
    with _on("2026-12-10"):
        await async_check_models(hass, entry)
    assert registry.async_get_issue(DOMAIN, issue_id(subentry_id)) is None
    with _on("2026-12-11"):
        await async_check_models(hass, entry)
    assert registry.async_get_issue(DOMAIN, issue_id(subentry_id)) is not None
    subentry = entry.subentries[subentry_id]
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, CONF_MODEL: "gpt-5.4-mini"}
    )
    with _on("2026-12-11"):
        await async_check_models(hass, entry)
    assert registry.async_get_issue(DOMAIN, issue_id(subentry_id)) is None


async def test_a_removed_provider_loses_its_issue(hass: HomeAssistant) -> None:
    entry = _entry(hass, {"Claude": "claude-3-5-haiku-20241022"})
    subentry_id = _ids(entry)["Claude"]
    registry = ir.async_get(hass)
    with _on("2026-12-01"):
        await async_check_models(hass, entry)
    assert registry.async_get_issue(DOMAIN, issue_id(subentry_id)) is not None
    hass.config_entries.async_remove_subentry(entry, subentry_id)
    await async_check_models(hass, entry)
    assert registry.async_get_issue(DOMAIN, issue_id(subentry_id)) is None


async def test_two_providers_on_retired_models_get_one_issue_each(
    hass: HomeAssistant,
) -> None:
    entry = _entry(hass, {"A": "o1", "B": "claude-opus-4-1"})
    with _on("2026-12-01"):
        await async_check_models(hass, entry)
    registry = ir.async_get(hass)
    for subentry_id in _ids(entry).values():
        assert registry.async_get_issue(DOMAIN, issue_id(subentry_id)) is not None
