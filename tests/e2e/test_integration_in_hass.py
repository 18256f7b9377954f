"""aicleaner in a real Home Assistant process: onboarding, config flow, a loaded entry."""

from __future__ import annotations

from .hass_process import HassProcess

FLOW_PATH = "/api/config/config_entries/flow"


def test_aicleaner_is_offered_under_add_integration(hass_api: HassProcess) -> None:
    # The frontend's "Add integration" dialog lists what this websocket command returns.
    descriptions = hass_api.websocket_command({"type": "integration/descriptions"})
    aicleaner = descriptions["custom"]["integration"]["aicleaner"]
    assert aicleaner["config_flow"] is True
    assert aicleaner["integration_type"] == "service"
    assert aicleaner["name"] == "AICleaner"


def test_config_flow_creates_a_loaded_entry(hass_api: HassProcess) -> None:
    form = hass_api.request(
        "POST", FLOW_PATH, {"handler": "aicleaner", "show_advanced_options": False}
    )
    assert form["type"] == "form"
    assert form["step_id"] == "user"
    assert [field["name"] for field in form["data_schema"]] == [
        "selection_strategy",
        "cache_ttl",
        "batch_size",
    ]

    result = hass_api.request(
        "POST",
        f"{FLOW_PATH}/{form['flow_id']}",
        {"selection_strategy": "priority", "cache_ttl": 120, "batch_size": 4},
    )
    assert result["type"] == "create_entry", result
    assert result["result"]["state"] == "loaded"

    entries = hass_api.request(
        "GET", "/api/config/config_entries/entry?domain=aicleaner"
    )
    assert [(e["domain"], e["state"], e["title"]) for e in entries] == [
        ("aicleaner", "loaded", "AICleaner")
    ]


def test_second_config_flow_aborts(hass_api: HassProcess) -> None:
    # Independent of test order: make sure the one allowed entry exists.
    if not hass_api.request("GET", "/api/config/config_entries/entry?domain=aicleaner"):
        form = hass_api.request("POST", FLOW_PATH, {"handler": "aicleaner"})
        hass_api.request("POST", f"{FLOW_PATH}/{form['flow_id']}", {})
    result = hass_api.request(
        "POST", FLOW_PATH, {"handler": "aicleaner", "show_advanced_options": False}
    )
    assert result["type"] == "abort"
    assert result["reason"] == "single_instance_allowed"
