"""Each strategy's order on constructed stats, and routing rules."""

from __future__ import annotations

import random

import pytest

from custom_components.aicleaner.router.config import ProviderSettings, RoutingRule
from custom_components.aicleaner.router.models import AIRequest, ImageInput
from custom_components.aicleaner.router.stats import ProviderStats
from custom_components.aicleaner.router.strategies import (
    ADAPTIVE_WEIGHTS,
    Candidate,
    StrategyContext,
    adaptive,
    adaptive_scores,
    apply_rule,
    by_priority,
    cost_optimal,
    fastest,
    least_loaded,
    matching_rule,
    round_robin,
)


def candidate(
    name: str,
    *,
    priority: int = 1,
    weight: float = 1.0,
    cost: float = 0.01,
    headroom: float = 1.0,
    latency: float | None = None,
    measured_at: float = float("-inf"),
    in_flight: int = 0,
    health: float = 1.0,
    rr_pass: float = 0.0,
    half_open: bool = False,
    label: str = "",
) -> Candidate:
    stats = ProviderStats(alpha=0.2, window=10)
    stats.latency_ewma = latency
    stats.last_measured_at = measured_at if latency is None else max(measured_at, 0.0)
    stats.in_flight = in_flight
    stats.success_ewma = health
    stats.rr_pass = rr_pass
    return Candidate(
        name,
        ProviderSettings(priority=priority, weight=weight),
        stats,
        cost,
        headroom,
        half_open=half_open,
        label=label,
    )


def names(ordered: list[Candidate]) -> list[str]:
    return [c.name for c in ordered]


CONTEXT = StrategyContext(now=100.0, rng=random.Random(0), explore_rate=0.0)


def test_priority_puts_one_first_and_breaks_ties_by_weight_then_name() -> None:
    cands = [
        candidate("c", priority=2),
        candidate("b", priority=1, weight=1.0),
        candidate("a", priority=1, weight=1.0),
        candidate("d", priority=1, weight=3.0),
    ]
    assert names(by_priority(cands, CONTEXT)) == ["d", "a", "b", "c"]


def test_ties_go_to_the_label_people_see_alphabetically_in_any_case() -> None:
    # Subentry ids are in creation order; the docs promise the name's alphabetical order.
    cands = [
        candidate("01-first-created", label="Zeta"),
        candidate("02", label="beta"),
        candidate("03", label="Alpha"),
        candidate("04", label="alpha"),
    ]
    ordered = by_priority(cands, CONTEXT)
    assert [c.label for c in ordered] == ["Alpha", "alpha", "beta", "Zeta"]
    # Same label in another case: the stable key decides, so the order never flips.
    assert names(ordered)[:2] == ["03", "04"]


def test_round_robin_picks_the_lowest_pass() -> None:
    cands = [
        candidate("a", rr_pass=2.0),
        candidate("b", rr_pass=1.0),
        candidate("c", rr_pass=1.5),
    ]
    assert names(round_robin(cands, CONTEXT)) == ["b", "c", "a"]


def test_round_robin_passes_give_turns_in_proportion_to_weight() -> None:
    cands = [candidate("a", weight=2.0), candidate("b", weight=1.0)]
    turns = []
    for _ in range(30):
        first = round_robin(cands, CONTEXT)[0]
        first.stats.rr_pass += 1 / first.settings.weight
        turns.append(first.name)
    assert turns.count("a") == 20
    assert turns.count("b") == 10


def test_least_loaded_weighs_in_flight_against_headroom() -> None:
    cands = [
        candidate("busy", in_flight=3, headroom=1.0),
        candidate("idle", in_flight=0, headroom=0.2),
        candidate("fresh", in_flight=1, headroom=1.0),
    ]
    # (in_flight + 1) / headroom: busy 4, idle 5, fresh 2.
    assert names(least_loaded(cands, CONTEXT)) == ["fresh", "busy", "idle"]


def test_least_loaded_puts_a_provider_without_headroom_last() -> None:
    cands = [
        candidate("empty", headroom=0.0),
        candidate("loaded", in_flight=10, headroom=1.0),
    ]
    assert names(least_loaded(cands, CONTEXT)) == ["loaded", "empty"]


def test_fastest_orders_by_latency_ewma_with_unmeasured_last() -> None:
    cands = [
        candidate("slow", latency=2.0, measured_at=99),
        candidate("new"),
        candidate("quick", latency=0.5, measured_at=99),
    ]
    assert names(fastest(cands, CONTEXT)) == ["quick", "slow", "new"]


def test_fastest_explores_the_stalest_provider_for_a_share_of_traffic() -> None:
    cands = [
        candidate("quick", latency=0.5, measured_at=99),
        candidate("recovered", latency=5.0, measured_at=10),
    ]
    always = StrategyContext(
        now=100.0, rng=random.Random(0), explore_rate=1.0, explore_after=60
    )
    assert names(fastest(cands, always)) == ["recovered", "quick"]
    recent = StrategyContext(
        now=100.0, rng=random.Random(0), explore_rate=1.0, explore_after=120
    )
    assert names(fastest(cands, recent)) == ["quick", "recovered"]


def test_fastest_explores_about_the_configured_share() -> None:
    context = StrategyContext(
        now=1000.0, rng=random.Random(1), explore_rate=0.05, explore_after=60
    )
    cands = [
        candidate("quick", latency=0.5, measured_at=999),
        candidate("stale", latency=5.0, measured_at=1),
    ]
    explored = sum(fastest(cands, context)[0].name == "stale" for _ in range(10_000))
    assert 350 < explored < 650


def test_cost_optimal_orders_by_this_requests_estimate() -> None:
    cands = [
        candidate("pricey", cost=0.05),
        candidate("free", cost=0.0),
        candidate("cheap", cost=0.001),
    ]
    assert names(cost_optimal(cands, CONTEXT)) == ["free", "cheap", "pricey"]


def test_adaptive_prefers_healthy_over_failing() -> None:
    cands = [candidate("failing", health=0.1), candidate("healthy", health=1.0)]
    assert names(adaptive(cands, CONTEXT)) == ["healthy", "failing"]


def test_adaptive_prefers_faster_and_cheaper_when_equally_healthy() -> None:
    cands = [
        candidate("slow", latency=4.0, measured_at=99),
        candidate("fast", latency=1.0, measured_at=99),
    ]
    assert names(adaptive(cands, CONTEXT)) == ["fast", "slow"]
    cands = [candidate("dear", cost=0.02), candidate("cheap", cost=0.01)]
    assert names(adaptive(cands, CONTEXT)) == ["cheap", "dear"]


def test_adaptive_penalises_a_half_open_breaker_and_load() -> None:
    cands = [candidate("trial", half_open=True), candidate("closed")]
    assert names(adaptive(cands, CONTEXT)) == ["closed", "trial"]
    cands = [candidate("busy", in_flight=5), candidate("idle")]
    assert names(adaptive(cands, CONTEXT)) == ["idle", "busy"]


def test_adaptive_score_is_the_documented_weighted_sum() -> None:
    cands = [
        candidate(
            "a",
            latency=1.0,
            measured_at=99,
            cost=0.01,
            in_flight=1,
            headroom=0.5,
            health=0.8,
        ),
        candidate(
            "b",
            latency=2.0,
            measured_at=99,
            cost=0.02,
            in_flight=0,
            headroom=1.0,
            health=1.0,
        ),
    ]
    w = ADAPTIVE_WEIGHTS
    a, b = adaptive_scores(cands)
    assert a == pytest.approx(
        w.health * 0.8 + w.latency + w.cost + w.load * 0.5 + w.headroom * 0.5
    )
    assert b == pytest.approx(
        w.health + w.latency * 0.5 + w.cost * 0.5 + w.load + w.headroom
    )
    assert w.health + w.latency + w.cost + w.load + w.headroom == pytest.approx(1.0)


def test_adaptive_of_nothing_is_nothing() -> None:
    assert adaptive([], CONTEXT) == []


def test_rule_providers_go_first_in_rule_order_then_the_rest() -> None:
    ordered = [candidate("a"), candidate("b"), candidate("c")]
    rule = RoutingRule(condition="image_analysis", providers=("c", "missing", "b"))
    assert names(apply_rule(ordered, rule)) == ["c", "b", "a"]
    unrelated = RoutingRule(condition="text", providers=("z",))
    assert names(apply_rule(ordered, unrelated)) == ["a", "b", "c"]


def test_matching_rule_checks_images_text_and_tags() -> None:
    image = RoutingRule(condition="image_analysis", providers=("vision",))
    text = RoutingRule(condition="text", providers=("cheap",))
    tagged = RoutingRule(condition="kitchen", providers=("local",), priority=0)
    disabled = RoutingRule(
        condition="text", providers=("x",), enabled=False, priority=-1
    )
    rules = sorted([image, text, tagged, disabled], key=lambda r: r.priority)
    picture = AIRequest(prompt="p", images=(ImageInput(b"1", "image/png"),))
    assert matching_rule(rules, picture) is image
    assert matching_rule(rules, AIRequest(prompt="p")) is text
    assert (
        matching_rule(rules, AIRequest(prompt="p", tags=frozenset({"kitchen"})))
        is tagged
    )
    assert matching_rule([image], AIRequest(prompt="p")) is None
