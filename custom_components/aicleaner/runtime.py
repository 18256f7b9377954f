"""What a loaded AICleaner entry holds at run time (`entry.runtime_data`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry


@dataclass(kw_only=True)
class AICleanerRuntimeData:
    """Objects that live as long as the config entry is loaded."""

    # Router settings from the entry's options (strategy, cache, batch size).
    settings: dict[str, Any]


type AICleanerConfigEntry = ConfigEntry[AICleanerRuntimeData]
