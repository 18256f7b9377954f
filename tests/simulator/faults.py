"""Fault injection: what can go wrong on the wire, per provider, chosen with a seeded RNG."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
import random
from typing import Any, Literal, get_args

FaultKind = Literal[
    "status",  # an error status with the provider's own error body (or a custom one)
    "rate_limit",  # 429 with retry information in the provider's own style
    "latency",  # extra delay before the normal answer; combines with other faults
    "hang",  # never answer; ends when the client disconnects or the server stops
    "stall",  # send the headers and half the real body, then hang the same way
    "reset",  # abort the TCP connection (RST) without a response
    "malformed_json",  # 200 application/json whose body is cut in half
    "html",  # an HTML error page (502 from a proxy, or 200 from a captive portal)
    "content_filter",  # the provider's own content-filter answer
    "oversize",  # 200 application/json far larger than any real answer
    "cut_off",  # 200 with the real headers and half the body, then a TCP reset
    # The error taxonomy's classes, each as the provider's API words it (`taxonomy.py`):
    "context_length",  # the prompt does not fit the model's window
    "model_access",  # the model exists, but this key may not use it
    "quota",  # the account's quota or credit is spent
    "content_policy",  # a 400 refusal on policy grounds (Azure's content_filter)
    "transient_image",  # Gemini's 400 "Unable to process input image. Please retry"
    "out_of_memory",  # Ollama cannot load the model
    "stream_stall",  # a stream sends `after_chunks` events, then hangs like "hang"
    "stream_cut",  # a stream sends `after_chunks` events, then the connection is cut
    "stream_slow",  # a stream sends each event `latency` seconds after the one before
]
FaultEndpoint = Literal["all", "generate", "models"]

FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
FAULT_ENDPOINTS: frozenset[str] = frozenset(get_args(FaultEndpoint))


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """One fault rule for a provider.

    rate: share of matching requests hit (0..1), drawn from the simulator's seeded RNG.
    count: only the next N hits (None = until cleared).
    endpoint: "generate" (completions), "models" (model list / health) or "all".
    status/body: for "status" (default 500) and "html" (default 502); body None = the
    provider's own error body for that status, a dict = JSON body, a str = raw text.
    statuses: for "status", several statuses to draw from uniformly (overrides status).
    retry_after: seconds for "rate_limit".
    latency / latency_range: seconds for "latency" (fixed, or uniform in (lo, hi)); for
    "stream_slow", `latency` is the pause before each event.
    variant: for "content_filter": openai "finish_reason" (default) or "refusal";
    gemini "finish" (default) or "prompt" (promptFeedback.blockReason);
    for "oversize": "chunked" (no Content-Length) or None (announced Content-Length).
    size: bytes for "oversize".
    after_chunks: for "stream_stall" and "stream_cut", the events sent before the fault (a
    request that does not stream is answered normally).
    """

    kind: FaultKind
    status: int | None = None
    statuses: tuple[int, ...] | None = None
    body: Any = None
    rate: float = 1.0
    count: int | None = None
    retry_after: float = 1.0
    latency: float | None = None
    latency_range: tuple[float, float] | None = None
    variant: str | None = None
    size: int = 8 * 1024 * 1024
    endpoint: FaultEndpoint = "all"
    # Events a stream sends before "stream_stall" or "stream_cut" strikes (0: before the first).
    after_chunks: int = 1

    def __post_init__(self) -> None:
        """Reject rules that cannot mean anything, so a typo fails loudly."""
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.endpoint not in FAULT_ENDPOINTS:
            raise ValueError(f"unknown fault endpoint {self.endpoint!r}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be within 0..1")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be >= 1 or None")
        if (
            self.kind in ("latency", "stream_slow")
            and self.latency is None
            and self.latency_range is None
        ):
            raise ValueError("latency fault needs latency or latency_range")
        if self.statuses is not None and not self.statuses:
            raise ValueError("statuses must not be empty")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from the admin endpoint's JSON (unknown keys are an error)."""
        values = dict(data)
        if values.get("latency_range") is not None:
            low, high = values["latency_range"]
            values["latency_range"] = (float(low), float(high))
        if values.get("statuses") is not None:
            values["statuses"] = tuple(int(status) for status in values["statuses"])
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form for GET /_sim/faults."""
        return asdict(self)

    def pick_status(self, rng: random.Random, default: int) -> int:
        """The status of one hit: one of `statuses`, else `status`, else the default."""
        if self.statuses:
            return rng.choice(self.statuses)
        return self.status or default

    def delay(self, rng: random.Random) -> float:
        """Seconds this latency fault adds to one request."""
        if self.latency_range is not None:
            low, high = self.latency_range
            return rng.uniform(low, high)
        return self.latency or 0.0


@dataclass(slots=True)
class _ActiveFault:
    fault: Fault
    remaining: int | None


@dataclass(slots=True)
class FaultDecision:
    """What to do with one request: an added delay and at most one terminal fault."""

    delay: float = 0.0
    fault: Fault | None = None


@dataclass(slots=True)
class FaultTable:
    """Fault rules per provider; draws are reproducible for a given seed and request order."""

    rng: random.Random
    _rules: dict[str, list[_ActiveFault]] = field(default_factory=dict)

    def set(self, provider: str, fault: Fault) -> None:
        """Replace every rule of the provider with this one."""
        self._rules[provider] = [_ActiveFault(fault, fault.count)]

    def add(self, provider: str, fault: Fault) -> None:
        """Add a rule; latency rules stack with one terminal rule."""
        self._rules.setdefault(provider, []).append(_ActiveFault(fault, fault.count))

    def clear(self, provider: str | None = None) -> None:
        """Drop the rules of one provider, or of all."""
        if provider is None:
            self._rules.clear()
        else:
            self._rules.pop(provider, None)

    def rules(self) -> dict[str, list[dict[str, Any]]]:
        """Active rules with their remaining counts, for the admin endpoint."""
        return {
            provider: [
                {**rule.fault.as_dict(), "remaining": rule.remaining} for rule in rules
            ]
            for provider, rules in self._rules.items()
        }

    def decide(self, provider: str, endpoint: str) -> FaultDecision | None:
        """Draw the faults for one request; None when nothing applies (the cheap path)."""
        rules = self._rules.get(provider)
        if not rules:
            return None
        decision = FaultDecision()
        for rule in list(rules):
            fault = rule.fault
            if fault.endpoint not in ("all", endpoint):
                continue
            if fault.kind != "latency" and decision.fault is not None:
                continue
            if fault.rate < 1.0 and self.rng.random() >= fault.rate:
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining == 0:
                    rules.remove(rule)
            if fault.kind == "latency":
                decision.delay += fault.delay(self.rng)
            else:
                decision.fault = fault
        if decision.delay == 0.0 and decision.fault is None:
            return None
        return decision
