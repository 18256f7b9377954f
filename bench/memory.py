"""What the router's memory grows by: a full response cache, and many requests in flight at once.

    scripts/run python -m bench.memory [--entries 10000] [--answer-bytes 1024] [--inflight 1000]
                                       [--profile]

`bench.openai_server` runs in its own process; each scenario runs in a fresh Python process of its
own, so that one scenario's garbage or allocator state does not count in the other's figure. Each
builds the router as `bench.router_http` does (3 providers of that server, adaptive strategy,
limits too high to bind), sends warm-up requests (connections, code paths), collects garbage, reads
its resident set size (RSS), resets the kernel's peak RSS mark when it may, and then:
- cache: sends `--entries` distinct requests through `Router.process`, the server answering each
  with `--answer-bytes` of text, into a cache bounded high enough to keep them all; the growth is
  the peak RSS over the baseline, and the run checks the cache holds exactly that many entries;
- inflight: has the server hold every completion, starts `--inflight` requests at once (no
  connection limit), waits until the server holds them all and the router counts them all in
  flight, and reads RSS at that moment; then releases them and checks each got its answer. It
  reports the growth at that moment, and the peak through the release and the answers.
`--profile` adds, per scenario, the allocation sites that grew most (tracemalloc, which slows the
run and adds its own memory, so the RSS figures of a profiled run are not the ones to quote). The
output ends with one JSON line (`*_mb` figures in MiB, 2**20 bytes); nothing here asserts a figure.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace
import gc
import json
from pathlib import Path
import subprocess
import sys
import time
import tracemalloc
from typing import Any

import aiohttp

from bench import router_http
from bench.openai_server import answer_text, raise_open_files_limit
from bench.router_http import free_port, served, start_server
from custom_components.aicleaner.router import Router
from custom_components.aicleaner.router.models import AIRequest, AIResponse

MB = 1024 * 1024
WARM_UP = 64
FILL_CONCURRENCY = 32
PROFILE_TOP = 12


def proc_status_kb(field: str) -> int:
    """One `kB` figure of /proc/self/status (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak() -> bool:
    """Reset the kernel's peak RSS mark (VmHWM) to the current RSS, if this process may."""
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


def build_router(
    session: aiohttp.ClientSession, url: str, *, cache_entries: int, cache_bytes: int
) -> Router:
    """The router of `bench.router_http` (three providers, every feature on), its cache bounded."""
    router = router_http.build_router(session, url, cache=cache_entries > 0)
    router.update_config(
        replace(
            router.config, cache_max_entries=cache_entries, cache_max_bytes=cache_bytes
        )
    )
    return router


async def configure(session: aiohttp.ClientSession, base: str, **settings: Any) -> None:
    """Steer the server (`answer_bytes`, `hold`)."""
    async with session.post(f"{base}/_config", json=settings) as response:
        response.raise_for_status()


async def server_count(session: aiohttp.ClientSession, base: str) -> dict[str, int]:
    """The server's counters: completions served, requests seen, completions held now."""
    async with session.get(f"{base}/_count") as response:
        counts: dict[str, int] = await response.json()
        return counts


async def send(router: Router, prompts: range, *, prefix: str, cache: bool) -> int:
    """Send one request per index, `FILL_CONCURRENCY` at a time; return the answers' total bytes."""
    indexes = iter(prompts)
    total = 0

    async def worker() -> None:
        nonlocal total
        for index in indexes:
            response = await router.process(
                AIRequest(prompt=f"{prefix} {index}", use_cache=cache)
            )
            total += len(response.text)

    await asyncio.gather(*(worker() for _ in range(FILL_CONCURRENCY)))
    return total


class Meter:
    """RSS before a scenario, and its growth since (current and peak), in bytes."""

    def __init__(self, profile: bool) -> None:
        """Collect garbage and take the baseline."""
        gc.collect()
        self.peak_reset = reset_peak()
        self.before_kb = proc_status_kb("VmRSS")
        self.peak_before_kb = proc_status_kb("VmHWM")
        self.profile = profile
        self.snapshot: tracemalloc.Snapshot | None = None
        if profile:
            tracemalloc.start(1)
            self.snapshot = tracemalloc.take_snapshot()

    def growth(self) -> int:
        """RSS now over the baseline."""
        return (proc_status_kb("VmRSS") - self.before_kb) * 1024

    def peak_growth(self) -> int:
        """Peak RSS since the baseline over the baseline.

        Without a reset of the peak mark, a peak reached before the baseline hides a smaller one
        since: the figure is then a lower bound (`peak_reset` says which).
        """
        base = self.before_kb if self.peak_reset else self.peak_before_kb
        return max(0, proc_status_kb("VmHWM") - base) * 1024

    def top(self) -> list[str]:
        """The allocation sites that grew most since the baseline (with `profile`)."""
        if self.snapshot is None:
            return []
        stats = tracemalloc.take_snapshot().compare_to(self.snapshot, "lineno")
        return [str(stat) for stat in stats[:PROFILE_TOP]]


async def scenario_cache(
    base: str, entries: int, answer_bytes: int, profile: bool
) -> dict[str, Any]:
    """Fill the cache with `entries` answers of `answer_bytes` through the router."""
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=64)
    ) as session:
        await configure(session, base, answer_bytes=answer_bytes, hold=False)
        router = build_router(
            session, f"{base}/v1", cache_entries=entries, cache_bytes=1 << 40
        )
        await send(router, range(WARM_UP * 4), prefix="Warm up", cache=False)
        before = await served(session, base)
        meter = Meter(profile)
        total = await send(router, range(entries), prefix="Describe room", cache=True)
        gc.collect()
        growth = meter.peak_growth()
        now = meter.growth()
        top = meter.top()
        cache = router.get_performance_metrics()["cache"]
        # Each request asked the server once, and each answer is in the cache.
        calls = await served(session, base) - before
        again = await router.process(AIRequest(prompt="Describe room 0"))
        return {
            "scenario": "cache",
            "entries": cache["entries"],
            "cache_bytes_estimate": cache["bytes"],
            "server_calls": calls,
            "answer_bytes_total": total,
            "hit_after_fill": again.cached,
            "answer_matches": again.text == answer_text(answer_bytes),
            "growth_bytes": growth,
            "growth_now_bytes": now,
            "peak_reset": meter.peak_reset,
            "top": top,
        }


async def scenario_inflight(base: str, count: int, profile: bool) -> dict[str, Any]:
    """Have `count` requests in flight at once, held by the server, and measure then."""
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session,
        aiohttp.ClientSession() as control,
    ):
        await configure(control, base, answer_bytes=None, hold=False)
        router = build_router(session, f"{base}/v1", cache_entries=0, cache_bytes=0)
        await send(router, range(WARM_UP), prefix="Warm up", cache=False)
        await configure(control, base, hold=True)
        before = await served(control, base)
        meter = Meter(profile)
        tasks = [
            asyncio.create_task(
                router.process(
                    AIRequest(prompt=f"Describe room {index}", use_cache=False)
                )
            )
            for index in range(count)
        ]
        deadline = time.monotonic() + 60
        while (held := (await server_count(control, base))["held"]) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server holds {held} of {count} requests")
            await asyncio.sleep(0.05)
        in_flight = sum(p.in_flight for p in router.snapshot().providers.values())
        growth = meter.growth()
        top = meter.top()
        async with control.post(f"{base}/_release") as response:
            response.raise_for_status()
        answers = await asyncio.gather(*tasks)
        peak = meter.peak_growth()
        return {
            "scenario": "inflight",
            "held": held,
            "router_in_flight": in_flight,
            "answered": sum(
                isinstance(a, AIResponse) and bool(a.text) for a in answers
            ),
            "server_calls": await served(control, base) - before,
            "growth_bytes": growth,
            "peak_growth_bytes": peak,
            "peak_reset": meter.peak_reset,
            "top": top,
        }


def run_scenario(base: str, scenario: str, args: list[str]) -> dict[str, Any]:
    """Run one scenario in a fresh Python process; return its JSON line."""
    command = [sys.executable, "-m", "bench.memory", "--base", base]
    out = subprocess.run(
        [*command, "--scenario", scenario, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if out.returncode:
        raise RuntimeError(f"scenario {scenario} failed:\n{out.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run(
    entries: int, answer_bytes: int, inflight: int, *, profile: bool = False
) -> dict[str, dict[str, Any]]:
    """Start the server, then each scenario in its own process."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(port)
    extra = ["--profile"] if profile else []
    try:
        return {
            "cache": run_scenario(
                base,
                "cache",
                [
                    "--entries",
                    str(entries),
                    "--answer-bytes",
                    str(answer_bytes),
                    *extra,
                ],
            ),
            "inflight": run_scenario(
                base, "inflight", ["--inflight", str(inflight), *extra]
            ),
        }
    finally:
        server.terminate()
        server.wait(timeout=10)


def summary(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The figures of the last line."""
    cache = results["cache"]
    inflight = results["inflight"]
    return {
        "cache_10k_mb": round(cache["growth_bytes"] / MB, 2),
        "cache_entries": cache["entries"],
        "cache_bytes_per_entry": round(
            cache["growth_bytes"] / max(cache["entries"], 1)
        ),
        "inflight_1k_mb": round(inflight["growth_bytes"] / MB, 2),
        "inflight_1k_peak_mb": round(inflight["peak_growth_bytes"] / MB, 2),
        "inflight_held": inflight["held"],
        "inflight_bytes_per_request": round(
            inflight["growth_bytes"] / max(inflight["held"], 1)
        ),
    }


def report(results: dict[str, dict[str, Any]]) -> None:
    """Print the figures, the profiles if any, and the JSON line."""
    cache = results["cache"]
    inflight = results["inflight"]
    print(
        f"cache: {cache['entries']} entries ({cache['answer_bytes_total'] // max(cache['entries'], 1)}"
        f" B answers), peak RSS +{cache['growth_bytes'] / MB:.2f} MiB"
        f" (the cache's own estimate {cache['cache_bytes_estimate'] / MB:.2f} MiB)"
    )
    print(
        f"inflight: {inflight['held']} held by the server, {inflight['router_in_flight']} in flight"
        f" in the router: RSS +{inflight['growth_bytes'] / MB:.2f} MiB;"
        f" peak through the answers +{inflight['peak_growth_bytes'] / MB:.2f} MiB"
    )
    for name, result in results.items():
        if result["top"]:
            print(f"top allocations, {name}:")
            for line in result["top"]:
                print(f"  {line}")
    print(json.dumps(summary(results)))


def main() -> None:
    """Parse the arguments; run everything, or one scenario (in a process of its own)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--answer-bytes", type=int, default=1024)
    parser.add_argument("--inflight", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--scenario", choices=("cache", "inflight"))
    parser.add_argument("--base")
    args = parser.parse_args()
    if args.scenario is None:
        report(
            run(args.entries, args.answer_bytes, args.inflight, profile=args.profile)
        )
        return
    raise_open_files_limit()
    if args.scenario == "cache":
        result = asyncio.run(
            scenario_cache(args.base, args.entries, args.answer_bytes, args.profile)
        )
    else:
        result = asyncio.run(scenario_inflight(args.base, args.inflight, args.profile))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
