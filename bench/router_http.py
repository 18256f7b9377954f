"""What routing costs over real HTTP: the router against raw aiohttp, the bare client and LiteLLM.

    scripts/run python -m bench.router_http [--requests 2000] [--rounds 5] [--litellm-python PY]

A minimal OpenAI-style server (`bench.openai_server`) runs in its own process on loopback, so client
and server do not share a CPU core. Each contender sends N requests at concurrency 1 and 32, in
rounds interleaved A, B, C, A, B, C, ... so that drift hits all alike:
- raw: an aiohttp POST of the body the OpenAI client would send, the floor;
- provider: `OpenAIProvider.complete()` called directly;
- router: `Router.process` over 3 providers of that server with every feature on (adaptive strategy,
  breakers, rate limits too high to bind, budgets, stats), cache off, logging at WARNING;
- router_info: the same with the router's INFO record written to a file;
- cache_hit: the same request answered from the router's cache;
- litellm: LiteLLM's Router over 3 deployments of the same endpoint with `simple-shuffle` (its
  default), and litellm_latency the same with `latency-based-routing`, each in its own Python
  (`--litellm-python`, a venv made by `scripts/bench`), against the same server.
It prints requests/s, p50 and p99 per contender and the µs each adds over raw at p50, and ends with
one JSON line. Benchmarks are figures, never assertions: nothing here fails on a slow machine.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
import json
import logging
from pathlib import Path
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import aiohttp
import orjson

from custom_components.aicleaner.providers import OpenAIProvider, create_provider
from custom_components.aicleaner.router import (
    ProviderSettings,
    Router,
    RouterConfig,
    SelectionStrategy,
)
from custom_components.aicleaner.router.models import AIRequest

ROUTER_LOGGER = "custom_components.aicleaner.router"
MODEL = "gpt-4o-mini"
CONCURRENCIES = (1, 32)
# Limits far above what a benchmark sends, so they are checked but never bind.
OPEN_LIMITS = ProviderSettings(
    rate_limit_rpm=10_000_000,
    rate_limit_tpm=10_000_000_000,
    rate_limit_rph=100_000_000,
    daily_budget=1_000_000.0,
)

type Call = Callable[[int], Awaitable[object]]


@dataclass
class Result:
    """Every latency and round throughput of one contender at one concurrency."""

    latencies: list[float] = field(default_factory=list)
    rounds_rps: list[float] = field(default_factory=list)

    @property
    def rps(self) -> float:
        """Median requests per second over the rounds."""
        return statistics.median(self.rounds_rps)

    def percentile(self, share: float) -> float:
        """Latency percentile in microseconds."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1e6


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(
    port: int, module: str = "bench.openai_server"
) -> subprocess.Popen[bytes]:
    """Start the server `module` in its own process and wait until it accepts connections."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port)],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise
            time.sleep(0.05)
        else:
            return process


async def run_round(call: Call, n: int, concurrency: int, result: Result) -> None:
    """Send `n` requests through `call`, `concurrency` at a time; record latencies and rps."""
    next_index = iter(range(n))
    latencies = result.latencies
    clock = time.perf_counter

    async def worker() -> None:
        for index in next_index:
            started = clock()
            await call(index)
            latencies.append(clock() - started)

    started = clock()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.rounds_rps.append(n / (clock() - started))


def build_router(session: aiohttp.ClientSession, url: str, *, cache: bool) -> Router:
    """Three providers of the one server, every feature on."""
    providers = [
        create_provider(
            "openai",
            session,
            name=f"p{i}",
            model=MODEL,
            api_key="sk-bench",
            base_url=url,
        )
        for i in range(3)
    ]
    return Router(
        providers,
        RouterConfig(
            selection_strategy=SelectionStrategy.ADAPTIVE,
            cache_ttl=300 if cache else 0,
            global_daily_budget=1_000_000.0,
        ),
        provider_settings={p.name: OPEN_LIMITS for p in providers},
    )


def contenders(
    session: aiohttp.ClientSession, url: str, log_file: Path
) -> dict[str, tuple[Call, Callable[[], None]]]:
    """Each contender's call and what to set before its round (the router's log level)."""
    client = create_provider(
        "openai", session, name="direct", model=MODEL, api_key="sk-bench", base_url=url
    )
    assert isinstance(client, OpenAIProvider)
    sample = AIRequest(prompt="Describe room 0")
    endpoint, payload = client._completion_request(sample, MODEL, ())
    body = orjson.dumps(payload)
    headers = {
        "Authorization": "Bearer sk-bench",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    timeout = aiohttp.ClientTimeout(total=30)

    async def raw(index: int) -> object:
        async with session.post(
            endpoint, data=body, headers=headers, timeout=timeout
        ) as response:
            return orjson.loads(await response.read())

    async def provider(index: int) -> object:
        return await client.complete(
            AIRequest(prompt=f"Describe room {index}"), timeout=30.0
        )

    routed = build_router(session, url, cache=False)
    cached = build_router(session, url, cache=True)

    async def router(index: int) -> object:
        return await routed.process(
            AIRequest(prompt=f"Describe room {index}", use_cache=False)
        )

    async def cache_hit(index: int) -> object:
        return await cached.process(AIRequest(prompt="Describe room 0"))

    logger = logging.getLogger(ROUTER_LOGGER)
    logger.propagate = False
    handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)

    def at(level: int) -> Callable[[], None]:
        return lambda: logger.setLevel(level)

    return {
        "raw": (raw, at(logging.WARNING)),
        "provider": (provider, at(logging.WARNING)),
        "router": (router, at(logging.WARNING)),
        "router_info": (router, at(logging.INFO)),
        "cache_hit": (cache_hit, at(logging.WARNING)),
    }


async def served(session: aiohttp.ClientSession, base: str) -> int:
    """How many completions the server has answered."""
    async with session.get(f"{base}/_count") as response:
        count: int = (await response.json())["completions"]
        return count


# LiteLLM's routing strategies, by contender name: its default first (`router_vs_litellm`).
LITELLM_STRATEGIES = {
    "litellm": "simple-shuffle",
    "litellm_latency": "latency-based-routing",
}


def run_litellm_round(
    python: str, url: str, n: int, concurrency: int, strategy: str
) -> dict[str, Any]:
    """One LiteLLM round in its own Python; returns its rps and latencies."""
    out = subprocess.run(
        [
            python,
            str(Path(__file__).with_name("litellm_client.py")),
            url,
            str(n),
            str(concurrency),
            strategy,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


async def run(
    n: int, rounds: int, litellm_python: str | None
) -> dict[str, dict[int, Result]]:
    """Interleave every contender at each concurrency for `rounds` rounds."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/v1"
    server = start_server(port)
    results: dict[str, dict[int, Result]] = {}
    try:
        connector = aiohttp.TCPConnector(limit=64)
        async with aiohttp.ClientSession(connector=connector) as session:
            with tempfile.TemporaryDirectory() as folder:
                calls = contenders(session, url, Path(folder) / "router.log")
                for name, (
                    call,
                    prepare,
                ) in calls.items():  # warm up, and check real work
                    prepare()
                    before = await served(session, base)
                    for index in range(50):
                        await call(index)
                    expected = 1 if name == "cache_hit" else 50
                    assert await served(session, base) - before == expected, name
                for concurrency in CONCURRENCIES:
                    for _ in range(rounds):
                        for name, (call, prepare) in calls.items():
                            prepare()
                            result = results.setdefault(name, {}).setdefault(
                                concurrency, Result()
                            )
                            await run_round(call, n, concurrency, result)
                        for name, strategy in LITELLM_STRATEGIES.items():
                            if not litellm_python:
                                break
                            data = await asyncio.to_thread(
                                run_litellm_round,
                                litellm_python,
                                url,
                                n,
                                concurrency,
                                strategy,
                            )
                            result = results.setdefault(name, {}).setdefault(
                                concurrency, Result()
                            )
                            result.rounds_rps.append(data["rps"])
                            result.latencies.extend(data["latencies"])
    finally:
        server.terminate()
        server.wait(timeout=10)
    return results


def summary(results: dict[str, dict[int, Result]]) -> dict[str, Any]:
    """The figures of the last line."""
    raw = results["raw"]
    router = results["router"]
    litellm = results.get("litellm")
    latency_based = results.get("litellm_latency")

    def ratio(a: Result | None, b: Result | None) -> float | None:
        return None if a is None or b is None else round(a.rps / b.rps, 3)

    raw_p50 = raw[1].percentile(0.5)
    return {
        "raw_rps": {f"c{c}": round(raw[c].rps, 1) for c in CONCURRENCIES},
        "router_rps": {f"c{c}": round(router[c].rps, 1) for c in CONCURRENCIES},
        "litellm_rps": {
            f"c{c}": None if litellm is None else round(litellm[c].rps, 1)
            for c in CONCURRENCIES
        },
        "router_vs_raw": {f"c{c}": ratio(router[c], raw[c]) for c in CONCURRENCIES},
        "router_vs_litellm": {
            f"c{c}": ratio(router[c], None if litellm is None else litellm[c])
            for c in CONCURRENCIES
        },
        "litellm_latency_rps": {
            f"c{c}": None if latency_based is None else round(latency_based[c].rps, 1)
            for c in CONCURRENCIES
        },
        "router_vs_litellm_latency": {
            f"c{c}": ratio(
                router[c], None if latency_based is None else latency_based[c]
            )
            for c in CONCURRENCIES
        },
        "router_added_p50_us": round(router[1].percentile(0.5) - raw_p50, 1),
        "router_added_p50_us_info_log": round(
            results["router_info"][1].percentile(0.5) - raw_p50, 1
        ),
        "cache_hit_p50_us": round(results["cache_hit"][1].percentile(0.5), 1),
    }


def report(results: dict[str, dict[int, Result]]) -> None:
    """Print the table and the JSON line."""
    raw = results["raw"]
    print(
        f"{'contender':<13}{'conc':>5}{'req/s':>10}{'p50 µs':>10}{'p99 µs':>10}{'+µs p50':>10}"
    )
    for name, by_concurrency in results.items():
        for concurrency, result in by_concurrency.items():
            added = result.percentile(0.5) - raw[concurrency].percentile(0.5)
            print(
                f"{name:<13}{concurrency:>5}{result.rps:>10.0f}"
                f"{result.percentile(0.5):>10.1f}{result.percentile(0.99):>10.1f}{added:>10.1f}"
            )
    print(json.dumps(summary(results)))


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--litellm-python", default=None)
    args = parser.parse_args()
    report(asyncio.run(run(args.requests, args.rounds, args.litellm_python)))


if __name__ == "__main__":
    main()
