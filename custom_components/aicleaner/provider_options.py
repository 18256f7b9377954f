"""Client settings a provider subentry's data adds to its name, model, key and base URL.

`runtime.build_provider` passes what `client_options` returns to `providers.create_provider`, so a new
subentry field that changes how a client behaves (a price override, whether a server is local) is read
in this one place.
"""

from __future__ import annotations

from collections.abc import Mapping
import math
from typing import Any

from .const import (
    CONF_LOCAL,
    CONF_PRICE_INPUT,
    CONF_PRICE_OUTPUT,
    CONF_SERVER_ROLE,
    SERVER_RUNS_MODELS,
)
from .router.models import ModelPrice


def price_override(data: Mapping[str, Any]) -> ModelPrice | None:
    """Return the user's price for the subentry's model, when both figures are set."""
    rates: list[float] = []
    for key in (CONF_PRICE_INPUT, CONF_PRICE_OUTPUT):
        value = data.get(key)
        if value is None or isinstance(value, bool):
            return None
        try:
            rates.append(float(value))
        except TypeError, ValueError:
            return None
    input_rate, output_rate = rates
    if not all(math.isfinite(rate) and rate >= 0 for rate in (input_rate, output_rate)):
        return None
    return ModelPrice(input_rate, output_rate)


def client_options(data: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for `create_provider` from a provider subentry's data."""
    options: dict[str, Any] = {}
    if (override := price_override(data)) is not None:
        options["price_override"] = override
    if CONF_SERVER_ROLE in data:
        # Only OpenAI-compatible subentries ask; anything but "runs the models" is a forwarding one.
        options["runs_models"] = data[CONF_SERVER_ROLE] == SERVER_RUNS_MODELS
    if data.get(CONF_LOCAL) is not None:
        # Only Ollama subentries ask (a compatible server's `server_role` says the same).
        options["local"] = bool(data[CONF_LOCAL])
    return options
