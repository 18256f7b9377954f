"""A saved ledger with known figures, so that entity snapshots are the same on every run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import PropertyMock, patch

from homeassistant.const import Platform
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.aicleaner.storage import STORAGE_KEY, STORAGE_VERSION
from tests.entity_setup import subentry_id

# A Monday morning in the test time zone (US/Pacific): local midnight is 08:00 UTC.
NOW = "2026-11-02T18:00:00+00:00"
DAY = "2026-11-02"


def saved_ledger() -> dict[str, Any]:
    """The ledger as storage keeps it: OpenAI served four of five calls today, Claude none."""
    openai = subentry_id("openai")
    return {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": STORAGE_KEY,
        "data": {
            "days": {},
            "router": {
                "version": 1,
                "budget": {
                    "day": DAY,
                    "providers": {
                        openai: {
                            "cost": 0.0125,
                            "input_tokens": 1200,
                            "output_tokens": 300,
                            "requests": 5,
                            "failures": 1,
                        }
                    },
                    "history": {},
                },
                "stats": {
                    "day": DAY,
                    "overall": {
                        "total_requests": 8,
                        "successful_requests": 7,
                        "failed_requests": 1,
                        "cached_requests": 2,
                        "total_response_time": 2.0,
                        "total_cost": 0.0125,
                    },
                    "providers": {
                        openai: {
                            "requests": 5,
                            "successes": 4,
                            "failures": 1,
                            "latency_ewma": 0.3,
                            "latency_window": [0.25, 0.3, 0.42, 0.5],
                            "measured_age": 10.0,
                            "success_ewma": 0.9,
                            "last_error_category": "timeout",
                            "last_error_at": "2026-11-02T17:00:00+00:00",
                        }
                    },
                },
            },
        },
    }


@contextmanager
def only_platform(platform: Platform) -> Iterator[None]:
    """Load one entity platform, every entity enabled (as `snapshot_platform` needs)."""
    with (
        patch("custom_components.aicleaner.PLATFORMS", [platform]),
        patch(
            "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
            return_value=True,
            new_callable=PropertyMock,
        ),
    ):
        yield


def ha_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Syrupy with Home Assistant's serializer: registry ids and times are left out."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)
