"""The soak: many `aicleaner.analyze` calls over three simulated providers that fail 30 % of the time.

Used by `test_soak.py` (2,000 requests) and `scripts/soak` (10,000). Every provider gets one fault
rule per class of the error taxonomy it can produce (`SOAK_FAULTS`: 5xx, overload, 429, hang,
reset, stall, malformed and HTML bodies, content filter, context length, model access, quota,
cut-off body, and for OpenAI Azure's 400 content filter), together hitting 30 % of its generate
requests, drawn from the simulator's seeded RNG. The report counts what a reliability claim needs:

- `lost`: failed requests that some provider could have served at that moment, i.e. a provider
  that was neither called (every call of it failed with an injected fault) nor skipped because its
  breaker was open, it had just answered 429 or spent its quota, or an earlier answer said the
  request needs a larger context window than its model has;
- `misclassified`: a request whose error attempts at one provider are not, category for category,
  the faults injected into that request's calls there. A timeout counts as what happened first: an
  injected fault (or an answer) that arrived only after the attempt's whole timeout had run is a
  timeout, and is counted in `raced`;
- `caller_faults_counted`: failures that are no provider's fault (context length, content policy,
  model access, quota, a 429) that the breaker counted, and `breakers_opened_by_caller` among them;
- money: `ledger_answers_usd` (what the ledger booked for served answers) against
  `billed_answers_usd` (what the simulator billed for them), per provider, to the cent; and
  `ledger_usd` against `billed_usd`: a billed failure is booked at its reservation, an upper
  bound, so the ledger may be above the simulator's bill, never below;
- `overspend_usd`: spend above any budget in force;
- `leaked_tasks` / `leaked_timers` / `leaked_connections`: asyncio tasks, live timers and pooled
  HTTP connections still held after the traffic ended, over the count before it started.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
import random
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import orjson

from custom_components.aicleaner.router.breaker import BreakerState, CircuitBreaker
from custom_components.aicleaner.router.errors import (
    AICleanerError,
    ErrorCategory,
    ProviderError,
    QuotaExhaustedError,
)
from custom_components.aicleaner.router.models import (
    AIRequest,
    AIResponse,
    AttemptOutcome,
)
from tests.simulator import Fault, SimulatorServer
from tests.simulator.faults import FaultDecision, FaultTable

from .conftest import FAST_ATTEMPT_TIMEOUT

# (label, fault): every class of the taxonomy the issue names. The label is what `injected` counts.
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
    ("context_length", Fault(kind="context_length")),
    ("model_access", Fault(kind="model_access")),
    ("quota", Fault(kind="quota")),
    ("cut_off", Fault(kind="cut_off")),
    ("content_policy", Fault(kind="content_policy")),
)
# Faults a provider's API has no wording of its own for: Anthropic and Gemini refuse on policy
# grounds with a 200 (the content_filter fault), never a 400.
NOT_ON: dict[str, frozenset[str]] = {
    "anthropic": frozenset({"content_policy"}),
    "gemini": frozenset({"content_policy"}),
}
# The category each injected fault must come out as, on every provider...
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
    "context_length": ErrorCategory.CONTEXT_LENGTH,
    "model_access": ErrorCategory.MODEL_ACCESS,
    "quota": ErrorCategory.QUOTA,
    "cut_off": ErrorCategory.CUT_OFF,
    "content_policy": ErrorCategory.CONTENT_FILTER,
}
# ...except where the API words it otherwise: Anthropic and Gemini have no per-key model access;
# a model a key cannot call is "not found" to them.
EXPECTED_ON: dict[tuple[str, str], ErrorCategory] = {
    ("anthropic", "model_access"): ErrorCategory.MODEL_NOT_FOUND,
    ("gemini", "model_access"): ErrorCategory.MODEL_NOT_FOUND,
}
SOAK_PROVIDERS = ("openai", "anthropic", "gemini")
FAULT_SHARE = 0.30
# A spent quota pauses a provider for an hour; in a soak of seconds, for as long as a breaker.
SOAK_QUOTA_COOLDOWN = 0.05
# A worker's pause after a failed request: the breakers' open time.
_PAUSE_AFTER_FAILURE = 0.05
# Skips that mean "this provider could not serve the request at that moment".
_EXCUSED_SKIPS = frozenset(
    {
        ErrorCategory.BREAKER_OPEN,
        ErrorCategory.RATE_LIMITED_LOCAL,
        ErrorCategory.CONTEXT_LENGTH,
    }
)
# The client's connect timeout, as a share of its attempt timeout (`providers/base.py`).
_CONNECT_SHARE = 0.8
_SOAK_PROMPT = re.compile(rb"Soak request (\d+):")


def expected_category(kind: str, label: str) -> ErrorCategory:
    """The category fault `label` must come out as on provider `kind`."""
    return EXPECTED_ON.get((kind, label), EXPECTED_CATEGORY[label])


def soak_faults(kind: str) -> list[tuple[str, Fault]]:
    """The faults injected into provider `kind`."""
    skip = NOT_ON.get(kind, frozenset())
    return [(label, fault) for label, fault in SOAK_FAULTS if label not in skip]


def soak_rules(kind: str, share: float = FAULT_SHARE) -> list[tuple[str, Fault]]:
    """The fault rules of `kind` with rates such that each hits an equal part of `share`.

    Rules are drawn in order and the first hit wins, so rule i only sees what rules 0..i-1 missed.
    """
    faults = soak_faults(kind)
    each = share / len(faults)
    rules: list[tuple[str, Fault]] = []
    for index, (label, fault) in enumerate(faults):
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
    """The simulator's fault table, counting every terminal fault it hands out per provider.

    Each completion call is also noted per request (the number in its prompt): the fault injected
    into it, or None.
    """

    def __init__(self, table: FaultTable, labels: dict[Fault, str], sim: Any) -> None:
        self._table = table
        self._labels = labels
        self._sim = sim
        self.injected: dict[str, Counter[str]] = {}
        # Completion calls that reached the fault table, per provider: what the share applies to.
        self.calls: Counter[str] = Counter()
        self.per_request: defaultdict[tuple[str, int], list[str | None]] = defaultdict(
            list
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def decide(self, provider: str, endpoint: str) -> FaultDecision | None:
        decision = self._table.decide(provider, endpoint)
        label = None
        if decision is not None and decision.fault is not None:
            label = self._labels.get(decision.fault, decision.fault.kind)
            self.injected.setdefault(provider, Counter())[label] += 1
        if endpoint == "generate":
            self.calls[provider] += 1
            call = self._sim.current_call
            match = _SOAK_PROMPT.search(orjson.dumps(call.json)) if call else None
            if match is not None:
                self.per_request[provider, int(match.group(1))].append(label)
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
    billed_usd: float = 0.0
    raced: int = 0
    caller_faults_counted: int = 0
    breakers_opened_by_caller: int = 0
    # Per provider kind: what the ledger booked for served answers, what the simulator billed.
    ledger_answers_usd: dict[str, float] = field(default_factory=dict)
    billed_answers_usd: dict[str, float] = field(default_factory=dict)
    ledger_by_provider_usd: dict[str, float] = field(default_factory=dict)
    billed_by_provider_usd: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The one JSON line `scripts/soak` ends with."""
        keys = (
            "requests",
            "succeeded",
            "lost",
            "overspend_usd",
            "leaked_tasks",
            "leaked_connections",
            "ledger_usd",
            "billed_usd",
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
    sim.billed.clear()
    labels: dict[Fault, str] = {}
    counting = CountingFaults(sim.faults, labels, sim)
    sim.faults = counting  # type: ignore[assignment]
    for kind in SOAK_PROVIDERS:
        sim.clear_faults(kind)
        for label, fault in soak_rules(kind):
            labels[fault] = label
            sim.add_fault(kind, fault)

    log = BreakerLog()
    original_open = CircuitBreaker._open
    original_success = CircuitBreaker.record_success
    original_cooldown = QuotaExhaustedError.cooldown_seconds

    def spy_open(breaker: CircuitBreaker) -> None:
        log.opened.append((id(breaker), breaker._state, breaker.consecutive_failures))
        original_open(breaker)

    def spy_success(breaker: CircuitBreaker) -> None:
        if breaker._state is not BreakerState.CLOSED:
            log.closed.append(id(breaker))
        original_success(breaker)

    # Every failure settled: whether the breaker counted it, and whether that opened it.
    counted_by_breaker: list[tuple[ErrorCategory, bool]] = []
    settle_failure = router._settle_failure

    def spy_settle_failure(slot: Any, error: ProviderError, *args: Any) -> None:
        breaker = slot.breaker
        before, state = breaker.consecutive_failures, breaker._state
        settle_failure(slot, error, *args)
        if breaker.consecutive_failures > before and not error.counts_against_health:
            opened = (
                state is not BreakerState.OPEN and breaker._state is BreakerState.OPEN
            )
            counted_by_breaker.append((error.category, opened))

    # What the simulator billed for each request's whole answers, per provider and request number.
    answer_bills: defaultdict[tuple[str, int], list[float]] = defaultdict(list)

    def on_bill(provider: str, request: Any, cost: float, spoilt: bool) -> None:
        match = _SOAK_PROMPT.search(orjson.dumps(request))
        if match is not None and not spoilt:
            answer_bills[provider, int(match.group(1))].append(cost)

    sim.billed.on_bill = on_bill

    # Each request's outcome, by the number in its prompt.
    outcomes: dict[int, AIResponse | AICleanerError] = {}
    process = router.process

    async def numbered_process(request: AIRequest) -> AIResponse:
        match = _SOAK_PROMPT.search(request.prompt.encode())
        try:
            response = await process(request)
        except AICleanerError as err:
            if match is not None:
                outcomes[int(match.group(1))] = err
            raise
        if match is not None:
            outcomes[int(match.group(1))] = response
        return response

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
                # As a real caller would, it waits a moment before its next request: without
                # that, while every breaker is open (0.05 s), the workers would burn through
                # hundreds of requests, a share that grows with the machine's speed.
                await asyncio.sleep(_PAUSE_AFTER_FAILURE)
            else:
                succeeded += 1

    CircuitBreaker._open = spy_open  # type: ignore[method-assign]
    CircuitBreaker.record_success = spy_success  # type: ignore[method-assign]
    QuotaExhaustedError.cooldown_seconds = SOAK_QUOTA_COOLDOWN
    router._settle_failure = spy_settle_failure  # type: ignore[method-assign]
    router.process = numbered_process  # type: ignore[method-assign]
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        CircuitBreaker._open = original_open  # type: ignore[method-assign]
        CircuitBreaker.record_success = original_success  # type: ignore[method-assign]
        QuotaExhaustedError.cooldown_seconds = original_cooldown
        sim.billed.on_bill = None
        del router._settle_failure
        del router.process

    # The money of the traffic, before the checks below add their own answers.
    summary = router.get_cost_summary()
    billed = sim.billed.as_dict()

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

    tally = _tally(
        outcomes, names, counting.per_request, answer_bills, set(router.provider_names)
    )
    classified, misclassified = tally.classified, tally.misclassified
    lost, unservable, raced = tally.lost, tally.unservable, tally.raced
    answers, answers_billed = tally.answers, tally.answers_billed

    overspend = 0.0
    limit = summary["global_daily_budget"] if budget_usd is None else budget_usd
    if limit is not None:
        overspend = max(0.0, summary["total_cost"] - limit)
    for figures in summary["provider_costs"].values():
        if figures["daily_budget"] is not None:
            overspend += max(0.0, figures["total_cost"] - figures["daily_budget"])
    starts = Counter(state for _, state, _ in log.opened)
    early = sum(
        1
        for _, state, failures in log.opened
        if state is BreakerState.CLOSED and failures < _threshold(router)
    )
    ledger_by_kind = {
        names[key]: figures["total_cost"]
        for key, figures in summary["provider_costs"].items()
    }
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
        ledger_usd=summary["total_cost"],
        billed_usd=sum(figures["total"] for figures in billed.values()),
        raced=raced,
        caller_faults_counted=len(counted_by_breaker),
        breakers_opened_by_caller=sum(opened for _, opened in counted_by_breaker),
        ledger_answers_usd={kind: answers[kind] for kind in SOAK_PROVIDERS},
        billed_answers_usd={kind: answers_billed[kind] for kind in SOAK_PROVIDERS},
        ledger_by_provider_usd=ledger_by_kind,
        billed_by_provider_usd={
            kind: billed.get(kind, {}).get("total", 0.0) for kind in SOAK_PROVIDERS
        },
    )


@dataclass
class _Tally:
    """What the outcomes of the soak's requests say, request by request."""

    classified: dict[str, Counter[str]]
    misclassified: list[str]
    lost: int
    unservable: int
    raced: int
    answers: Counter[str]
    answers_billed: Counter[str]


def _tally(
    outcomes: dict[int, AIResponse | AICleanerError],
    names: dict[str, str],
    per_request: dict[tuple[str, int], list[str | None]],
    answer_bills: dict[tuple[str, int], list[float]],
    provider_names: set[str],
) -> _Tally:
    """Classify, match to the injected faults, price and excuse every request's outcome."""
    classified: dict[str, Counter[str]] = {}
    lost = unservable = raced = 0
    misclassified: list[str] = []
    # Served answers, per provider: booked by the ledger, and billed by the simulator for the
    # same answer (requests whose provider also answered an attempt the client had given up on
    # are left out: which of two bills was the served answer's cannot be told).
    answers: Counter[str] = Counter()
    answers_billed: Counter[str] = Counter()
    timeout_ms = FAST_ATTEMPT_TIMEOUT * 1000
    for number, outcome in sorted(outcomes.items()):
        attempts = outcome.attempts if hasattr(outcome, "attempts") else ()
        by_provider: defaultdict[str, list[Any]] = defaultdict(list)
        for attempt in attempts:
            if attempt.outcome is AttemptOutcome.ERROR:
                kind = names[attempt.provider]
                classified.setdefault(kind, Counter())[str(attempt.category)] += 1
            if attempt.outcome is not AttemptOutcome.SKIPPED:
                by_provider[names[attempt.provider]].append(attempt)
        for kind in SOAK_PROVIDERS:
            problem, timeouts_raced = _compare(
                kind,
                per_request.get((kind, number), []),
                by_provider.get(kind, []),
                timeout_ms,
            )
            raced += timeouts_raced
            if problem:
                misclassified.append(f"request {number}, {kind}: {problem}")
        if isinstance(outcome, AIResponse):
            kind = names[outcome.provider]
            bills = answer_bills.get((kind, number), [])
            if len(bills) == 1:
                answers[kind] += outcome.cost
                answers_billed[kind] += bills[0]
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
        if excused >= provider_names:
            unservable += 1
        else:
            lost += 1
    return _Tally(
        classified, misclassified, lost, unservable, raced, answers, answers_billed
    )


def _compare(
    kind: str, injected: list[str | None], attempts: list[Any], timeout_ms: float
) -> tuple[str, int]:
    """Match one request's calls to a provider with its attempts there: (problem, timeouts raced).

    Each call is one attempt. Each injected fault must come out as its category, and an un-faulted
    call as a success, except that a timeout counts as what happened first: an attempt that ran its
    whole timeout is a timeout whatever arrived after (or with) the timer, and one whose connection
    was not made within the connect timeout (`_CONNECT_SHARE` of it) a network error, whether or not
    the simulator got to the call at all. Compared as multisets: under load, two attempts' calls
    can reach the simulator out of order.
    """
    expected = Counter(
        "success" if label is None else str(expected_category(kind, label))
        for label in injected
    )
    got = Counter(str(a.category) if a.category else "success" for a in attempts)
    if expected == got:
        return "", 0
    missing, extra = expected - got, got - expected
    late = {
        str(ErrorCategory.TIMEOUT): timeout_ms,
        str(ErrorCategory.NETWORK): timeout_ms * _CONNECT_SHARE,
    }
    if (
        set(extra) <= set(late)
        and missing.total() <= extra.total()
        and all(
            a.latency_ms >= late[str(a.category)]
            for a in attempts
            if str(a.category) in extra
        )
    ):
        return "", extra.total()
    return f"injected {dict(expected)}, got {dict(got)}", 0


def _threshold(router: Any) -> int:
    thresholds = {slot.settings.breaker.failure_threshold for slot in router._slot_list}
    return min(thresholds)
