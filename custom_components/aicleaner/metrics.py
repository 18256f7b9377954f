"""`get_metrics`' performance figures in the units the sensors and other actions use: ms and %.

The router reports seconds and 0–1 shares; people read milliseconds (as `latency_ms` of `analyze`
and `check_health`, and the Latency sensor) and percent (as the Success rate sensor). A converted
time gets the `_ms` suffix; a share keeps its name and becomes a percentage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

# Seconds in the router's figures, each renamed with its unit.
_SECONDS: Final = {
    "average_response_time": "average_response_time_ms",
    "latency_ewma": "latency_ewma_ms",
    "latency_p50": "latency_p50_ms",
    "latency_p95": "latency_p95_ms",
}
# 0–1 shares in the router's figures, shown in %.
_SHARES: Final = frozenset({"success_rate", "rate_headroom", "throttle_factor"})


def in_ms_and_percent(figures: Mapping[str, Any]) -> dict[str, Any]:
    """Return `figures` with every time in ms (renamed `_ms`) and every share in %."""
    converted: dict[str, Any] = {}
    for key, value in figures.items():
        if key in _SECONDS:
            converted[_SECONDS[key]] = (
                None if value is None else round(float(value) * 1000.0, 1)
            )
        elif key in _SHARES:
            converted[key] = None if value is None else round(float(value) * 100.0, 1)
        else:
            converted[key] = value
    return converted
