"""What each provider's models can take: vision, context window, image limits, and which are retired.

Image limits are the providers' documented ones (checked 2026-12-01):
- OpenAI: up to 50 MB of images per request; "high" detail first scales an image to fit 2048x2048, so a
  larger side only costs upload time. We cap one image at 20 MB and 2048 px, and send `detail: high`
  explicitly (see the image token bounds below).
- Anthropic: 5 MB per image (the API counts the base64 form; 3.75 MB of bytes encode to 5 MB), 8000 px
  hard limit. Each model has a native resolution: an image past it is scaled down server-side before
  the model sees it (and is billed). Claude Opus 4.6 and earlier: 1568 px on the long edge (about 1.15
  megapixels); Claude Opus 4.7 and later: 2576 px, which is also assumed for any model not listed. We
  cap at 3.75 MB and the model's native long edge.
- Gemini: inline data shares the 20 MB request limit (base64 inflates by 4/3); images are scaled to fit
  3072x3072. We cap one image at 7 MB and 3072 px, leaving room for several images in one request.
- Request totals: Anthropic refuses a Messages request over 32 MB (413 from its edge), Gemini one over
  20 MB of inline data, OpenAI one with over 50 MB of images. Several images that each fit their own cap
  can break these, so `fit_images` also shrinks them to share the request's budget (base64 form).
- Ollama / OpenAI-compatible servers document no limit; vision encoders there work on a few hundred
  pixels (LLaVA tiles 336 px up to 1344 px), so we cap at 10 MB and 1568 px to keep uploads small.
Model tables match by prefix, so dated snapshots (`gpt-4o-2024-08-06`) resolve to their family.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
import math
import re
from typing import Final

from ..router.models import ModelCapabilities
from .tool_support import calls_tools

_MB: Final = 1_000_000

OPENAI_IMAGE_BYTES: Final = 20 * _MB
OPENAI_IMAGE_DIMENSION: Final = 2048
ANTHROPIC_IMAGE_BYTES: Final = 3_750_000
# Native long edge of Claude Opus 4.6 and earlier (about 1.15 megapixels), and of 4.7 and later.
ANTHROPIC_LEGACY_IMAGE_DIMENSION: Final = 1568
ANTHROPIC_IMAGE_DIMENSION: Final = 2576
GEMINI_IMAGE_BYTES: Final = 7 * _MB
GEMINI_IMAGE_DIMENSION: Final = 3072
OPENAI_REQUEST_BYTES: Final = 50 * _MB
ANTHROPIC_REQUEST_BYTES: Final = 32 * _MB
GEMINI_REQUEST_BYTES: Final = 20 * _MB
LOCAL_IMAGE_BYTES: Final = 10 * _MB
LOCAL_IMAGE_DIMENSION: Final = 1568

# Upper bounds on the input tokens of one image, after our caps above. The router reserves budget with
# them, so they must never be below what the provider bills (tests/providers/test_image_bounds.py
# checks each against the provider's published formula over random sizes up to our caps).
# - OpenAI, sent with `detail: high` (so `auto` can never pick the 10,000-patch "original" detail):
#   - tile models scale an image to fit 2048x2048, then its short side to 768: at most 8 tiles of
#     512 px, billed base + 8 x tile (gpt-4o 85 + 8 x 170 = 1,445; gpt-5 70 + 8 x 140 = 1,190;
#     o1 / o3 75 + 8 x 150 = 1,275; gpt-4o-mini 2,833 + 8 x 5,667 = 48,169);
#   - patch models count 32 px patches, at most 1,536, times a per-model multiplier (gpt-4.1 1,
#     the -mini models 1.62, o4-mini 1.72, the -nano models 2.46). gpt-4.1 is described both as a
#     tile and as a patch model: the higher bound (1,536) is kept;
#   - gpt-5.4 and later count 32 px patches under larger budgets (10,000 for "original"; the "high"
#     budget is not confirmed here), so the bound is every patch of a 2048 x 2048 image, 4,096, at
#     multiplier 1 (Codex counts "original" images at one token a patch), and at the highest
#     documented multiplier, 2.46, for the small tiers (-mini, -nano, -luna) and unknown models.
# - Anthropic bills ceil(w / 28) x ceil(h / 28) patches ("visual tokens") of the image after it is
#   scaled to the model's native resolution, plus a few tokens of wrapper: at most 56 x 56 = 3,136
#   at 1568 px and 92 x 92 = 8,464 at 2576 px. Models up to 4.6 also scale down past about 1.15
#   megapixels (about 1,600 tokens; measured at most 1,561): 1,750 for them.
# - Gemini 2.x bills 258 tokens for an image of at most 384 px, else 258 per tile, tiles being the
#   short side / 1.5 (kept within 256..768 px): at most 24 tiles (6,192) for extreme aspect ratios
#   within 3072 px. Gemini 3 and later bill by media resolution: 1,120 at the default (HIGH), which
#   AICleaner never changes.
# - Self-hosted and gateway models (Ollama, OpenAI-compatible): the largest of the bounds above that
#   can apply at our 1568 px cap; a gateway's gpt-4o-mini bills as OpenAI's does.
IMAGE_WRAPPER_TOKENS: Final = 32
OPENAI_PATCH_BUDGET: Final = 1536
OPENAI_HIGHEST_MULTIPLIER: Final = 2.46
OPENAI_TILE_IMAGE_TOKENS: Final = 85 + 8 * 170
OPENAI_MINI_4O_IMAGE_TOKENS: Final = 2833 + 8 * 5667
# Every 32 px patch of an image within our 2048 px cap.
OPENAI_FULL_PATCHES: Final = (OPENAI_IMAGE_DIMENSION // 32) ** 2
OPENAI_IMAGE_TOKENS: Final = math.ceil(OPENAI_FULL_PATCHES * OPENAI_HIGHEST_MULTIPLIER)
ANTHROPIC_LEGACY_IMAGE_TOKENS: Final = 1_750
ANTHROPIC_IMAGE_TOKENS: Final = (
    math.ceil(ANTHROPIC_IMAGE_DIMENSION / 28) ** 2 + IMAGE_WRAPPER_TOKENS
)
GEMINI_IMAGE_TOKENS: Final = 6_192
GEMINI_3_IMAGE_TOKENS: Final = 1_120 + IMAGE_WRAPPER_TOKENS
LOCAL_IMAGE_TOKENS: Final = max(
    GEMINI_IMAGE_TOKENS,
    math.ceil((LOCAL_IMAGE_DIMENSION // 32) ** 2 * OPENAI_HIGHEST_MULTIPLIER),
    math.ceil(LOCAL_IMAGE_DIMENSION / 28) ** 2 + IMAGE_WRAPPER_TOKENS,
)

# OpenAI image accounting by prefix, the longest matching prefix wins: ("tile", base, per tile) or
# ("patch", budget in patches, multiplier). Prefixes not listed: OPENAI_IMAGE_TOKENS.
_OPENAI_IMAGE_RULES: Final[tuple[tuple[str, tuple[str, float, float]], ...]] = (
    ("gpt-4o", ("tile", 85, 170)),
    ("gpt-4o-mini", ("tile", 2833, 5667)),
    ("gpt-4-turbo", ("tile", 85, 170)),
    ("gpt-4-vision", ("tile", 85, 170)),
    ("gpt-4.1", ("patch", OPENAI_PATCH_BUDGET, 1.0)),
    ("gpt-4.1-mini", ("patch", OPENAI_PATCH_BUDGET, 1.62)),
    ("gpt-4.1-nano", ("patch", OPENAI_PATCH_BUDGET, 2.46)),
    ("o1", ("tile", 75, 150)),
    ("o3", ("tile", 75, 150)),
    ("o4-mini", ("patch", OPENAI_PATCH_BUDGET, 1.72)),
    ("gpt-5", ("tile", 70, 140)),
    ("gpt-5-mini", ("patch", OPENAI_PATCH_BUDGET, 1.62)),
    ("gpt-5-nano", ("patch", OPENAI_PATCH_BUDGET, 2.46)),
    # Any other GPT-5.x: every patch at multiplier 1 (gpt-5.1 to 5.3 are not confirmed here as
    # tile or patch models; this is above both bounds).
    ("gpt-5.", ("patch", OPENAI_FULL_PATCHES, 1.0)),
    ("gpt-5.4", ("patch", OPENAI_FULL_PATCHES, 1.0)),
    ("gpt-5.4-mini", ("patch", OPENAI_PATCH_BUDGET, 1.62)),
    ("gpt-5.5", ("patch", OPENAI_FULL_PATCHES, 1.0)),
    ("gpt-5.6", ("patch", OPENAI_FULL_PATCHES, 1.0)),
    ("gpt-6", ("patch", OPENAI_FULL_PATCHES, 1.0)),
)
# Small tiers whose multiplier is not confirmed here: the highest documented one.
_OPENAI_SMALL_TIERS: Final = ("-mini", "-nano", "-luna")

# (prefix, vision, context window); the longest matching prefix wins.
_OPENAI_MODELS: Final = (
    ("gpt-6", True, 1_050_000),
    ("gpt-5.4", True, 1_050_000),
    ("gpt-5.5", True, 1_050_000),
    ("gpt-5.6", True, 1_050_000),
    ("gpt-5", True, 400_000),
    ("gpt-4.1", True, 1_047_576),
    ("gpt-4o", True, 128_000),
    ("gpt-4o-audio", False, 128_000),
    ("gpt-4o-mini-audio", False, 128_000),
    ("gpt-4o-search", False, 128_000),
    ("gpt-4o-mini-search", False, 128_000),
    ("gpt-4-turbo", True, 128_000),
    ("gpt-4-vision", True, 128_000),
    ("gpt-4", False, 8_192),
    ("gpt-4-32k", False, 32_768),
    ("gpt-3.5", False, 16_385),
    ("o1", True, 200_000),
    ("o1-mini", False, 128_000),
    ("o1-preview", False, 128_000),
    ("o3", True, 200_000),
    ("o3-mini", False, 200_000),
    ("o4-mini", True, 200_000),
)
_ANTHROPIC_MODELS: Final = (
    ("claude-3-5-haiku", False, 200_000),
    ("claude-sonnet-4-6", True, 1_000_000),
    ("claude-opus-4-6", True, 1_000_000),
    ("claude-opus-4-7", True, 1_000_000),
    ("claude-opus-4-8", True, 1_000_000),
    ("claude-sonnet-5", True, 1_000_000),
    ("claude-opus-5", True, 1_000_000),
    ("claude-fable-5", True, 1_000_000),
    ("claude-mythos-5", True, 1_000_000),
)
# Substrings that mark a vision model in Ollama's library and on self-hosted servers.
_LOCAL_VISION_MARKERS: Final = (
    "llava",
    "vision",
    "-vl",
    "vl:",
    "gemma3",
    "gemma4",
    "minicpm-v",
    "moondream",
    "llama4",
    "mistral-small3",
    "qwen2.5vl",
    "qwen3vl",
    "pixtral",
)
OLLAMA_CONTEXT_WINDOW: Final = 4096  # Ollama's default num_ctx
COMPATIBLE_CONTEXT_WINDOW: Final = 32_768


def _match(
    model: str, table: tuple[tuple[str, bool, int], ...]
) -> tuple[bool, int] | None:
    best: tuple[str, bool, int] | None = None
    for entry in table:
        if model.startswith(entry[0]) and (
            best is None or len(entry[0]) > len(best[0])
        ):
            best = entry
    return None if best is None else (best[1], best[2])


def openai_image_tokens(model: str) -> int:
    """Most input tokens one image within our 2048 px cap can cost on an OpenAI model (see above)."""
    bare = _bare(model)
    rule = None
    matched = ""
    for prefix, candidate in _OPENAI_IMAGE_RULES:
        if bare.startswith(prefix) and len(prefix) > len(matched):
            matched, rule = prefix, candidate
    if rule is None:
        return OPENAI_IMAGE_TOKENS
    kind, first, second = rule
    if kind == "tile":
        return int(first + 8 * second)
    multiplier = second
    if any(tier in bare for tier in _OPENAI_SMALL_TIERS) and first != (
        OPENAI_PATCH_BUDGET
    ):
        multiplier = OPENAI_HIGHEST_MULTIPLIER
    return math.ceil(min(first, OPENAI_FULL_PATCHES) * multiplier)


@lru_cache(maxsize=256)
def openai_capabilities(model: str) -> ModelCapabilities:
    """OpenAI models: unknown new ones are assumed multimodal, as every current family is."""
    vision, context = _match(model.lower(), _OPENAI_MODELS) or (True, 128_000)
    return ModelCapabilities(
        vision=vision,
        context_window=context,
        max_image_bytes=OPENAI_IMAGE_BYTES,
        max_image_dimension=OPENAI_IMAGE_DIMENSION,
        tokens_per_image=openai_image_tokens(model),
        tools=calls_tools("openai", model),
    )


# Claude models whose native resolution is 1568 px / about 1.15 megapixels: Claude 3, and 4 up to
# 4.6 (with or without a snapshot date). Any other (Opus 4.7 and later, and names not listed) is
# taken at 2576 px, the larger bound.
_ANTHROPIC_LEGACY_VISION: Final = re.compile(
    r"claude-3.*|claude-(opus|sonnet|haiku)-4(-[0-6])?(-\d{8})?"
)


def anthropic_image_limits(model: str) -> tuple[int, int]:
    """(native long edge in px, most input tokens of one image) of a Claude model."""
    if _ANTHROPIC_LEGACY_VISION.fullmatch(_bare(model)):
        return ANTHROPIC_LEGACY_IMAGE_DIMENSION, ANTHROPIC_LEGACY_IMAGE_TOKENS
    return ANTHROPIC_IMAGE_DIMENSION, ANTHROPIC_IMAGE_TOKENS


@lru_cache(maxsize=256)
def anthropic_capabilities(model: str) -> ModelCapabilities:
    """Claude models: all but Haiku 3.5 take images; 200k context unless listed."""
    vision, context = _match(model.lower(), _ANTHROPIC_MODELS) or (True, 200_000)
    dimension, image_tokens = anthropic_image_limits(model)
    return ModelCapabilities(
        vision=vision,
        context_window=context,
        max_image_bytes=ANTHROPIC_IMAGE_BYTES,
        max_image_dimension=dimension,
        tokens_per_image=image_tokens,
    )


_GEMINI_VERSION: Final = re.compile(r"gemini-(\d+)")


def gemini_image_tokens(model: str) -> int:
    """Most input tokens of one image on a Gemini model: 1,120 from Gemini 3 on, 2.x's tiles before."""
    found = _GEMINI_VERSION.match(_bare(model).removeprefix("models/"))
    if found is not None and int(found.group(1)) >= 3:
        return GEMINI_3_IMAGE_TOKENS
    return GEMINI_IMAGE_TOKENS


@lru_cache(maxsize=256)
def gemini_capabilities(model: str) -> ModelCapabilities:
    """Gemini models are all multimodal with a 1M-token context."""
    return ModelCapabilities(
        vision=True,
        context_window=1_048_576,
        max_image_bytes=GEMINI_IMAGE_BYTES,
        max_image_dimension=GEMINI_IMAGE_DIMENSION,
        tokens_per_image=gemini_image_tokens(model),
        tools=calls_tools("gemini", model),
    )


def looks_like_vision_model(model: str) -> bool:
    """Name-based guess for self-hosted models; the user's `vision` setting overrides it."""
    lowered = model.lower()
    return any(marker in lowered for marker in _LOCAL_VISION_MARKERS)


# Ollama names the models it forwards to its cloud `...-cloud` or `...:cloud` (`gpt-oss:120b-cloud`).
_OLLAMA_CLOUD: Final = re.compile(r"(?:[:-]|^)cloud$")


def is_ollama_cloud_model(model: str) -> bool:
    """Whether an Ollama model name marks it as run on Ollama's cloud rather than the server."""
    return bool(_OLLAMA_CLOUD.search(model.strip().lower()))


@lru_cache(maxsize=256)
def ollama_capabilities(model: str) -> ModelCapabilities:
    """Ollama models: vision guessed from the name, Ollama's default context; cloud-run by name."""
    return ModelCapabilities(
        vision=looks_like_vision_model(model),
        context_window=OLLAMA_CONTEXT_WINDOW,
        max_image_bytes=LOCAL_IMAGE_BYTES,
        max_image_dimension=LOCAL_IMAGE_DIMENSION,
        tokens_per_image=LOCAL_IMAGE_TOKENS,
        runs_in_cloud=is_ollama_cloud_model(model),
        tools=calls_tools("local", model),
    )


@lru_cache(maxsize=256)
def compatible_capabilities(model: str) -> ModelCapabilities:
    """Models behind an OpenAI-compatible server: first-party names keep their facts, others are guessed."""
    bare = model.rsplit("/", 1)[-1].lower()
    known = _match(bare, _OPENAI_MODELS) or _match(bare, _ANTHROPIC_MODELS)
    if known is None and bare.startswith("claude-"):
        known = (True, 200_000)
    if known is None and bare.startswith("gemini-"):
        known = (True, 1_048_576)
    vision, context = known or (
        looks_like_vision_model(bare),
        COMPATIBLE_CONTEXT_WINDOW,
    )
    return ModelCapabilities(
        vision=vision,
        context_window=context,
        max_image_bytes=LOCAL_IMAGE_BYTES,
        max_image_dimension=LOCAL_IMAGE_DIMENSION,
        tokens_per_image=max(openai_image_tokens(bare), LOCAL_IMAGE_TOKENS),
        tools=calls_tools("openai", bare) and calls_tools("local", bare),
    )


# --- Retired models ----------------------------------------------------------------------------------
#
# The day each model stops (or stopped) answering, as its provider announced it. A subentry that uses
# one past that day gets a repair issue, and the setup form never pre-selects one. Sources: LiteLLM
# 1.110.2 `deprecation_date` (for the Gemini API, not Vertex), the providers' deprecation pages as
# quoted in issue 8, and the Anthropic SDK's deprecation table. Models that LiteLLM 1.110.2 no longer
# lists at all are marked with the day its list was taken as "no later than".
_LISTED_UNTIL: Final = date(2026, 11, 26)
RETIRED_MODELS: Final[dict[str, date]] = {
    # OpenAI
    "o1": date(2026, 10, 23),
    "o1-pro": date(2026, 10, 23),
    "o1-mini": _LISTED_UNTIL,
    "o1-preview": _LISTED_UNTIL,
    "o3-mini": date(2026, 10, 23),
    "o4-mini": date(2026, 10, 23),
    "gpt-4.1-nano": date(2026, 10, 23),
    "gpt-4": date(2026, 10, 23),
    "gpt-4-32k": _LISTED_UNTIL,
    "gpt-4-vision": _LISTED_UNTIL,
    "gpt-4-turbo": date(2026, 10, 23),
    "gpt-4-1106": date(2026, 10, 23),
    "gpt-4o-2024-05-13": date(2026, 10, 23),
    "gpt-3.5-turbo": date(2026, 10, 23),
    "gpt-3.5-turbo-16k": date(2026, 10, 23),
    "gpt-3.5-turbo-1106": date(2026, 9, 28),
    "gpt-5-chat": date(2026, 7, 23),
    "gpt-5.1-chat": date(2026, 7, 23),
    "gpt-5.2-chat": date(2026, 8, 10),
    "gpt-5.3-chat": date(2026, 8, 10),
    "gpt-5": date(2026, 12, 11),
    "gpt-5-mini": date(2026, 12, 11),
    "gpt-5-nano": date(2026, 12, 11),
    "gpt-5-pro": date(2026, 12, 11),
    "o3": date(2026, 12, 11),
    "o3-pro": date(2026, 12, 11),
    "gpt-4.1": date(2027, 1, 14),
    "gpt-4.1-mini": date(2027, 1, 14),
    "gpt-4o": date(2027, 1, 14),
    "gpt-4o-mini": date(2027, 1, 14),
    "gpt-5.1": date(2027, 4, 1),
    "gpt-5.4-nano": date(2027, 4, 1),
    # Anthropic
    "claude-3-haiku": _LISTED_UNTIL,
    "claude-3-opus": _LISTED_UNTIL,
    "claude-3-5-haiku": _LISTED_UNTIL,
    "claude-3-5-sonnet": _LISTED_UNTIL,
    "claude-3-7-sonnet": _LISTED_UNTIL,
    "claude-opus-4": _LISTED_UNTIL,
    "claude-opus-4-1": _LISTED_UNTIL,
    "claude-sonnet-4": _LISTED_UNTIL,
    "claude-sonnet-4-5": date(2026, 11, 30),
    "claude-opus-4-5": date(2027, 1, 22),
    # Google (the Gemini API redirects the last two to newer models, billed at those models' prices)
    "gemini-2.0-flash": _LISTED_UNTIL,
    "gemini-2.0-flash-lite": _LISTED_UNTIL,
    "gemini-3-pro": _LISTED_UNTIL,
    "gemini-2.5-pro": date(2026, 12, 1),
    "gemini-2.5-flash": date(2026, 12, 1),
    "gemini-3.1-flash-lite": date(2027, 5, 7),
}
# A snapshot of a retired model: a date, a 3-4 digit version or `-preview` / `-latest` / `-exp`.
_RETIRED_SUFFIX: Final = re.compile(
    r"(?:-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{2}-\d{4}|-\d{3,4}|-preview|-latest|-exp)+"
)


@lru_cache(maxsize=256)
def retirement_date(model: str) -> date | None:
    """Return the day `model` (or the model it is a snapshot of) stops answering, if announced."""
    bare = _bare(model).removeprefix("models/")
    if (day := RETIRED_MODELS.get(bare)) is not None:
        return day
    for base, day in RETIRED_MODELS.items():
        if bare.startswith(base) and _RETIRED_SUFFIX.fullmatch(bare[len(base) :]):
            return day
    return None


def is_retired(model: str, today: date) -> bool:
    """Whether `model` has stopped answering by `today`."""
    day = retirement_date(model)
    return day is not None and day <= today


# --- Which listed models to offer when a provider is set up ------------------------------------------
#
# A provider's model list (`health().models`) names every model of the account or server, not only
# the ones that chat: embeddings, speech, image generation, moderation. AICleaner sends chat requests,
# so a model that cannot answer one must not be offered, let alone pre-selected.

# Substrings (of the lower-cased name without any `vendor/` prefix) of models no chat API serves,
# whatever the provider: embeddings, speech in and out, image and video generation, moderation,
# rerankers, and Gemini's Live-only, audio-only and attributed-QA models.
_NOT_CHAT_MARKERS: Final = (
    "embed",
    "minilm",
    "bge-",
    "rerank",
    "whisper",
    "transcribe",
    "tts",
    "dall-e",
    "gpt-image",
    "imagen",
    "veo-",
    "sora",
    "lyria",
    "moderation",
    "native-audio",
    "-live",
)
_NOT_CHAT_NAMES: Final = frozenset({"aqa"})
# OpenAI's own list also holds models that only its Responses or legacy Completions API serves,
# never Chat Completions: the -pro and Codex models, deep research, computer use, realtime, and the
# instruct / base completion models. Gateways translate these, so the rule is OpenAI's alone.
_OPENAI_NOT_CHAT_MARKERS: Final = (
    "-pro",
    "codex",
    "deep-research",
    "computer-use",
    "realtime",
    "-instruct",
    "davinci",
    "babbage",
)

# The recommended model of each kind, best first: the fast, low-cost general tier of the newest
# generation AICleaner has prices for (HA's own OpenAI, Anthropic and Gemini integrations recommend
# that tier too), then the same tier of older generations for accounts that do not list the newest.
# All take images and all are in pricing.py's tables. A dated snapshot of one (`gpt-4o-mini-2024-07-18`,
# `claude-haiku-4-5-20251001`) counts as that model: Anthropic lists only dated ids.
_OPENAI_RECOMMENDED: Final = (
    "gpt-5.4-mini",
    "gpt-4.1-mini",
    "gpt-4o-mini",
    "gpt-5-mini",
)
_ANTHROPIC_RECOMMENDED: Final = (
    "claude-haiku-5-5",
    "claude-haiku-4-5",
    "claude-sonnet-5-5",
    "claude-sonnet-4-6",
)
_GEMINI_RECOMMENDED: Final = (
    "gemini-3.1-flash-lite",
    "gemini-3-flash",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
)
RECOMMENDED_MODELS: Final[dict[str, tuple[str, ...]]] = {
    "openai": _OPENAI_RECOMMENDED,
    "anthropic": _ANTHROPIC_RECOMMENDED,
    "gemini": _GEMINI_RECOMMENDED,
    # A gateway may serve any of them (OpenRouter names them `vendor/model`).
    "openai_compatible": _OPENAI_RECOMMENDED
    + _ANTHROPIC_RECOMMENDED
    + _GEMINI_RECOMMENDED,
}
# What may follow a model id in one of its snapshots: a date, a version number, `latest`, `preview`.
_SNAPSHOT_SUFFIX: Final = re.compile(
    r"(-preview)?(-(\d{4}-\d{2}-\d{2}|\d{8}|\d{2}-\d{4}|\d{3}|latest))?"
)


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """One model a provider listed that can chat, and whether it takes images."""

    model: str
    vision: bool


def _bare(model: str) -> str:
    return model.rsplit("/", 1)[-1].lower()


def can_chat(kind: str, model: str) -> bool:
    """Whether a model a provider of `kind` listed can answer a chat request (a guess by name)."""
    bare = _bare(model)
    if bare in _NOT_CHAT_NAMES or any(m in bare for m in _NOT_CHAT_MARKERS):
        return False
    return kind != "openai" or not any(m in bare for m in _OPENAI_NOT_CHAT_MARKERS)


_CAPABILITIES: Final[dict[str, Callable[[str], ModelCapabilities]]] = {
    "openai": openai_capabilities,
    "anthropic": anthropic_capabilities,
    "gemini": gemini_capabilities,
    "ollama": ollama_capabilities,
    "openai_compatible": compatible_capabilities,
}


def sees_images(kind: str, model: str) -> bool:
    """Whether a model of a provider of `kind` takes images, as its client will assume."""
    capabilities = _CAPABILITIES.get(kind)
    if capabilities is None:
        return looks_like_vision_model(model)
    return capabilities(model).vision


def model_choices(kind: str, models: Iterable[str]) -> tuple[ModelChoice, ...]:
    """Keep the listed models that can chat: those that take images first, each group by name."""
    choices = {
        model: ModelChoice(model, sees_images(kind, model))
        for model in models
        if model and can_chat(kind, model)
    }
    return tuple(
        sorted(choices.values(), key=lambda c: (not c.vision, c.model.lower()))
    )


def _is_snapshot_of(model: str, base: str) -> bool:
    return model.startswith(base) and bool(
        _SNAPSHOT_SUFFIX.fullmatch(model[len(base) :])
    )


def recommended_model(
    kind: str, models: Iterable[str], *, today: date | None = None
) -> str | None:
    """Pick the model to pre-select among those listed; None when none can chat.

    The first of the kind's `RECOMMENDED_MODELS` the provider listed (the plain id before its
    snapshots, the newest snapshot before older ones); else the first listed chat model that takes
    images; else the first listed chat model. A model retired by `today` (default: the current
    date) is never picked, even when the provider still lists it.
    """
    day = today or date.today()
    choices = tuple(
        c for c in model_choices(kind, models) if not is_retired(c.model, day)
    )
    for base in RECOMMENDED_MODELS.get(kind, ()):
        matches = [c.model for c in choices if _is_snapshot_of(_bare(c.model), base)]
        plain = [model for model in matches if _bare(model) == base]
        if matches:
            # Snapshot names end in their date, so the greatest is the newest.
            return plain[0] if plain else max(matches)
    return choices[0].model if choices else None
