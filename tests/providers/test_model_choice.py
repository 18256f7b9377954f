"""Which listed models the setup form offers, marks as seeing images and pre-selects."""

from __future__ import annotations

import pytest

from custom_components.aicleaner.providers import PROVIDER_KINDS
from custom_components.aicleaner.providers.catalog import (
    RECOMMENDED_MODELS,
    ModelChoice,
    can_chat,
    model_choices,
    recommended_model,
)
from custom_components.aicleaner.providers.pricing import (
    ANTHROPIC_PRICES,
    GEMINI_PRICES,
    OPENAI_PRICES,
)
from tests.simulator import (
    anthropic as sim_anthropic,
    gemini as sim_gemini,
    ollama as sim_ollama,
    openai as sim_openai,
)

# What each simulated provider's model-list call returns, in its order: the simulator mirrors the real
# lists, non-chat models included.
LISTED: dict[str, list[str]] = {
    "openai": [
        *sim_openai.OpenAIProtocol.models,
        *sim_openai.OpenAIProtocol.other_models,
    ],
    "anthropic": list(sim_anthropic._MODEL_INFO),
    "gemini": [*sim_gemini.MODELS, *sim_gemini.EMBEDDING_MODELS],
    "ollama": list(sim_ollama.MODELS),
    "openai_compatible": [
        *sim_openai.CompatibleProtocol.models,
        *sim_openai.CompatibleProtocol.other_models,
    ],
}


@pytest.mark.parametrize(
    ("kind", "model"),
    [
        ("openai", "dall-e-3"),
        ("openai", "whisper-1"),
        ("openai", "tts-1"),
        ("openai", "gpt-4o-mini-tts"),
        ("openai", "gpt-4o-transcribe"),
        ("openai", "text-embedding-3-small"),
        ("openai", "omni-moderation-latest"),
        ("openai", "gpt-image-1"),
        ("openai", "gpt-4o-realtime-preview"),
        ("openai", "o3-pro"),
        ("openai", "gpt-5-codex"),
        ("openai", "gpt-3.5-turbo-instruct"),
        ("openai", "sora-2"),
        ("gemini", "gemini-embedding-001"),
        ("gemini", "imagen-4.0-generate-001"),
        ("gemini", "gemini-2.5-flash-preview-tts"),
        ("gemini", "gemini-2.0-flash-live-001"),
        ("gemini", "aqa"),
        ("ollama", "nomic-embed-text:latest"),
        ("ollama", "mxbai-embed-large:latest"),
        ("ollama", "all-minilm:l6-v2"),
        ("openai_compatible", "nomic-embed-text-v1.5"),
        ("openai_compatible", "openai/text-embedding-3-large"),
    ],
)
def test_models_no_chat_api_serves_are_not_chat_models(kind: str, model: str) -> None:
    assert not can_chat(kind, model)


@pytest.mark.parametrize(
    ("kind", "model"),
    [
        ("openai", "gpt-4o-mini"),
        ("openai", "gpt-4o-mini-2024-07-18"),
        ("openai", "gpt-5.4-mini"),
        ("openai", "o4-mini"),
        ("openai", "gpt-4o-search-preview"),
        ("anthropic", "claude-haiku-4-5-20251001"),
        ("gemini", "gemini-2.5-pro"),
        ("gemini", "gemini-3.1-pro-preview"),
        ("ollama", "llava:latest"),
        ("ollama", "llama3.2:latest"),
        # Gateways translate OpenAI's Responses-only and instruct models; local instruct models chat.
        ("openai_compatible", "openai/o3-pro"),
        ("openai_compatible", "llama-3.1-8b-instruct"),
    ],
)
def test_chat_models_are_chat_models(kind: str, model: str) -> None:
    assert can_chat(kind, model)


def test_choices_drop_non_chat_models_and_put_vision_models_first() -> None:
    choices = model_choices("ollama", LISTED["ollama"])
    assert choices == (
        ModelChoice("llama3.2-vision:latest", vision=True),
        ModelChoice("llava:latest", vision=True),
        ModelChoice("qwen2.5vl:7b", vision=True),
        ModelChoice("qwen3-vl:8b", vision=True),
        ModelChoice("llama3.2:latest", vision=False),
    )


def test_choices_from_the_openai_list_hold_no_model_that_cannot_chat() -> None:
    offered = {choice.model for choice in model_choices("openai", LISTED["openai"])}
    assert offered == set(sim_openai.OpenAIProtocol.models)
    assert not offered & set(sim_openai.OpenAIProtocol.other_models)


def test_choices_are_listed_once() -> None:
    choices = model_choices("gemini", ["gemini-2.5-flash", "gemini-2.5-flash"])
    assert choices == (ModelChoice("gemini-2.5-flash", vision=True),)


def test_choices_name_the_models_that_cannot_see_images() -> None:
    choices = {
        c.model: c.vision
        for c in model_choices("openai_compatible", LISTED["openai_compatible"])
    }
    assert choices == {
        "gpt-4o-mini": True,
        "qwen2.5-vl-7b-instruct": True,
        "gemma-3-12b-it": False,
        "llama-3.1-8b-instruct": False,
    }
    assert not model_choices("anthropic", ["claude-3-5-haiku-20241022"])[0].vision


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("openai", "gpt-5.4-mini"),
        # Anthropic lists only ids without a snapshot date for its newest models.
        ("anthropic", "claude-haiku-5-5"),
        ("gemini", "gemini-3.1-flash-lite"),
        # No recommendation for local models: the first that sees images.
        ("ollama", "llama3.2-vision:latest"),
        ("openai_compatible", "gpt-4o-mini"),
    ],
)
def test_recommended_model_of_each_simulated_provider(kind: str, expected: str) -> None:
    assert recommended_model(kind, LISTED[kind]) == expected


def test_recommended_model_is_never_the_alphabetically_first_listed() -> None:
    listed = LISTED["openai"]
    assert min(listed) == "dall-e-3"
    assert recommended_model("openai", listed) != "dall-e-3"


def test_recommended_model_falls_back_to_an_older_generation_then_its_newest_snapshot() -> (
    None
):
    assert (
        recommended_model("anthropic", ["claude-opus-4-7", "claude-haiku-4-5-20251001"])
        == "claude-haiku-4-5-20251001"
    )
    assert (
        recommended_model(
            "openai",
            ["gpt-4o", "gpt-4o-mini-2024-07-18", "gpt-4o-mini-2025-01-01", "whisper-1"],
        )
        == "gpt-4o-mini-2025-01-01"
    )
    # The plain id before any snapshot of it.
    assert (
        recommended_model("openai", ["gpt-4o-mini-2024-07-18", "gpt-4o-mini"])
        == "gpt-4o-mini"
    )


def test_a_longer_model_name_is_no_snapshot_of_a_recommended_one() -> None:
    # gpt-4o-mini-audio-preview starts like gpt-4o-mini but is another model.
    assert (
        recommended_model("openai", ["gpt-4o-mini-audio-preview", "gpt-4.1"])
        == "gpt-4.1"
    )


def test_recommended_model_behind_a_gateway_matches_vendor_prefixed_names() -> None:
    listed = ["meta-llama/llama-3.3-70b", "anthropic/claude-haiku-4-5", "qwen/qwen-vl"]
    assert (
        recommended_model("openai_compatible", listed) == "anthropic/claude-haiku-4-5"
    )


def test_recommended_model_prefers_vision_when_no_recommendation_is_listed() -> None:
    assert (
        recommended_model(
            "ollama", ["llama3.2:latest", "nomic-embed-text", "gemma3:4b"]
        )
        == "gemma3:4b"
    )
    assert recommended_model("ollama", ["llama3.2:latest"]) == "llama3.2:latest"


def test_no_recommendation_when_nothing_can_chat() -> None:
    assert recommended_model("openai", ["whisper-1", "dall-e-3"]) is None
    assert recommended_model("gemini", []) is None


@pytest.mark.parametrize("kind", PROVIDER_KINDS)
def test_recommended_models_are_priced_chat_models_that_see_images(kind: str) -> None:
    prices = {**OPENAI_PRICES, **ANTHROPIC_PRICES, **GEMINI_PRICES}
    for model in RECOMMENDED_MODELS.get(kind, ()):
        assert model in prices, model
        chosen = model_choices(kind, [model])
        assert chosen == (ModelChoice(model, vision=True),), model
