"""What streaming through the router costs over real HTTP, and how fast it leaves a stalled provider.

    scripts/run python -m bench.stream_http [--requests 1000] [--rounds 3] [--litellm-python PY]

A minimal OpenAI-style streaming server (`bench.stream_server`) runs in its own process on loopback.
- Time to first token and streams per second, at concurrency 1 and 32, rounds interleaved:
  - raw: aiohttp POSTs the body the OpenAI client would send and reads the SSE events, parsing
    each, until `[DONE]`; its first token is the first event with text (the floor);
  - router: `Router.stream` over 3 providers of that server with every feature on (adaptive
    strategy, breakers, rate limits too high to bind, budgets, stats), to the `StreamResult`.
- Failover on a stalled provider: the first provider accepts the request and never sends a byte;
  the router's TTFT deadline is `--ttft` seconds. The figure is the time from the request to the
  first token of the second provider, minus that deadline. Beside it, LiteLLM's Router with
  `fallbacks` and a `stream_timeout` of the same length, in its own Python (`--litellm-python`).
It ends with one JSON line. Benchmarks are figures, never assertions.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
import json
import logging
from pathlib import Path
import statistics
import subprocess
import time
from typing import Any

import aiohttp
import orjson

from bench.router_http import OPEN_LIMITS, build_router, free_port, start_server
from custom_components.aicleaner.providers import OpenAIProvider, create_provider
from custom_components.aicleaner.router import (
    BreakerSettings,
    Router,
    RouterConfig,
    SelectionStrategy,
)
from custom_components.aicleaner.router.conversation import StreamResult, TextDelta
from custom_components.aicleaner.router.models import AIRequest

MODEL = "gpt-4o-mini"
CONCURRENCIES = (1, 32)

type Call = Callable[[int], Awaitable[float]]


@dataclass
class Result:
    """Times to first token and round throughputs of one contender at one concurrency."""

    ttft: list[float] = field(default_factory=list)
    rounds_sps: list[float] = field(default_factory=list)

    @property
    def sps(self) -> float:
        """Median streams per second over the rounds."""
        return statistics.median(self.rounds_sps)

    @property
    def ttft_p50_us(self) -> float:
        """Median time to first token, in microseconds."""
        return statistics.median(self.ttft) * 1e6


def contenders(session: aiohttp.ClientSession, url: str) -> dict[str, Call]:
    """Each contender's call: it streams one answer and returns its time to first token."""
    client = create_provider(
        "openai", session, name="direct", model=MODEL, api_key="sk-bench", base_url=url
    )
    assert isinstance(client, OpenAIProvider)
    endpoint, payload = client._stream_request(
        AIRequest(prompt="Describe room 0"), MODEL
    )
    body = orjson.dumps(payload)
    headers = {
        "Authorization": "Bearer sk-bench",
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
    }
    timeout = aiohttp.ClientTimeout(total=30)
    clock = time.perf_counter

    async def raw(index: int) -> float:
        started = clock()
        first = 0.0
        buffer = b""
        async with session.post(
            endpoint, data=body, headers=headers, timeout=timeout
        ) as response:
            async for chunk in response.content.iter_any():
                *lines, buffer = (buffer + chunk).split(b"\n")
                for line in lines:
                    if not line.startswith(b"data: ") or line == b"data: [DONE]":
                        continue
                    event = orjson.loads(line[6:])
                    if (
                        not first
                        and event["choices"]
                        and event["choices"][0]["delta"].get("content")
                    ):
                        first = clock() - started
        return first

    # The router of bench/router_http, uncached (a conversation is never answered from the cache).
    routed = build_router(session, url, cache=False)

    async def router(index: int) -> float:
        started = clock()
        first = 0.0
        done = False
        async for delta in routed.stream(
            AIRequest(prompt=f"Describe room {index}", use_cache=False)
        ):
            if not first and isinstance(delta, TextDelta):
                first = clock() - started
            done = isinstance(delta, StreamResult)
        assert done
        return first

    return {"raw": raw, "router": router}


async def run_round(call: Call, n: int, concurrency: int, result: Result) -> None:
    """Stream `n` answers through `call`, `concurrency` at a time."""
    indexes = iter(range(n))

    async def worker() -> None:
        for index in indexes:
            result.ttft.append(await call(index))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.rounds_sps.append(n / (time.perf_counter() - started))


async def failover_extra(
    session: aiohttp.ClientSession, base: str, ttft: float, repeats: int
) -> list[float]:
    """Seconds from the request to the second provider's first token, minus the TTFT deadline."""
    providers = [
        create_provider(
            "openai",
            session,
            name=name,
            model=MODEL,
            api_key="sk-bench",
            base_url=f"{base}{prefix}/v1",
        )
        for name, prefix in (("stalled", "/stall"), ("good", ""))
    ]
    # The breaker must not learn to skip the stalled provider: every request meets the stall.
    settings = replace(
        OPEN_LIMITS,
        ttft_timeout=ttft,
        breaker=BreakerSettings(failure_threshold=1_000_000),
    )
    router = Router(
        providers,
        RouterConfig(selection_strategy=SelectionStrategy.PRIORITY, cache_ttl=0),
        provider_settings={p.name: settings for p in providers},
    )
    extras = []
    for index in range(repeats):
        started = time.perf_counter()
        first = None
        async for delta in router.stream(
            AIRequest(
                prompt=f"Describe room {index}", provider_order=("stalled", "good")
            )
        ):
            if first is None and isinstance(delta, TextDelta):
                first = time.perf_counter() - started
            if isinstance(delta, StreamResult):
                assert delta.response.provider == "good"
        assert first is not None
        extras.append(first - ttft)
    return extras


def litellm_failover(python: str, base: str, ttft: float, repeats: int) -> list[float]:
    """The same stall with LiteLLM's Router and fallbacks, in its own Python."""
    out = subprocess.run(
        [
            python,
            str(Path(__file__).with_name("litellm_stream_client.py")),
            base,
            str(ttft),
            str(repeats),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    extras: list[float] = json.loads(out.stdout.strip().splitlines()[-1])["extras"]
    return extras


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run every measurement and return the figures."""
    logging.getLogger("custom_components.aicleaner.router").setLevel(logging.WARNING)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(port, "bench.stream_server")
    results: dict[str, dict[int, Result]] = {}
    try:
        connector = aiohttp.TCPConnector(limit=64)
        async with aiohttp.ClientSession(connector=connector) as session:
            calls = contenders(session, f"{base}/v1")
            for call in calls.values():  # warm up
                for index in range(30):
                    await call(index)
            for concurrency in CONCURRENCIES:
                for _ in range(args.rounds):
                    for name, call in calls.items():
                        result = results.setdefault(name, {}).setdefault(
                            concurrency, Result()
                        )
                        await run_round(call, args.requests, concurrency, result)
            extras = await failover_extra(session, base, args.ttft, args.failovers)
            async with session.get(f"{base}/_count") as response:
                counts = await response.json()
            # Every contender really streamed from the server, and every failover met the stall.
            warmups = 30 * len(calls)
            timed = args.requests * args.rounds * len(CONCURRENCIES) * len(calls)
            assert counts["streams"] == warmups + timed + args.failovers, counts
            assert counts["stalled"] == args.failovers, counts
        litellm_extras = (
            await asyncio.to_thread(
                litellm_failover, args.litellm_python, base, args.ttft, args.failovers
            )
            if args.litellm_python
            else None
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    raw, router = results["raw"], results["router"]
    for concurrency in CONCURRENCIES:
        print(
            f"c{concurrency}: raw {raw[concurrency].sps:.0f} streams/s, TTFT p50 "
            f"{raw[concurrency].ttft_p50_us:.0f} µs; router {router[concurrency].sps:.0f} "
            f"streams/s, TTFT p50 {router[concurrency].ttft_p50_us:.0f} µs"
        )
    print(f"failover extra (ms): {[round(e * 1000, 1) for e in extras]}")
    if litellm_extras is not None:
        print(
            f"litellm failover extra (ms): {[round(e * 1000, 1) for e in litellm_extras]}"
        )
    print(f"server counts: {counts}")
    return {
        **{
            f"stream_ttft_added_p50_us_c{c}": round(
                router[c].ttft_p50_us - raw[c].ttft_p50_us, 1
            )
            for c in CONCURRENCIES
        },
        "stream_failover_extra_ms": round(statistics.median(extras) * 1000, 1),
        "litellm_stream_failover_extra_ms": None
        if litellm_extras is None
        else round(statistics.median(litellm_extras) * 1000, 1),
        **{
            f"stream_vs_raw_c{c}": round(router[c].sps / raw[c].sps, 3)
            for c in CONCURRENCIES
        },
    }


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ttft", type=float, default=0.5)
    parser.add_argument("--failovers", type=int, default=20)
    parser.add_argument("--litellm-python", default=None)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
