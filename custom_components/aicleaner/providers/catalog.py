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

from functools import lru_cache
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
