"""The routing engine: turns one request into one answer from the best available provider.

No Home Assistant imports here; provider clients are handed in as objects implementing `Provider`.
"""

from .config import (
    BreakerSettings,
    ProviderSettings,
    RouterConfig,
    RoutingRule,
    SelectionStrategy,
)
from .reporting import RouterSnapshot
from .router import Router
from .stats import ProviderSnapshot
from .streaming import StreamInterrupted

__all__ = [
    "BreakerSettings",
    "ProviderSettings",
    "ProviderSnapshot",
    "Router",
    "RouterConfig",
    "RouterSnapshot",
    "RoutingRule",
    "SelectionStrategy",
    "StreamInterrupted",
]
