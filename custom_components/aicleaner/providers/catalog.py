"""What each provider's models can take: vision, context window, image limits.

Image limits are the providers' documented ones (checked 2026-11-26):
- OpenAI: up to 50 MB of images per request; "high" detail first scales an image to fit 2048x2048, so a
  larger side only costs upload time. We cap one image at 20 MB and 2048 px.
- Anthropic: 5 MB per image (the API counts the base64 form; 3.75 MB of bytes encode to 5 MB), 8000 px
  hard limit, and anything past 1568 px on the long edge is scaled down server-side before the model sees
  it. We cap at 3.75 MB and 1568 px.
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
from functools import lru_cache
import re
from typing import Final

from ..router.models import ModelCapabilities

_MB: Final = 1_000_000

OPENAI_IMAGE_BYTES: Final = 20 * _MB
OPENAI_IMAGE_DIMENSION: Final = 2048
ANTHROPIC_IMAGE_BYTES: Final = 3_750_000
ANTHROPIC_IMAGE_DIMENSION: Final = 1568
GEMINI_IMAGE_BYTES: Final = 7 * _MB
GEMINI_IMAGE_DIMENSION: Final = 3072
OPENAI_REQUEST_BYTES: Final = 50 * _MB
ANTHROPIC_REQUEST_BYTES: Final = 32 * _MB
GEMINI_REQUEST_BYTES: Final = 20 * _MB
LOCAL_IMAGE_BYTES: Final = 10 * _MB
LOCAL_IMAGE_DIMENSION: Final = 1568

# Upper bounds on the input tokens of one image, after our caps above. The router reserves budget with
# them, so they must never be below what the provider bills.
# - OpenAI tile models scale an image to fit 2048x2048, then its short side to 768: at most 8 tiles of
#   512 px, billed base + 8 x tile (gpt-4o 85 + 8 x 170 = 1,445; gpt-4o-mini 2,833 + 8 x 5,667 =
#   48,169). Patch models count 32 px patches, capped at 1,536, times a per-model multiplier of at
#   most 2.46: 3,779. Every model but gpt-4o-mini stays under that.
# - Anthropic: tokens = width x height / 750, on images scaled to about 1.15 megapixels, "about
#   1,600" tokens; 1,750 leaves room for the "about".
# - Gemini 2.x bills 258 tokens for an image of at most 384 px, else 258 per tile, tiles being the
#   short side / 1.5 (kept within 256..768 px): at most 24 tiles (6,192) for extreme aspect ratios
#   within 3072 px. Gemini 3 bills at most 1,120 at its default high resolution.
# - Self-hosted and gateway models (Ollama, OpenAI-compatible): the largest of the bounds above that
#   can apply at our 1568 px cap; a gateway's gpt-4o-mini bills as OpenAI's does.
OPENAI_IMAGE_TOKENS: Final = 3_779
OPENAI_MINI_4O_IMAGE_TOKENS: Final = 48_169
ANTHROPIC_IMAGE_TOKENS: Final = 1_750
GEMINI_IMAGE_TOKENS: Final = 6_192
LOCAL_IMAGE_TOKENS: Final = GEMINI_IMAGE_TOKENS

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


def _openai_image_tokens(model: str) -> int:
    return (
        OPENAI_MINI_4O_IMAGE_TOKENS
        if model.startswith("gpt-4o-mini")
        else OPENAI_IMAGE_TOKENS
    )


@lru_cache(maxsize=256)
def openai_capabilities(model: str) -> ModelCapabilities:
    """OpenAI models: unknown new ones are assumed multimodal, as every current family is."""
    vision, context = _match(model.lower(), _OPENAI_MODELS) or (True, 128_000)
    return ModelCapabilities(
        vision=vision,
        context_window=context,
        max_image_bytes=OPENAI_IMAGE_BYTES,
        max_image_dimension=OPENAI_IMAGE_DIMENSION,
        tokens_per_image=_openai_image_tokens(model.lower()),
    )


@lru_cache(maxsize=256)
def anthropic_capabilities(model: str) -> ModelCapabilities:
    """Claude models: all but Haiku 3.5 take images; 200k context unless listed."""
    vision, context = _match(model.lower(), _ANTHROPIC_MODELS) or (True, 200_000)
    return ModelCapabilities(
        vision=vision,
        context_window=context,
        max_image_bytes=ANTHROPIC_IMAGE_BYTES,
        max_image_dimension=ANTHROPIC_IMAGE_DIMENSION,
        tokens_per_image=ANTHROPIC_IMAGE_TOKENS,
    )


@lru_cache(maxsize=256)
def gemini_capabilities(model: str) -> ModelCapabilities:
    """Gemini models are all multimodal with a 1M-token context."""
    return ModelCapabilities(
        vision=True,
        context_window=1_048_576,
        max_image_bytes=GEMINI_IMAGE_BYTES,
        max_image_dimension=GEMINI_IMAGE_DIMENSION,
        tokens_per_image=GEMINI_IMAGE_TOKENS,
    )


def looks_like_vision_model(model: str) -> bool:
    """Name-based guess for self-hosted models; the user's `vision` setting overrides it."""
    lowered = model.lower()
    return any(marker in lowered for marker in _LOCAL_VISION_MARKERS)


@lru_cache(maxsize=256)
def ollama_capabilities(model: str) -> ModelCapabilities:
    """Ollama models: vision guessed from the name, Ollama's default context."""
    return ModelCapabilities(
        vision=looks_like_vision_model(model),
        context_window=OLLAMA_CONTEXT_WINDOW,
        max_image_bytes=LOCAL_IMAGE_BYTES,
        max_image_dimension=LOCAL_IMAGE_DIMENSION,
        tokens_per_image=LOCAL_IMAGE_TOKENS,
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
        tokens_per_image=max(_openai_image_tokens(bare), LOCAL_IMAGE_TOKENS),
    )


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


def recommended_model(kind: str, models: Iterable[str]) -> str | None:
    """Pick the model to pre-select among those listed; None when none can chat.

    The first of the kind's `RECOMMENDED_MODELS` the provider listed (the plain id before its
    snapshots, the newest snapshot before older ones); else the first listed chat model that takes
    images; else the first listed chat model.
    """
    choices = model_choices(kind, models)
    for base in RECOMMENDED_MODELS.get(kind, ()):
        matches = [c.model for c in choices if _is_snapshot_of(_bare(c.model), base)]
        plain = [model for model in matches if _bare(model) == base]
        if matches:
            # Snapshot names end in their date, so the greatest is the newest.
            return plain[0] if plain else max(matches)
    return choices[0].model if choices else None
