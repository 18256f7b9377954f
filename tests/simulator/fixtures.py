"""pytest plugin: the `simulator` fixture (registered in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .app import ProviderSimulator
from .server import SimulatorServer


@pytest.fixture
async def simulator(socket_enabled: None) -> AsyncIterator[SimulatorServer]:
    """A simulator serving on 127.0.0.1 for one test; `.sim` steers it, `.url` reaches it."""
    async with SimulatorServer(ProviderSimulator(rng_seed=0)) as server:
        yield server
