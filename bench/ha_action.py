"""What the `aicleaner.analyze` action adds to the router, in a real Home Assistant core.

    scripts/run python -m bench.ha_action [--requests 2000] [--rounds 5] [--setups 20]

A Home Assistant core runs in this process, started as HA's own bootstrap does it (config dir in a
temporary folder, real storage, registries, auth and config entries, the core integrations and
`network`; AICleaner's dependencies as it pulls them in: ai_task, conversation, http...; no frontend,
no recorder). The core is marked running without the start event, so the HTTP server, which starts
on that event, never listens (its store names loopback in any case). AICleaner is set up from a config entry with 3 OpenAI provider subentries
(adaptive strategy, cache off, limits too high to bind) against `bench.openai_server`, which runs in
its own process. Two contenders, interleaved in rounds (router, action, router, action, ...), each
sending N requests at concurrency 1 and 32:
- router: `await router.process(AIRequest(...))` on the loaded entry's own router
  (`entry.runtime_data.router`), the baseline;
- action: `hass.services.async_call("aicleaner", "analyze", ..., blocking=True,
  return_response=True)`: schema validation, the entry lookup, the request build, the same router,
  the `aicleaner_analysis_complete` event and the response dict.
Both use `use_cache=False`. The ratio is action req/s over router req/s from the same run.

Then it times setting the integration up: a config entry with 5 provider subentries (OpenAI,
Anthropic, Gemini, Ollama, OpenAI-compatible), unloaded and set up again `--setups` times;
`hass.config_entries.async_setup` is timed (router, vault, ledger load, repair checks, the
coordinator's first refresh and the five entity platforms). Setup makes no network call by design
(the first health calls follow 5 s later); the providers point at the benchmark server, and the run
checks that the server saw no request at all during the setups. The first setup, which imports the
platforms, is reported apart. The output ends with one JSON line; nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
import json
import logging
from pathlib import Path
import statistics
import tempfile
import time
from types import MappingProxyType
from typing import Any

import aiohttp
from homeassistant import auth, bootstrap, loader
from homeassistant.config_entries import (
    SOURCE_USER,
    ConfigEntries,
    ConfigEntry,
    ConfigEntryState,
)
from homeassistant.const import CONF_API_KEY
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_system import METRIC_SYSTEM

from bench.openai_server import DEFAULT_TEXT
from bench.router_http import (
    CONCURRENCIES,
    MODEL,
    OPEN_LIMITS,
    Result,
    free_port,
    run_round,
    served,
    start_server,
)

# Imported before Home Assistant looks for custom integrations, so that its loader finds this
# checkout's package rather than one in the (empty) config dir.
from custom_components.aicleaner import PLATFORMS
from custom_components.aicleaner.const import (
    CONF_API_KEY_SET_AT,
    CONF_BASE_URL,
    CONF_CACHE_TTL,
    CONF_DAILY_BUDGET,
    CONF_GLOBAL_DAILY_BUDGET,
    CONF_MODEL,
    CONF_PRIORITY,
    CONF_RATE_LIMIT_RPH,
    CONF_RATE_LIMIT_RPM,
    CONF_RATE_LIMIT_TPM,
    CONF_SELECTION_STRATEGY,
    CONF_SERVER_ROLE,
    DOMAIN,
    SERVER_RUNS_MODELS,
)
from custom_components.aicleaner.credentials import async_get_vault
from custom_components.aicleaner.router.models import AIRequest
from custom_components.aicleaner.runtime import AICleanerConfigEntry
from tests.e2e.hass_process import write_http_store

WARM_UP = 50
ACTION_PROVIDERS = (("openai", MODEL),) * 3
SETUP_PROVIDERS = (
    ("openai", MODEL),
    ("anthropic", "claude-haiku-4-5"),
    ("gemini", "gemini-2.5-flash"),
    ("ollama", "llava"),
    ("openai_compatible", MODEL),
)
OPTIONS = {
    CONF_SELECTION_STRATEGY: "adaptive",
    CONF_CACHE_TTL: 0,
    CONF_GLOBAL_DAILY_BUDGET: 1_000_000.0,
}


@dataclass
class Report:
    """Everything one run measured."""

    results: dict[str, dict[int, Result]] = field(default_factory=dict)
    # Seconds of each timed setup, and of the first one (platform imports included).
    setups: list[float] = field(default_factory=list)
    first_setup: float = 0.0
    # Requests the server saw during the setups: 0 when setup makes no network call.
    setup_requests: int = 0
    # One answer of the action, as it returned it, to show it really came from the server.
    sample_answer: dict[str, Any] = field(default_factory=dict)


@asynccontextmanager
async def home_assistant(config_dir: Path) -> AsyncIterator[HomeAssistant]:
    """A running Home Assistant core with AICleaner's component set up, as bootstrap starts it."""
    time_zone = dt_util.get_default_time_zone()
    hass = HomeAssistant(str(config_dir))
    hass.config.skip_pip = True
    hass.config.units = METRIC_SYSTEM
    await hass.config.async_set_time_zone("UTC")
    hass.config_entries = ConfigEntries(hass, {})
    loader.async_setup(hass)
    await bootstrap.async_load_base_functionality(hass)
    hass.auth = await auth.auth_manager_from_config(hass, [], [])
    hass.set_state(CoreState.running)
    write_http_store(config_dir, free_port())
    try:
        # As HA's bootstrap: the core integrations, then `network` (HA's shared HTTP client asks
        # it for the adapters). The HTTP server (ai_task needs `http`) would listen only after the
        # start event, which is never fired; its store names loopback all the same.
        for domain in ("homeassistant", "persistent_notification", "network"):
            assert await async_setup_component(hass, domain, {})
        assert await async_setup_component(hass, DOMAIN, {})
        yield hass
    finally:
        await hass.async_stop()
        # Setting HA's time zone sets the process's default; put it back for whoever runs next.
        dt_util.set_default_time_zone(time_zone)


async def add_entry(
    hass: HomeAssistant, url: str, providers: tuple[tuple[str, str], ...]
) -> AICleanerConfigEntry:
    """Add (and so set up) an AICleaner entry with one subentry per (kind, model)."""
    vault = await async_get_vault(hass)
    now = dt_util.utcnow().isoformat()
    subentries = []
    for index, (kind, model) in enumerate(providers):
        data: dict[str, Any] = {
            CONF_BASE_URL: url,
            CONF_MODEL: model,
            CONF_PRIORITY: index + 1,
            CONF_DAILY_BUDGET: OPEN_LIMITS.daily_budget,
            CONF_RATE_LIMIT_RPM: OPEN_LIMITS.rate_limit_rpm,
            CONF_RATE_LIMIT_TPM: OPEN_LIMITS.rate_limit_tpm,
            CONF_RATE_LIMIT_RPH: OPEN_LIMITS.rate_limit_rph,
        }
        if kind != "ollama":
            data |= {CONF_API_KEY: vault.encrypt("sk-bench"), CONF_API_KEY_SET_AT: now}
        if kind == "openai_compatible":
            data[CONF_SERVER_ROLE] = SERVER_RUNS_MODELS
        subentries.append(
            {
                "data": data,
                "subentry_type": kind,
                "title": f"Provider {index}",
                "unique_id": None,
            }
        )
    entry: AICleanerConfigEntry = ConfigEntry(
        data={},
        discovery_keys=MappingProxyType({}),
        domain=DOMAIN,
        minor_version=2,
        options=OPTIONS,
        source=SOURCE_USER,
        subentries_data=subentries,  # type: ignore[arg-type]
        title="AICleaner",
        unique_id=None,
        version=1,
    )
    await hass.config_entries.async_add(entry)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED, entry.state
    # Every entity platform set up, ai_task included (it needs conversation, http...).
    assert {f"{DOMAIN}.{platform}" for platform in PLATFORMS} <= hass.config.components
    return entry


async def bench_action(
    hass: HomeAssistant,
    entry: AICleanerConfigEntry,
    session: aiohttp.ClientSession,
    base: str,
    *,
    n: int,
    rounds: int,
    report: Report,
) -> None:
    """Interleave the router and the action at each concurrency; check both reach the server."""
    router = entry.runtime_data.router

    async def direct(index: int) -> object:
        return await router.process(
            AIRequest(prompt=f"Describe room {index}", use_cache=False)
        )

    async def action(index: int) -> object:
        return await hass.services.async_call(
            DOMAIN,
            "analyze",
            {"prompt": f"Describe room {index}", "use_cache": False},
            blocking=True,
            return_response=True,
        )

    calls = {"router": direct, "action": action}
    for name, call in calls.items():  # warm up, and check real work
        before = await served(session, base)
        for index in range(WARM_UP):
            answer = await call(index)
        assert await served(session, base) - before == WARM_UP, name
    assert isinstance(answer, dict)
    assert answer["text"] == DEFAULT_TEXT, answer
    report.sample_answer = answer
    for concurrency in CONCURRENCIES:
        for _ in range(rounds):
            for name, call in calls.items():
                result = report.results.setdefault(name, {}).setdefault(
                    concurrency, Result()
                )
                await run_round(call, n, concurrency, result)


async def requests_seen(session: aiohttp.ClientSession, base: str) -> int:
    """Every API request the server has seen, health calls included."""
    async with session.get(f"{base}/_count") as response:
        count: int = (await response.json())["requests"]
        return count


async def bench_setup(
    hass: HomeAssistant,
    session: aiohttp.ClientSession,
    base: str,
    setups: int,
    report: Report,
) -> None:
    """Time setting up an entry with 5 providers; check no setup calls the network."""
    before = await requests_seen(session, base)
    started = time.perf_counter()
    entry = await add_entry(hass, f"{base}/v1", SETUP_PROVIDERS)
    report.first_setup = time.perf_counter() - started
    for _ in range(setups):
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        started = time.perf_counter()
        assert await hass.config_entries.async_setup(entry.entry_id)
        report.setups.append(time.perf_counter() - started)
        assert entry.state is ConfigEntryState.LOADED
        assert len(entry.runtime_data.router.provider_names) == len(SETUP_PROVIDERS)
        await hass.async_block_till_done()
    report.setup_requests = await requests_seen(session, base) - before
    await hass.config_entries.async_remove(entry.entry_id)


async def run(n: int, rounds: int, setups: int) -> Report:
    """Start the server and Home Assistant; bench the action, then the setup."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(port)
    report = Report()
    try:
        async with aiohttp.ClientSession() as session:
            with tempfile.TemporaryDirectory() as folder:
                async with home_assistant(Path(folder)) as hass:
                    entry = await add_entry(hass, f"{base}/v1", ACTION_PROVIDERS)
                    await bench_action(
                        hass, entry, session, base, n=n, rounds=rounds, report=report
                    )
                    await hass.config_entries.async_remove(entry.entry_id)
                    await hass.async_block_till_done()
                    await bench_setup(hass, session, base, setups, report)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return report


def summary(report: Report) -> dict[str, Any]:
    """The figures of the last line."""
    router = report.results["router"]
    action = report.results["action"]
    return {
        "ha_router_rps": {f"c{c}": round(router[c].rps, 1) for c in CONCURRENCIES},
        "action_rps": {f"c{c}": round(action[c].rps, 1) for c in CONCURRENCIES},
        "action_vs_router": {
            f"c{c}": round(action[c].rps / router[c].rps, 3) for c in CONCURRENCIES
        },
        "action_added_p50_us": round(
            action[1].percentile(0.5) - router[1].percentile(0.5), 1
        ),
        "setup_5_providers_ms": round(statistics.median(report.setups) * 1e3, 2),
        "setup_5_providers_first_ms": round(report.first_setup * 1e3, 2),
        "setup_network_requests": report.setup_requests,
    }


def print_report(report: Report) -> None:
    """Print the table and the JSON line."""
    router = report.results["router"]
    print(
        f"{'contender':<13}{'conc':>5}{'req/s':>10}{'p50 µs':>10}{'p99 µs':>10}{'+µs p50':>10}"
    )
    for name, by_concurrency in report.results.items():
        for concurrency, result in by_concurrency.items():
            added = result.percentile(0.5) - router[concurrency].percentile(0.5)
            print(
                f"{name:<13}{concurrency:>5}{result.rps:>10.0f}"
                f"{result.percentile(0.5):>10.1f}{result.percentile(0.99):>10.1f}{added:>10.1f}"
            )
    ms = sorted(s * 1e3 for s in report.setups)
    print(
        f"setup, 5 providers: median {statistics.median(ms):.2f} ms, "
        f"min {ms[0]:.2f}, max {ms[-1]:.2f} over {len(ms)}; "
        f"first {report.first_setup * 1e3:.1f} ms; "
        f"requests to the server during setups: {report.setup_requests}"
    )
    print(json.dumps(summary(report)))


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--setups", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    # The loader warns once that a custom integration is loaded; that is the point here.
    logging.getLogger("homeassistant.loader").setLevel(logging.ERROR)
    logging.getLogger("aiohttp_fast_zlib").setLevel(logging.ERROR)
    print_report(asyncio.run(run(args.requests, args.rounds, args.setups)))


if __name__ == "__main__":
    main()
