"""Which models can call tools, by name: a request with tools never goes to one that cannot.

Every current Claude, and every current GPT and Gemini chat model, calls tools. The exceptions are
named below: OpenAI's o1 previews, search-preview and instruct models, ChatGPT's alias; Gemini's
image-generation, embedding and Gemma models (the Gemini API gives Gemma no function calling). On
Ollama and self-hosted servers the model decides: those Ollama's library lists without the "tools"
capability (vision-only and older families) are named; any other name is taken as able, and a server
that refuses anyway answers 400, which fails over.
"""

from __future__ import annotations

from typing import Final

_NO_TOOLS: Final[dict[str, tuple[str, ...]]] = {
    "openai": (
        "o1-mini",
        "o1-preview",
        "gpt-4-vision",
        "chatgpt-",
        "search-preview",
        "gpt-3.5-turbo-instruct",
        "davinci",
        "babbage",
    ),
    "anthropic": (),
    "gemini": ("gemma", "-image", "embedding", "aqa", "imagen", "veo"),
    "local": (
        "llava",
        "bakllava",
        "moondream",
        "gemma",
        "llama2",
        "llama-2",
        "codellama",
        "phi3",
        "phi-3",
        "tinyllama",
        "deepseek-coder",
        "starcoder",
        "orca-mini",
        "vicuna",
        "minicpm-v",
        "embed",
    ),
}


def calls_tools(family: str, model: str) -> bool:
    """Whether `model` of `family` ("openai", "anthropic", "gemini", "local") can call tools."""
    bare = model.rsplit("/", 1)[-1].lower()
    return not any(marker in bare for marker in _NO_TOOLS[family])
