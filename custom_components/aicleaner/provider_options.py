"""Client settings a provider subentry's data adds to its name, model, key and base URL.

`runtime.build_provider` passes what `client_options` returns to `providers.create_provider`, so a new
subentry field that changes how a client behaves (a price override, whether a server is local) is read
in this one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def client_options(data: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for `create_provider` from a provider subentry's data."""
    return {}
