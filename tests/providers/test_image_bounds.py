"""Property tests: each model's image token bound is at least what its provider's formula bills.

For random image sizes up to our caps (what `prepare` can send), each provider's documented accounting
is computed and compared with `ModelCapabilities.tokens_per_image`, the bound the router reserves with.
"""

from __future__ import annotations

import math
import random

import pytest

from custom_components.aicleaner.providers.catalog import (
    anthropic_capabilities,
    compatible_capabilities,
    gemini_capabilities,
    openai_capabilities,
)

_RANDOM = random.Random(20261201)


def _sizes(cap: int, count: int = 400) -> list[tuple[int, int]]:
    """Random (width, height) within `cap`, plus the extreme shapes at the cap."""
    sizes = [(_RANDOM.randint(1, cap), _RANDOM.randint(1, cap)) for _ in range(count)]
    return [*sizes, (cap, cap), (cap, 1), (1, cap), (cap, cap // 3), (cap - 1, cap)]


def _fit(width: float, height: float, long_edge: int) -> tuple[float, float]:
    scale = min(1.0, long_edge / max(width, height))
    return width * scale, height * scale


def claude_patch_tokens(width: int, height: int, long_edge: int) -> int:
    """Anthropic's patch rule: scale to the native long edge, then 28 px patches ("visual tokens")."""
    w, h = _fit(width, height, long_edge)
    return math.ceil(w / 28) * math.ceil(h / 28)


def claude_legacy_tokens(width: int, height: int) -> int:
    """Claude up to 4.6: fit 1568 px and about 1.15 megapixels, then about w * h / 750 tokens."""
    w, h = _fit(width, height, 1568)
    if w * h > 1_150_000:
        shrink = math.sqrt(1_150_000 / (w * h))
        w, h = w * shrink, h * shrink
    return max(math.ceil(w * h / 750), math.ceil(w / 28) * math.ceil(h / 28))


def openai_tile_tokens(width: int, height: int, base: int, tile: int) -> int:
    w, h = _fit(width, height, 2048)
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return base + tile * math.ceil(w / 512) * math.ceil(h / 512)


def openai_patch_tokens(width: int, height: int, budget: int, multiplier: float) -> int:
    patches = math.ceil(width / 32) * math.ceil(height / 32)
    if patches > budget:
        shrink = math.sqrt(budget / patches)
        patches = min(
            budget, math.ceil(width * shrink / 32) * math.ceil(height * shrink / 32)
        )
    return math.ceil(patches * multiplier)


def gemini_2_tokens(width: int, height: int) -> int:
    if width <= 384 and height <= 384:
        return 258
    tile = min(max(min(width, height) / 1.5, 256), 768)
    return 258 * math.ceil(width / tile) * math.ceil(height / tile)


@pytest.mark.parametrize(
    ("model", "long_edge"),
    [
        ("claude-opus-4-7", 2576),
        ("claude-opus-5-5", 2576),
        ("claude-haiku-5-5", 2576),
        ("claude-fable-5", 2576),
        # Until a model's limit is known, the 2576 px one.
        ("claude-opus-9", 2576),
    ],
)
def test_claude_bound_covers_the_patch_rule_at_the_native_resolution(
    model: str, long_edge: int
) -> None:
    caps = anthropic_capabilities(model)
    assert caps.max_image_dimension == long_edge
    worst = max(
        claude_patch_tokens(w, h, long_edge)
        for w, h in _sizes(caps.max_image_dimension)
    )
    assert worst <= caps.tokens_per_image
    # The case: a 1568 x 1568 image on Opus 4.7 is about 3,136 patches, not 1,750.
    assert claude_patch_tokens(1568, 1568, long_edge) <= caps.tokens_per_image
    assert caps.tokens_per_image > 3_136


@pytest.mark.parametrize(
    "model",
    [
        "claude-sonnet-4-6",
        "claude-haiku-4-5-20251001",
        "claude-opus-4-1",
        "claude-3-haiku",
    ],
)
def test_legacy_claude_bound_covers_its_documented_accounting(model: str) -> None:
    caps = anthropic_capabilities(model)
    assert caps.max_image_dimension == 1568
    worst = max(claude_legacy_tokens(w, h) for w, h in _sizes(4000))
    assert worst <= caps.tokens_per_image


@pytest.mark.parametrize(
    ("model", "formula"),
    [
        ("gpt-4o", lambda w, h: openai_tile_tokens(w, h, 85, 170)),
        ("gpt-4o-mini", lambda w, h: openai_tile_tokens(w, h, 2833, 5667)),
        ("gpt-4.1", lambda w, h: openai_patch_tokens(w, h, 1536, 1.0)),
        ("gpt-5", lambda w, h: openai_tile_tokens(w, h, 70, 140)),
        ("gpt-5-mini", lambda w, h: openai_patch_tokens(w, h, 1536, 1.62)),
        ("gpt-5.4-mini", lambda w, h: openai_patch_tokens(w, h, 1536, 1.62)),
        ("o4-mini", lambda w, h: openai_patch_tokens(w, h, 1536, 1.72)),
        # gpt-5.4 and later: budgets up to 10,000 patches ("original"), under our 2048 px cap.
        ("gpt-5.4", lambda w, h: openai_patch_tokens(w, h, 10_000, 1.0)),
        ("gpt-6.1-sol", lambda w, h: openai_patch_tokens(w, h, 10_000, 1.0)),
        ("gpt-6-luna", lambda w, h: openai_patch_tokens(w, h, 10_000, 2.46)),
        ("gpt-9-unknown", lambda w, h: openai_patch_tokens(w, h, 10_000, 2.46)),
    ],
)
def test_openai_bound_covers_high_detail_for_random_sizes(model, formula) -> None:
    caps = openai_capabilities(model)
    worst = max(formula(w, h) for w, h in _sizes(caps.max_image_dimension))
    assert worst <= caps.tokens_per_image


@pytest.mark.parametrize(
    ("model", "formula"),
    [
        ("gemini-2.5-flash", gemini_2_tokens),
        # Gemini 3 and later: 1,120 tokens an image at the default (HIGH) media resolution.
        ("gemini-3.8-flash", lambda w, h: 1120),
        ("gemini-4-argon", lambda w, h: 1120),
        ("gemini-flash-latest", gemini_2_tokens),
    ],
)
def test_gemini_bound_covers_its_accounting_for_random_sizes(model, formula) -> None:
    caps = gemini_capabilities(model)
    worst = max(formula(w, h) for w, h in _sizes(caps.max_image_dimension))
    assert worst <= caps.tokens_per_image


@pytest.mark.parametrize(
    "model", ["anthropic/claude-opus-4-7", "claude-opus-5-5", "openai/gpt-5.6", "x/y"]
)
def test_gateway_bound_covers_every_first_party_rule_at_its_cap(model: str) -> None:
    caps = compatible_capabilities(model)
    cap = caps.max_image_dimension
    bills = [claude_patch_tokens(w, h, 2576) for w, h in _sizes(cap)]
    bills += [openai_patch_tokens(w, h, 10_000, 2.46) for w, h in _sizes(cap)]
    bills += [gemini_2_tokens(w, h) for w, h in _sizes(cap)]
    assert max(bills) <= caps.tokens_per_image
