"""Logbook: AICleaner's events read as sentences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.core import Event, HomeAssistant

from custom_components.aicleaner.logbook import (
    async_describe_events,
    describe_alert,
    describe_analysis,
)
from tests import test_services
from tests.test_services import Setup, analyze

# The actions' setup fixture, shared.
setup_aicleaner = test_services.setup_aicleaner


async def test_a_real_analysis_and_an_alert_are_described(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    described: dict[str, Callable[[Event], dict[str, str]]] = {}

    def register(domain: str, event_type: str, describe: Any) -> None:
        assert domain == "aicleaner"
        described[event_type] = describe

    async_describe_events(hass, register)
    await setup_aicleaner(("openai", "OpenAI", {}))
    answer = await analyze(hass, prompt="hello")
    event_data = {
        "request_id": answer["request_id"],
        "provider": "OpenAI",
        "model": answer["model"],
        "cost": answer["cost"],
        "latency_ms": 1530.0,
        "cached": False,
        "success": True,
    }
    alert = {
        "provider": "OpenAI",
        "metric": "status",
        "status": "circuit_open",
        "value": "healthy",
        "threshold": None,
    }
    analysis_entry = described["aicleaner_analysis_complete"](
        Event("aicleaner_analysis_complete", event_data)
    )
    alert_entry = described["aicleaner_health_alert"](
        Event("aicleaner_health_alert", alert)
    )
    assert analysis_entry["name"] == "AICleaner"
    assert analysis_entry["message"] == (
        f"answered a request with OpenAI ({answer['model']}) in 1.5 s, "
        f"costing {answer['cost']:.4f} USD"
    )
    assert alert_entry["message"] == "OpenAI is now circuit open (was healthy)"
    # Each entry has an icon of its own.
    assert analysis_entry["icon"] == "mdi:robot-outline"
    assert alert_entry["icon"] == "mdi:heart-pulse"
    failed = described["aicleaner_analysis_complete"](
        Event("aicleaner_analysis_complete", {**event_data, "success": False})
    )
    assert failed["icon"] == "mdi:robot-dead-outline"


def test_analysis_sentences() -> None:
    assert (
        describe_analysis({"success": True, "cached": True, "latency_ms": 2.4})
        == "answered a request from the cache in 2 ms"
    )
    assert (
        describe_analysis({"success": False, "cost": 0.0})
        == "could not answer a request: no provider gave an answer"
    )


def test_latency_alert_sentences() -> None:
    slow = {
        "provider": "Claude",
        "metric": "latency",
        "status": "critical",
        "value": 12500.0,
        "threshold": 10000.0,
    }
    assert (
        describe_alert(slow)
        == "Claude responds slowly: 12.5 s, above the critical level of 10.0 s"
    )
    ok = {**slow, "status": "ok", "value": 800.0, "threshold": 5000.0}
    assert describe_alert(ok) == "Claude responds in time again (800 ms, under 5.0 s)"
