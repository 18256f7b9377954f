"""The demo's Assist agent in a real `hass`: the default pipeline's agent turns on the kitchen lights."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_socket

from scripts import develop, develop_assist

from .hass_process import HassProcess


@pytest.fixture
def demo(tmp_path: Path, simulator_port: int) -> Iterator[tuple[HassProcess, int]]:
    """The demo as scripts/develop sets it up, running."""
    pytest_socket.enable_socket()
    with develop.demo_hass(tmp_path, simulator_port) as hass:
        yield hass, simulator_port


def run_pipeline(hass: HassProcess, text: str) -> list[dict[str, Any]]:
    """Run the preferred Assist pipeline on typed text, as the Assist dialog does; return its events."""

    async def _run() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"{hass.url}/api/websocket") as ws,
        ):
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": hass.token})
            assert (await ws.receive_json())["type"] == "auth_ok"
            await ws.send_json(
                {
                    "id": 1,
                    "type": "assist_pipeline/run",
                    "start_stage": "intent",
                    "end_stage": "intent",
                    "input": {"text": text},
                }
            )
            while True:
                message = await asyncio.wait_for(ws.receive_json(), 60)
                if message["type"] == "event":
                    events.append(message["event"])
                    if message["event"]["type"] in ("run-end", "error"):
                        return events

    return asyncio.run(_run())


def test_the_default_assist_agent_turns_on_the_kitchen_lights(
    demo: tuple[HassProcess, int],
) -> None:
    hass, _sim = demo
    assert (
        hass.request("GET", f"/api/states/{develop_assist.KITCHEN_LIGHT}")["state"]
        == "off"
    )

    events = run_pipeline(hass, "turn on the kitchen lights")

    start = next(e for e in events if e["type"] == "intent-start")
    assert start["data"]["engine"].startswith("conversation.")
    assert start["data"]["engine"] != "conversation.home_assistant"
    # The answer streamed in: the agent's deltas reached the pipeline before its end.
    assert any(e["type"] == "intent-progress" for e in events)
    end = next(e for e in events if e["type"] == "intent-end")
    speech = end["data"]["intent_output"]["response"]["speech"]["plain"]["speech"]
    assert speech.startswith("Simulated")
    assert (
        hass.request("GET", f"/api/states/{develop_assist.KITCHEN_LIGHT}")["state"]
        == "on"
    )
