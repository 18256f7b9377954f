"""Logbook: each analysis and health alert in a sentence, the audit trail of what AICleaner did."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ICON,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback

from .const import DEFAULT_TITLE, DOMAIN, EVENT_HEALTH_ALERT
from .services import EVENT_ANALYSIS_COMPLETE

# The entries' icons; the events carry `device_id`, so each shows on its provider's device page.
ICON_ANSWERED: Final = "mdi:robot-outline"
ICON_FAILED: Final = "mdi:robot-dead-outline"
ICON_STATUS: Final = "mdi:heart-pulse"
ICON_LATENCY: Final = "mdi:timer-alert-outline"


def describe_analysis(data: Mapping[str, Any]) -> str:
    """One finished request in words: who answered, how fast, at what cost."""
    if not data.get("success"):
        return "could not answer a request: no provider gave an answer"
    latency = data.get("latency_ms")
    took = "" if latency is None else f" in {_duration(float(latency))}"
    if data.get("cached"):
        return f"answered a request from the cache{took}"
    model = f" ({data['model']})" if data.get("model") else ""
    cost = float(data.get("cost") or 0.0)
    return (
        f"answered a request with {data.get('provider')}{model}{took}, "
        f"costing {cost:.4f} USD"
    )


def describe_alert(data: Mapping[str, Any]) -> str:
    """One health alert in words: a provider's status or latency changed."""
    provider = data.get("provider")
    status = str(data.get("status", "")).replace("_", " ")
    if data.get("metric") == "latency":
        value = data.get("value")
        threshold = data.get("threshold")
        took = "" if value is None else _duration(float(value))
        limit = "" if threshold is None else _duration(float(threshold))
        if data.get("status") == "ok":
            return f"{provider} responds in time again ({took}, under {limit})"
        return (
            f"{provider} responds slowly: {took}, above the {status} level of {limit}"
        )
    before = data.get("value")
    was = f" (was {str(before).replace('_', ' ')})" if before else ""
    return f"{provider} is now {status}{was}"


def _duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe AICleaner's events for the logbook."""

    @callback
    def _analysis(event: Event) -> dict[str, str]:
        return {
            LOGBOOK_ENTRY_NAME: DEFAULT_TITLE,
            LOGBOOK_ENTRY_MESSAGE: describe_analysis(event.data),
            LOGBOOK_ENTRY_ICON: ICON_ANSWERED
            if event.data.get("success")
            else ICON_FAILED,
        }

    @callback
    def _alert(event: Event) -> dict[str, str]:
        return {
            LOGBOOK_ENTRY_NAME: DEFAULT_TITLE,
            LOGBOOK_ENTRY_MESSAGE: describe_alert(event.data),
            LOGBOOK_ENTRY_ICON: ICON_LATENCY
            if event.data.get("metric") == "latency"
            else ICON_STATUS,
        }

    async_describe_event(DOMAIN, EVENT_ANALYSIS_COMPLETE, _analysis)
    async_describe_event(DOMAIN, EVENT_HEALTH_ALERT, _alert)
