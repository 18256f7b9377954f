"""Options flow: every router setting, and routing rules, applied to the running router without a reload."""

from __future__ import annotations

from typing import Any

from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.aicleaner.const import (
    CONF_BASE_URL,
    CONF_BATCH_SIZE,
    CONF_CACHE_TTL,
    CONF_GLOBAL_DAILY_BUDGET,
    CONF_HEALTH_CHECK_INTERVAL,
    CONF_KEY_ROTATION_REMINDER,
    CONF_LATENCY_CRITICAL,
    CONF_LATENCY_WARNING,
    CONF_MODEL,
    CONF_PRIORITY,
    CONF_REQUEST_TIMEOUT,
    CONF_ROUTING_RULES,
    CONF_SELECTION_STRATEGY,
    DOMAIN,
)
from custom_components.aicleaner.credentials import async_get_vault
from custom_components.aicleaner.router import RoutingRule
from custom_components.aicleaner.router.errors import AllProvidersFailed
from custom_components.aicleaner.router.models import AIRequest
from tests.simulator import SimulatorServer
from tests.test_config_flow import _suggested

SETTINGS = {
    CONF_SELECTION_STRATEGY: "priority",
    CONF_CACHE_TTL: 0,
    CONF_BATCH_SIZE: 4,
    CONF_REQUEST_TIMEOUT: 45,
    CONF_GLOBAL_DAILY_BUDGET: 2.5,
    CONF_HEALTH_CHECK_INTERVAL: 600,
    CONF_LATENCY_WARNING: 3.0,
    CONF_LATENCY_CRITICAL: 8.0,
    CONF_KEY_ROTATION_REMINDER: False,
}


async def _entry(
    hass: HomeAssistant,
    simulator: SimulatorServer | None = None,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """The router entry, with OpenAI (priority 1) and Gemini (priority 2) when a simulator is given."""
    vault = await async_get_vault(hass)
    subentries = (
        []
        if simulator is None
        else [
            {
                "subentry_type": kind,
                "title": title,
                "unique_id": None,
                "data": {
                    CONF_API_KEY: vault.encrypt("sk-1"),
                    CONF_BASE_URL: simulator.provider_url(kind),
                    CONF_MODEL: model,
                    CONF_PRIORITY: priority,
                },
            }
            for kind, title, model, priority in (
                ("openai", "OpenAI", "gpt-4o-mini", 1),
                ("gemini", "Gemini", "gemini-2.5-flash", 2),
            )
        ]
    )
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AICleaner",
        minor_version=2,
        options={CONF_SELECTION_STRATEGY: "priority", **(options or {})},
        subentries_data=subentries,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def _ids(entry: MockConfigEntry) -> dict[str, str]:
    return {sub.title: sid for sid, sub in entry.subentries.items()}


async def _open(hass: HomeAssistant, entry: MockConfigEntry, step: str) -> dict:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )


# --- router settings -----------------------------------------------------------------------------


async def test_every_router_setting_is_saved_and_used_by_the_running_router(
    hass: HomeAssistant,
) -> None:
    entry = await _entry(hass)
    router = entry.runtime_data.router
    result = await _open(hass, entry, "settings")
    assert result["step_id"] == "settings"
    assert set(SETTINGS) <= {str(key) for key in result["data_schema"].schema}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], SETTINGS
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == SETTINGS
    assert entry.runtime_data.router is router
    assert router.config.request_timeout == 45
    assert router.config.global_daily_budget == 2.5
    assert router.snapshot().global_daily_budget == 2.5


async def test_the_settings_form_shows_the_current_values_and_sensible_defaults(
    hass: HomeAssistant,
) -> None:
    entry = await _entry(hass, options={**SETTINGS, CONF_GLOBAL_DAILY_BUDGET: None})
    result = await _open(hass, entry, "settings")
    suggested = _suggested(result)
    assert suggested[CONF_REQUEST_TIMEOUT] == 45
    # No budget is an empty field, not a None the number box cannot show.
    assert CONF_GLOBAL_DAILY_BUDGET not in suggested

    entry2_defaults = {
        str(key): key.default()
        for key in result["data_schema"].schema
        if callable(getattr(key, "default", None))
    }
    assert entry2_defaults[CONF_REQUEST_TIMEOUT] == 120
    assert entry2_defaults[CONF_HEALTH_CHECK_INTERVAL] == 300
    assert entry2_defaults[CONF_KEY_ROTATION_REMINDER] is True


async def test_an_emptied_global_budget_means_no_global_budget(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator, options={CONF_GLOBAL_DAILY_BUDGET: 0.0})
    router = entry.runtime_data.router
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="hi", use_cache=False))

    result = await _open(hass, entry, "settings")
    settings = {k: v for k, v in SETTINGS.items() if k != CONF_GLOBAL_DAILY_BUDGET}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], settings
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_GLOBAL_DAILY_BUDGET] is None
    answer = await router.process(AIRequest(prompt="hi", use_cache=False))
    assert answer.cost > 0


async def test_the_request_timeout_applies_to_the_next_request(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    from tests.simulator import Fault

    entry = await _entry(hass, simulator)
    router = entry.runtime_data.router
    result = await _open(hass, entry, "settings")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**SETTINGS, CONF_REQUEST_TIMEOUT: 1}
    )
    await hass.async_block_till_done()
    # Each answer would take 10 s (the simulator drops it once the client has left): the 1 s
    # request timeout ends the request long before, the default (120 s) would not.
    for kind in ("openai", "gemini"):
        simulator.sim.set_fault(
            kind, Fault(kind="latency", latency=10.0, endpoint="generate")
        )
    loop = hass.loop
    started = loop.time()
    with pytest.raises(AllProvidersFailed):
        await router.process(AIRequest(prompt="slow", use_cache=False))
    assert loop.time() - started < 4.0


async def test_the_alert_time_must_be_above_the_warning_time_and_the_form_keeps_the_input(
    hass: HomeAssistant,
) -> None:
    entry = await _entry(hass)
    result = await _open(hass, entry, "settings")
    typed = {**SETTINGS, CONF_LATENCY_WARNING: 8.0, CONF_LATENCY_CRITICAL: 8.0}
    result = await hass.config_entries.options.async_configure(result["flow_id"], typed)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_LATENCY_CRITICAL: "latency_order"}
    assert _suggested(result) == typed
    assert CONF_LATENCY_WARNING not in entry.options


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (CONF_REQUEST_TIMEOUT, 0),
        (CONF_GLOBAL_DAILY_BUDGET, -1),
        (CONF_HEALTH_CHECK_INTERVAL, 5),
        (CONF_LATENCY_WARNING, 0),
    ],
)
async def test_router_settings_out_of_range_are_refused(
    hass: HomeAssistant, field: str, value: float
) -> None:
    entry = await _entry(hass)
    result = await _open(hass, entry, "settings")
    with pytest.raises(InvalidData) as err:
        await hass.config_entries.options.async_configure(
            result["flow_id"], {**SETTINGS, field: value}
        )
    assert field in err.value.schema_errors


# --- routing rules -------------------------------------------------------------------------------


async def test_a_rule_added_in_the_options_puts_its_providers_first_without_a_reload(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator)
    ids = _ids(entry)
    router = entry.runtime_data.router
    result = await _open(hass, entry, "add_rule")
    assert result["step_id"] == "rule"
    # The form shows titles; the rule stores subentry ids.
    providers = next(
        value
        for key, value in result["data_schema"].schema.items()
        if key == "providers"
    )
    assert providers.config["options"] == [
        {"value": ids["OpenAI"], "label": "OpenAI"},
        {"value": ids["Gemini"], "label": "Gemini"},
    ]
    # The rule form has no tag field: a rule on images has no tag (issue 20).
    assert "tag" not in {str(key) for key in result["data_schema"].schema}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"condition": "tag", "providers": [ids["Gemini"], ids["OpenAI"]]},
    )
    # A rule on a tag asks for it on a step of its own.
    assert result["step_id"] == "rule_tag"
    assert {str(key) for key in result["data_schema"].schema} == {"tag"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"tag": " garden "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_ROUTING_RULES] == [
        {
            "condition": "garden",
            "providers": [ids["Gemini"], ids["OpenAI"]],
            "priority": 1,
            "enabled": True,
        }
    ]
    assert entry.runtime_data.router is router
    assert router.config.routing_rules == (
        RoutingRule(condition="garden", providers=(ids["Gemini"], ids["OpenAI"])),
    )
    tagged = await router.process(
        AIRequest(prompt="hi", tags=frozenset({"garden"}), use_cache=False)
    )
    assert tagged.provider == ids["Gemini"]
    plain = await router.process(AIRequest(prompt="hi", use_cache=False))
    assert plain.provider == ids["OpenAI"]


async def test_a_rule_is_changed_then_deleted(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator)
    ids = _ids(entry)
    rule = {
        "condition": "text",
        "providers": [ids["Gemini"]],
        "priority": 1,
        "enabled": True,
    }
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_ROUTING_RULES: [rule]}
    )
    await hass.async_block_till_done()
    router = entry.runtime_data.router
    assert (await router.process(AIRequest(prompt="a"))).provider == ids["Gemini"]

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["menu_options"] == ["settings", "add_rule", "pick_rule"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "pick_rule"}
    )
    options = next(iter(result["data_schema"].schema.values())).config["options"]
    assert options == [{"value": "0", "label": "Requests without images → Gemini"}]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"rule": "0"}
    )
    assert result["step_id"] == "rule"
    assert _suggested(result) == rule
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**rule, "enabled": False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_ROUTING_RULES] == [{**rule, "enabled": False}]
    assert (await router.process(AIRequest(prompt="b"))).provider == ids["OpenAI"]

    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "pick_rule"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"rule": "0"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**rule, "delete": True}
    )
    await hass.async_block_till_done()
    assert entry.options[CONF_ROUTING_RULES] == []
    assert router.config.routing_rules == ()


async def test_a_rule_needs_a_condition_providers_and_a_condition_of_its_own(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator)
    ids = _ids(entry)
    hass.config_entries.async_update_entry(
        entry,
        options={
            **entry.options,
            CONF_ROUTING_RULES: [
                {"condition": "image_analysis", "providers": [ids["OpenAI"]]}
            ],
        },
    )
    await hass.async_block_till_done()
    result = await _open(hass, entry, "add_rule")
    for typed, errors in (
        (
            {"condition": "tag", "providers": []},
            {"providers": "providers_required"},
        ),
        (
            {"condition": "image_analysis", "providers": [ids["Gemini"]]},
            {"condition": "condition_exists"},
        ),
    ):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], typed
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == errors
        # What was typed stays.
        assert _suggested(result)["condition"] == typed["condition"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"condition": "tag", "providers": [ids["Gemini"]]}
    )
    assert result["step_id"] == "rule_tag"
    for tag, error in (
        ("  ", "condition_required"),
        ("image_analysis", "condition_exists"),
    ):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"tag": tag}
        )
        assert result["errors"] == {"tag": error}
    assert len(entry.options[CONF_ROUTING_RULES]) == 1


async def test_a_rule_cannot_be_added_before_any_provider(hass: HomeAssistant) -> None:
    entry = await _entry(hass)
    result = await _open(hass, entry, "add_rule")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_providers"


async def test_a_tag_rule_is_edited_with_its_tag_shown_on_its_own_step(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator)
    ids = _ids(entry)
    rule = {
        "condition": "garden",
        "providers": [ids["Gemini"]],
        "priority": 2,
        "enabled": True,
    }
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_ROUTING_RULES: [rule]}
    )
    await hass.async_block_till_done()
    result = await _open(hass, entry, "pick_rule")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"rule": "0"}
    )
    assert _suggested(result) == {**rule, "condition": "tag"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**rule, "condition": "tag", "providers": [ids["OpenAI"]]}
    )
    assert result["step_id"] == "rule_tag"
    # Its own tag is no clash with another rule.
    assert _suggested(result) == {"tag": "garden"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"tag": "garden"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_ROUTING_RULES] == [{**rule, "providers": [ids["OpenAI"]]}]
