"""The six selection strategies: pure functions that order candidates from their live stats.

Each takes the candidates of one request and a `StrategyContext` and returns them best first.
They read stats and never change them; the router does the bookkeeping (e.g. round-robin passes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
import random

from .config import ProviderSettings, RoutingRule, SelectionStrategy
from .models import AIRequest
from .stats import ProviderStats


@dataclass(slots=True)
class Candidate:
    """One provider that could serve the request, with what the strategies need to rank it."""

    name: str
    settings: ProviderSettings
    stats: ProviderStats
    # Estimated USD cost of this request on this provider.
    cost: float
    # Share of the provider's rate limit available now, 0..1.
    headroom: float
    # Estimated input tokens of this request on this provider (images differ per provider).
    input_tokens: int = 0
    half_open: bool = False
    # What people call the provider (its subentry's title): ties break on it, as the docs say.
    label: str = ""


@dataclass(frozen=True, slots=True)
class StrategyContext:
    """What a strategy may use besides the candidates: the time and a random source."""

    now: float
    rng: random.Random
    explore_rate: float = 0.05
    explore_after: float = 60.0


@dataclass(frozen=True, slots=True)
class AdaptiveWeights:
    """The weights of the adaptive score, all in one place. Each factor is scored 0..1.

    - health: the success EWMA, halved while the breaker is half-open;
    - latency: fastest latency EWMA among the candidates / this one's (unmeasured scores 1);
    - cost: cheapest estimate among the candidates / this one's (with a one-micro-dollar floor);
    - load: 1 / (1 + requests in flight);
    - headroom: share of the rate limit available now.
    """

    health: float = 0.40
    latency: float = 0.25
    cost: float = 0.20
    load: float = 0.10
    headroom: float = 0.05


ADAPTIVE_WEIGHTS = AdaptiveWeights()
# Costs below this (USD) count as equal, so free providers do not make every other one score 0.
_COST_FLOOR = 1e-6


def _tie_break(candidate: Candidate) -> tuple[int, float, str, str]:
    """Lower priority number, then higher weight, then the name people see, A to Z in any case.

    The stable key (a subentry id) only separates two providers with the same label.
    """
    return (
        candidate.settings.priority,
        -candidate.settings.weight,
        (candidate.label or candidate.name).casefold(),
        candidate.name,
    )


def by_priority(
    candidates: Sequence[Candidate], context: StrategyContext
) -> list[Candidate]:
    """Priority 1 first; ties go to the higher weight, then the name (see `_tie_break`)."""
    return sorted(candidates, key=_tie_break)


def round_robin(
    candidates: Sequence[Candidate], context: StrategyContext
) -> list[Candidate]:
    """Weighted round robin by stride scheduling: the lowest pass goes next.

    The router advances the chosen provider's pass by 1 / weight, so a provider of weight 2 gets
    twice the turns of one of weight 1.
    """
    return sorted(candidates, key=lambda c: (c.stats.rr_pass, *_tie_break(c)))


def least_loaded(
    candidates: Sequence[Candidate], context: StrategyContext
) -> list[Candidate]:
    """Fewest requests in flight relative to the remaining rate headroom."""
    return sorted(
        candidates,
        key=lambda c: ((c.stats.in_flight + 1) / max(c.headroom, 1e-3), *_tie_break(c)),
    )


def fastest(
    candidates: Sequence[Candidate], context: StrategyContext
) -> list[Candidate]:
    """Lowest latency EWMA first; unmeasured providers last.

    A share `explore_rate` of requests first tries the candidate measured longest ago, if that was
    more than `explore_after` seconds ago, so that a provider which recovered is noticed again.
    """
    ordered = sorted(
        candidates,
        key=lambda c: (
            c.stats.latency_ewma is None,
            c.stats.latency_ewma or 0.0,
            *_tie_break(c),
        ),
    )
    if len(ordered) > 1 and context.rng.random() < context.explore_rate:
        stalest = min(ordered, key=lambda c: c.stats.last_measured_at)
        if context.now - stalest.stats.last_measured_at >= context.explore_after:
            ordered.remove(stalest)
            ordered.insert(0, stalest)
    return ordered


def cost_optimal(
    candidates: Sequence[Candidate], context: StrategyContext
) -> list[Candidate]:
    """Lowest estimated cost of this request first."""
    return sorted(candidates, key=lambda c: (c.cost, *_tie_break(c)))


def adaptive_scores(
    candidates: Sequence[Candidate], weights: AdaptiveWeights = ADAPTIVE_WEIGHTS
) -> list[float]:
    """Score each candidate adaptively, in input order (higher is better)."""
    best_latency = min(
        (c.stats.latency_ewma for c in candidates if c.stats.latency_ewma is not None),
        default=None,
    )
    cheapest = max(_COST_FLOOR, min(c.cost for c in candidates))
    scores = []
    for c in candidates:
        health = c.stats.success_ewma * (0.5 if c.half_open else 1.0)
        latency = c.stats.latency_ewma
        latency_score = (
            1.0
            if latency is None or best_latency is None or latency <= 0
            else best_latency / latency
        )
        cost_score = cheapest / max(_COST_FLOOR, c.cost)
        load_score = 1.0 / (1 + c.stats.in_flight)
        scores.append(
            weights.health * health
            + weights.latency * latency_score
            + weights.cost * cost_score
            + weights.load * load_score
            + weights.headroom * c.headroom
        )
    return scores


def adaptive(
    candidates: Sequence[Candidate], context: StrategyContext
) -> list[Candidate]:
    """Highest adaptive score first (see `AdaptiveWeights`); ties as under priority."""
    if not candidates:
        return []
    scores = adaptive_scores(candidates)
    ranked = sorted(
        zip(scores, candidates, strict=True),
        key=lambda sc: (-sc[0], *_tie_break(sc[1])),
    )
    return [c for _, c in ranked]


type Strategy = Callable[[Sequence[Candidate], StrategyContext], list[Candidate]]

STRATEGIES: dict[SelectionStrategy, Strategy] = {
    SelectionStrategy.ROUND_ROBIN: round_robin,
    SelectionStrategy.LEAST_LOADED: least_loaded,
    SelectionStrategy.FASTEST: fastest,
    SelectionStrategy.COST_OPTIMAL: cost_optimal,
    SelectionStrategy.PRIORITY: by_priority,
    SelectionStrategy.ADAPTIVE: adaptive,
}


def rule_matches(rule: RoutingRule, request: AIRequest) -> bool:
    """Whether `rule` applies to `request`."""
    if not rule.enabled:
        return False
    if rule.condition == "image_analysis":
        return request.has_images
    if rule.condition == "text":
        return not request.has_images
    return rule.condition in request.tags


def matching_rule(
    rules: Sequence[RoutingRule], request: AIRequest
) -> RoutingRule | None:
    """Return the first rule that applies; `rules` are sorted by priority."""
    for rule in rules:
        if rule_matches(rule, request):
            return rule
    return None


def apply_rule(ordered: list[Candidate], rule: RoutingRule) -> list[Candidate]:
    """Put the rule's providers first, in its order; the others keep the strategy's order after them."""
    return put_first(ordered, rule.providers)


def put_first(ordered: list[Candidate], names: Sequence[str]) -> list[Candidate]:
    """Put the named providers first, in that order; the others keep their order after them."""
    position = {name: index for index, name in enumerate(names)}
    first = sorted(
        (c for c in ordered if c.name in position), key=lambda c: position[c.name]
    )
    if not first:
        return ordered
    return first + [c for c in ordered if c.name not in position]
