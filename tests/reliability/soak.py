"""The soak: many `aicleaner.analyze` calls over three simulated providers that fail 30 % of the time.

Used by `test_soak.py` (2,000 requests) and `scripts/soak` (10,000). Every provider gets ten fault
rules, one per category, each hitting 3 % of its generate requests (30 % in all), drawn from the
simulator's seeded RNG. The report counts what a reliability claim needs:

- `lost`: failed requests that some provider could have served at that moment, i.e. a provider
  that was neither called (every call of it failed with an injected fault) nor skipped because its
  breaker was open or it had just answered 429;
- `overspend_usd`: spend above any budget in force;
- `leaked_tasks` / `leaked_timers` / `leaked_connections`: asyncio tasks, live timers and pooled
  HTTP connections still held after the traffic ended, over the count before it started.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import asdict, dataclass, field
import random
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from custom_components.aicleaner.router.breaker import BreakerState, CircuitBreaker
from custom_components.aicleaner.router.errors import AICleanerError, ErrorCategory
from custom_components.aicleaner.router.models import AIResponse, AttemptOutcome
from tests.simulator import Fault, SimulatorServer
from tests.simulator.faults import FaultDecision, FaultTable

# (label, fault): every category the issue names. The label is what `injected` counts.
SOAK_FAULTS: tuple[tuple[str, Fault], ...] = (
    ("500", Fault(kind="status", status=500)),
    ("503", Fault(kind="status", status=503)),
    ("529", Fault(kind="status", status=529)),
    ("429", Fault(kind="rate_limit", retry_after=0.05)),
    ("timeout", Fault(kind="hang")),
    ("reset", Fault(kind="reset")),
    ("stall", Fault(kind="stall")),
    ("malformed_json", Fault(kind="malformed_json")),
    ("html", Fault(kind="html")),
    ("content_filter", Fault(kind="content_filter")),
)
# The category each injected fault must come out as, on every provider.
EXPECTED_CATEGORY: dict[str, ErrorCategory] = {
    "500": ErrorCategory.PROVIDER,
    "503": ErrorCategory.OVERLOADED,
    "529": ErrorCategory.OVERLOADED,
    "429": ErrorCategory.RATE_LIMIT,
    "timeout": ErrorCategory.TIMEOUT,
    "reset": ErrorCategory.NETWORK,
    "stall": ErrorCategory.TIMEOUT,
    "malformed_json": ErrorCategory.MALFORMED,
    "html": ErrorCategory.PROVIDER,
    "content_filter": ErrorCategory.CONTENT_FILTER,
}
SOAK_PROVIDERS = ("openai", "anthropic", "gemini")
FAULT_SHARE = 0.30
# Skips that mean "this provider could not serve the request at that moment".
_EXCUSED_SKIPS = frozenset(
    {ErrorCategory.BREAKER_OPEN, ErrorCategory.RATE_LIMITED_LOCAL}
)


def soak_rules(share: float = FAULT_SHARE) -> list[tuple[str, Fault]]:
    """The fault rules with rates such that each category hits `share / 10` of all requests.

    Rules are drawn in order and the first hit wins, so rule i only sees what rules 0..i-1 missed.
    """
    each = share / len(SOAK_FAULTS)
    rules: list[tuple[str, Fault]] = []
    for index, (label, fault) in enumerate(SOAK_FAULTS):
        rate = each / (1 - each * index)
        rules.append(
            (
                label,
                Fault(
                    kind=fault.kind,
                    status=fault.status,
                    retry_after=fault.retry_after,
                    rate=rate,
                    endpoint="generate",
                ),
            )
        )
    return rules


class CountingFaults:
    """The simulator's fault table, counting every terminal fault it hands out per provider."""

    def __init__(self, table: FaultTable, labels: dict[Fault, str]) -> None:
        self._table = table
        self._labels = labels
        self.injected: dict[str, Counter[str]] = {}
        # Completion calls that reached the fault table, per provider: what the share applies to.
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def decide(self, provider: str, endpoint: str) -> FaultDecision | None:
        decision = self._table.decide(provider, endpoint)
        if endpoint == "generate":
            self.calls[provider] += 1
        if decision is not None and decision.fault is not None:
            label = self._labels.get(decision.fault, decision.fault.kind)
            self.injected.setdefault(provider, Counter())[label] += 1
        return decision


@dataclass
class BreakerLog:
    """Every breaker opening: the state it opened from and the failures in a row at that moment."""

    opened: list[tuple[int, BreakerState, int]] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)


@dataclass
class SoakReport:
    """What a soak run measured."""

    requests: int
    succeeded: int
    lost: int
    overspend_usd: float
    leaked_tasks: int
    leaked_connections: int
    leaked_timers: int = 0
    unservable: int = 0
    injected: dict[str, dict[str, int]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    classified: dict[str, dict[str, int]] = field(default_factory=dict)
    misclassified: list[str] = field(default_factory=list)
    breaker_opens: int = 0
    breaker_opens_early: int = 0
    breakers_closed_at_end: bool = True
    ledger_usd: float = 0.0

    def summary(self) -> dict[str, Any]:
        """The one JSON line `scripts/soak` ends with."""
        keys = (
            "requests",
            "succeeded",
            "lost",
            "overspend_usd",
            "leaked_tasks",
            "leaked_connections",
        )
        data = asdict(self)
        return {key: data[key] for key in keys}


# Timers of an idle keep-alive connection (server side) and of the client's connection pool: they
# are counted as connections, below, not as timers.
_POOL_TIMERS = frozenset({"RequestHandler._process_keepalive", "_weakref_handle"})


def _live_timers(loop: asyncio.AbstractEventLoop) -> int:
    scheduled: list[asyncio.TimerHandle] = getattr(loop, "_scheduled", [])
    return sum(
        1
        for handle in scheduled
        if not handle.cancelled()
        and getattr(handle._callback, "__qualname__", "") not in _POOL_TIMERS
    )


def _connections(hass: HomeAssistant, server: SimulatorServer) -> tuple[int, int, int]:
    """HA's session: connections in use and idle in its pool; the simulator: connections open."""
    connector = async_get_clientsession(hass).connector
    acquired = len(getattr(connector, "_acquired", ()))
    pooled = sum(len(idle) for idle in getattr(connector, "_conns", {}).values())
    runner = server._runner
    open_on_server = (
        0 if runner is None or runner.server is None else len(runner.server.connections)
    )
    return acquired, pooled, open_on_server


async def run_soak(
    hass: HomeAssistant,
    server: SimulatorServer,
    *,
    requests: int,
    concurrency: int = 24,
    seed: int = 14,
    budget_usd: float | None = None,
) -> SoakReport:
    """Send `requests` analyze calls, `concurrency` at a time; measure and return the report.

    The entry must be set up already, with the providers of `SOAK_PROVIDERS` (titles = kinds).
    """
    from custom_components.aicleaner.const import DOMAIN

    entry = hass.config_entries.async_entries(DOMAIN)[0]
    router = entry.runtime_data.router
    names = {key: sub.title for key, sub in entry.subentries.items()}
    sim = server.sim
    sim.rng.seed(seed)
    sim.record = False
    labels: dict[Fault, str] = {}
    counting = CountingFaults(sim.faults, labels)
    sim.faults = counting  # type: ignore[assignment]
    for kind in SOAK_PROVIDERS:
        sim.clear_faults(kind)
        for label, fault in soak_rules():
            labels[fault] = label
            sim.add_fault(kind, fault)

    log = BreakerLog()
    original_open = CircuitBreaker._open
    original_success = CircuitBreaker.record_success

    def spy_open(breaker: CircuitBreaker) -> None:
        log.opened.append((id(breaker), breaker._state, breaker.consecutive_failures))
        original_open(breaker)

    def spy_success(breaker: CircuitBreaker) -> None:
        if breaker._state is not BreakerState.CLOSED:
            log.closed.append(id(breaker))
        original_success(breaker)

    outcomes: list[AIResponse | AICleanerError] = []
    remove = router.add_listener(outcomes.append)
    loop = asyncio.get_running_loop()
    await hass.async_block_till_done()
    tasks_before = len(asyncio.all_tasks())
    timers_before = _live_timers(loop)
    acquired_before, _, _ = _connections(hass, server)

    rng = random.Random(seed)
    queue = list(range(requests))
    succeeded = 0
    failed_messages: list[str] = []

    async def worker() -> None:
        nonlocal succeeded
        while queue:
            number = queue.pop()
            try:
                await hass.services.async_call(
                    DOMAIN,
                    "analyze",
                    {
                        "prompt": f"Soak request {number}: {rng.random():.6f}",
                        "use_cache": False,
                    },
                    blocking=True,
                    return_response=True,
                )
            except HomeAssistantError as err:
                failed_messages.append(str(err))
            else:
                succeeded += 1

    CircuitBreaker._open = spy_open  # type: ignore[method-assign]
    CircuitBreaker.record_success = spy_success  # type: ignore[method-assign]
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        CircuitBreaker._open = original_open  # type: ignore[method-assign]
        CircuitBreaker.record_success = original_success  # type: ignore[method-assign]
        remove()

    # Faults off: every breaker that is open must close again through its half-open trials.
    sim.faults = counting._table
    sim.clear_faults()
    await asyncio.sleep(0.3)  # longer than the breaker open time
    for number in range(10):
        await hass.services.async_call(
            DOMAIN,
            "analyze",
            {"prompt": f"After the soak {number}", "use_cache": False},
            blocking=True,
            return_response=True,
        )
    for key in router.provider_names:
        # A provider behind a healthy first one only sees traffic when pinned.
        await hass.services.async_call(
            DOMAIN,
            "analyze",
            {"prompt": f"Pinned {key}", "provider": names[key], "use_cache": False},
            blocking=True,
            return_response=True,
        )
    closed_at_end = all(
        router.provider_stats(key).breaker_state == BreakerState.CLOSED
        for key in router.provider_names
    )

    await sim.wait_idle()
    await entry.runtime_data.ledger.async_save()
    await hass.async_block_till_done()
    # The coordinator's one-second throttle of entity updates runs out.
    await asyncio.sleep(1.1)
    acquired, pooled, open_on_server = _connections(hass, server)
    # Each connection the client keeps for reuse has one idle handler task on the server: those
    # are the pool, not leaks. Anything else still running is.
    leaked_tasks = max(0, len(asyncio.all_tasks()) - tasks_before - open_on_server)
    leaked_timers = max(0, _live_timers(loop) - timers_before)
    # In use after the traffic ended, open on the server without being in the client's pool, or a
    # simulator handler still running.
    leaked_connections = (
        max(0, acquired - acquired_before)
        + abs(open_on_server - pooled)
        + max(0, sim.in_flight)
    )

    # Classification: every error attempt of a provider is one injected fault, category by kind.
    classified: dict[str, Counter[str]] = {}
    lost = unservable = 0
    success_cost = 0.0
    for outcome in outcomes:
        attempts = outcome.attempts if hasattr(outcome, "attempts") else ()
        for attempt in attempts:
            if attempt.outcome is AttemptOutcome.ERROR:
                kind = names[attempt.provider]
                classified.setdefault(kind, Counter())[str(attempt.category)] += 1
        if isinstance(outcome, AIResponse):
            success_cost += outcome.cost
            continue
        excused = set()
        for attempt in attempts:
            if attempt.outcome is AttemptOutcome.ERROR or (
                attempt.outcome is AttemptOutcome.SKIPPED
                and attempt.category in _EXCUSED_SKIPS
            ):
                excused.add(attempt.provider)
            else:
                excused.discard(attempt.provider)
        if excused >= set(router.provider_names):
            unservable += 1
        else:
            lost += 1
    misclassified: list[str] = []
    for kind in SOAK_PROVIDERS:
        expected: Counter[str] = Counter()
        for label, count in counting.injected.get(kind, Counter()).items():
            expected[str(EXPECTED_CATEGORY[label])] += count
        got = classified.get(kind, Counter())
        if expected != got:
            misclassified.append(f"{kind}: injected {dict(expected)}, got {dict(got)}")

    cost = router.get_cost_summary()
    overspend = 0.0
    limit = cost["global_daily_budget"] if budget_usd is None else budget_usd
    if limit is not None:
        overspend = max(0.0, cost["total_cost"] - limit)
    for figures in cost["provider_costs"].values():
        if figures["daily_budget"] is not None:
            overspend += max(0.0, figures["total_cost"] - figures["daily_budget"])
    starts = Counter(state for _, state, _ in log.opened)
    early = sum(
        1
        for _, state, failures in log.opened
        if state is BreakerState.CLOSED and failures < _threshold(router)
    )
    return SoakReport(
        requests=requests,
        succeeded=succeeded,
        lost=lost,
        overspend_usd=round(overspend, 6),
        leaked_tasks=leaked_tasks,
        leaked_connections=leaked_connections,
        leaked_timers=leaked_timers,
        unservable=unservable,
        injected={k: dict(v) for k, v in counting.injected.items()},
        calls=dict(counting.calls),
        classified={k: dict(v) for k, v in classified.items()},
        misclassified=misclassified,
        breaker_opens=sum(starts.values()),
        breaker_opens_early=early,
        breakers_closed_at_end=closed_at_end,
        ledger_usd=cost["total_cost"],
    )


def _threshold(router: Any) -> int:
    thresholds = {slot.settings.breaker.failure_threshold for slot in router._slot_list}
    return min(thresholds)
