"""The demo's Assist agent, set up by scripts/develop.py.

An agent over the simulated providers, made the default Assist pipeline's agent, kitchen lights to
control, and simulated models that turn them on. Run at every start of scripts/develop: the agent
and the lights are made once; the simulator forgets its scripts when it stops, so they are set again.
"""

from __future__ import annotations

import json
import sys
from typing import Any
import urllib.request

from tests.e2e.hass_process import HassProcess

AGENT_NAME = "AICleaner Assist"
# The simulated providers the agent uses; the model of each "decides" to call Assist's HassTurnOn
# (HA names Assist's tools after the integration that gives them) on the demo's kitchen lights.
SCRIPTED_PROVIDERS = ("openai", "anthropic", "gemini", "ollama")
TURN_ON_KITCHEN = {
    "name": "intent__HassTurnOn",
    "arguments": {"name": "Kitchen Lights"},
}
KITCHEN_LIGHT = "light.kitchen_lights"
# What `assist_pipeline/pipeline/update` takes besides the pipeline's id.
PIPELINE_FIELDS = (
    "conversation_engine",
    "conversation_language",
    "language",
    "name",
    "stt_engine",
    "stt_language",
    "tts_engine",
    "tts_language",
    "tts_voice",
    "wake_word_entity",
    "wake_word_id",
    "prefer_local_intents",
    "acknowledge_media_id",
)


def script_simulator(sim_port: int) -> None:
    """Make every simulated model answer an Assist request with the kitchen lights' HassTurnOn."""
    for provider in SCRIPTED_PROVIDERS:
        body = json.dumps({"provider": provider, "tool_call": TURN_ON_KITCHEN}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{sim_port}/_sim/reply",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10):
            pass


POWER = "input_boolean.kitchen_lights_power"


def ensure_demo_lights(hass: HassProcess) -> None:
    """Add the kitchen lights once: a template light helper on a toggle, exposed to Assist.

    Made with the helpers a user makes in Settings → Devices & services → Helpers, so the demo needs
    no YAML and raises no repair.
    """
    states = {s["entity_id"] for s in hass.request("GET", "/api/states")}
    if POWER not in states:
        hass.websocket_command(
            {"type": "input_boolean/create", "name": "Kitchen lights power"}
        )
    if KITCHEN_LIGHT not in states:
        flow = hass.request(
            "POST", "/api/config/config_entries/flow", {"handler": "template"}
        )
        step = hass.request(
            "POST",
            f"/api/config/config_entries/flow/{flow['flow_id']}",
            {"next_step_id": "light"},
        )
        result = hass.request(
            "POST",
            f"/api/config/config_entries/flow/{step['flow_id']}",
            {
                "name": "Kitchen Lights",
                "state": f"{{{{ is_state('{POWER}', 'on') }}}}",
                "turn_on": [
                    {"action": "input_boolean.turn_on", "target": {"entity_id": POWER}}
                ],
                "turn_off": [
                    {"action": "input_boolean.turn_off", "target": {"entity_id": POWER}}
                ],
            },
        )
        if result.get("type") != "create_entry":
            print(
                f"[develop] could not add the kitchen lights: {result}", file=sys.stderr
            )
    hass.websocket_command(
        {
            "type": "homeassistant/expose_entity",
            "assistants": ["conversation"],
            "entity_ids": [KITCHEN_LIGHT],
            "should_expose": True,
        }
    )


def ensure_agent(hass: HassProcess, entry_id: str) -> str:
    """Add the agent through its subentry flow, once; return its conversation entity id."""
    subentries = hass.websocket_command(
        {"type": "config_entries/subentries/list", "entry_id": entry_id}
    )
    if not any(s["subentry_type"] == "conversation" for s in subentries):
        flow = hass.request(
            "POST",
            "/api/config/config_entries/subentries/flow",
            {"handler": [entry_id, "conversation"]},
        )
        hass.request(
            "POST",
            f"/api/config/config_entries/subentries/flow/{flow['flow_id']}",
            {
                "name": AGENT_NAME,
                "llm_hass_api": ["assist"],
                "provider_order": "local_first",
            },
        )
    entities = hass.websocket_command({"type": "config/entity_registry/list"})
    return next(
        e["entity_id"]
        for e in entities
        if e["platform"] == "aicleaner" and e["entity_id"].startswith("conversation.")
    )


def make_default_agent(hass: HassProcess, agent: str) -> None:
    """Make the agent the preferred Assist pipeline's conversation agent."""
    listed = hass.websocket_command({"type": "assist_pipeline/pipeline/list"})
    preferred = listed["preferred_pipeline"]
    pipeline: dict[str, Any] = next(
        p for p in listed["pipelines"] if p["id"] == preferred
    )
    if pipeline["conversation_engine"] == agent:
        return
    fields = {k: v for k, v in pipeline.items() if k in PIPELINE_FIELDS}
    hass.websocket_command(
        {
            "type": "assist_pipeline/pipeline/update",
            "pipeline_id": preferred,
            **fields,
            "conversation_engine": agent,
            # Every request goes to the agent, as the demo means to show it failing over.
            "prefer_local_intents": False,
        }
    )


def set_up_assist(hass: HassProcess, entry_id: str, sim_port: int | None) -> str:
    """Set up the demo's Assist agent; return its entity id.

    The lights and the pipeline need what `default_config` loads; a bare config (some e2e tests)
    gets the agent alone.
    """
    components = set(hass.request("GET", "/api/config")["components"])
    if "input_boolean" in components:  # a template light is made on a toggle helper
        ensure_demo_lights(hass)
    agent = ensure_agent(hass, entry_id)
    if "assist_pipeline" in components:
        make_default_agent(hass, agent)
    if sim_port is not None:
        script_simulator(sim_port)
    return agent
