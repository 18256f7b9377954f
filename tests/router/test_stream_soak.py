"""A soak of streams with 30 % faults: the ledger equals what the simulator billed, or stays above it.

Faults before the stream (429, 5xx, a reset) bill nothing and fail over: the ledger must equal the
simulator's bill to the cent. Faults after the stream began (a cut, a stall) are billed by the
provider for the whole answer, and booked by the router at the reservation, an upper bound: the
ledger may be above the bill, never below it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import random
from typing import Any

import aiohttp
import pytest

from custom_components.aicleaner.router import Router, StreamInterrupted
from custom_components.aicleaner.router.conversation import StreamResult
from custom_components.aicleaner.router.errors import AllProvidersFailed
from custom_components.aicleaner.router.models import AIRequest
from tests.router.test_stream_simulator import KINDS, make_router
from tests.simulator import Fault, SimulatorServer

STREAMS = 80


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


async def soak(router: Router, rng: random.Random) -> dict[str, int]:
    outcomes = {"answered": 0, "failed": 0, "interrupted": 0}
    gate = asyncio.Semaphore(8)

    async def one(index: int) -> None:
        order = list(KINDS)
        rng.shuffle(order)
        request = AIRequest(
            prompt=f"Describe room {index} " + "in detail " * rng.randint(0, 30),
            provider_order=tuple(order),
            max_tokens=300,
        )
        async with gate:
            try:
                deltas = [delta async for delta in router.stream(request)]
            except AllProvidersFailed:
                outcomes["failed"] += 1
            except StreamInterrupted:
                outcomes["interrupted"] += 1
            else:
                assert isinstance(deltas[-1], StreamResult)
                outcomes["answered"] += 1

    await asyncio.gather(*(one(index) for index in range(STREAMS)))
    return outcomes


def ledger(router: Router) -> dict[str, float]:
    return {kind: router.provider_stats(kind).cost_today for kind in KINDS}


async def test_ledger_equals_the_bill_when_faults_strike_before_the_stream(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    for kind in KINDS:
        simulator.sim.set_fault(
            kind, Fault(kind="status", statuses=(429, 500, 503), rate=0.3)
        )
    simulator.sim.add_fault("openai", Fault(kind="reset", rate=0.1))
    router = make_router(simulator, session, *KINDS)
    outcomes = await soak(router, random.Random(7))
    assert outcomes["answered"] > STREAMS * 0.9
    billed = simulator.sim.stream_billing.billed
    assert sum(simulator.sim.stream_billing.streams.values()) == outcomes["answered"]
    for kind, cost in ledger(router).items():
        assert cost == pytest.approx(billed[kind], rel=1e-9, abs=1e-12), kind
    assert sum(ledger(router).values()) > 0


async def test_ledger_never_falls_below_the_bill_when_streams_break(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    faults: list[dict[str, Any]] = [
        {"kind": "stream_cut", "after_chunks": 2},
        {"kind": "stream_stall", "after_chunks": 2},
        {"kind": "hang"},
        {"kind": "rate_limit", "retry_after": 5},
    ]
    for index, kind in enumerate(KINDS):
        simulator.sim.set_fault(kind, Fault(rate=0.3, **faults[index]))
    router = make_router(simulator, session, *KINDS)
    outcomes = await soak(router, random.Random(11))
    assert outcomes["interrupted"] > 0
    assert outcomes["answered"] > STREAMS / 2
    billed = simulator.sim.stream_billing.billed
    for kind, cost in ledger(router).items():
        assert cost >= billed[kind] - 1e-12, kind
    # The cut and stalled streams are booked at their reservations: above the bill.
    assert ledger(router)["openai"] > billed["openai"]
    assert ledger(router)["anthropic"] > billed["anthropic"]
