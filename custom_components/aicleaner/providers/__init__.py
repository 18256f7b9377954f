"""Provider clients: one per wire protocol, all on an injected `aiohttp.ClientSession`.

The Home Assistant glue builds clients through `create_provider` and never imports a client module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from .anthropic import AnthropicProvider
from .base import BaseProvider
from .gemini import GeminiProvider
from .ollama import OllamaProvider
from .openai import OpenAIProvider
from .openai_compatible import OpenAICompatibleProvider

if TYPE_CHECKING:
    import aiohttp

    from ..router.models import Provider

    def _implements_the_router_protocol(client: BaseProvider) -> Provider:
        """Let mypy prove every client satisfies the router's `Provider` protocol."""
        return client


PROVIDER_CLASSES: Final[dict[str, type[BaseProvider]]] = {
    OpenAIProvider.kind: OpenAIProvider,
    AnthropicProvider.kind: AnthropicProvider,
    GeminiProvider.kind: GeminiProvider,
    OllamaProvider.kind: OllamaProvider,
    OpenAICompatibleProvider.kind: OpenAICompatibleProvider,
}
PROVIDER_KINDS: Final = tuple(PROVIDER_CLASSES)


def create_provider(
    kind: str, session: aiohttp.ClientSession, **settings: Any
) -> BaseProvider:
    """Build the client for `kind` ("openai", "anthropic", "gemini", "ollama", "openai_compatible").

    `settings` are the constructor's keyword arguments: `name`, `model` (required), `api_key`,
    `base_url`, `price_override`, `request_timeout`, `vision`, `context_window`, `max_response_bytes`,
    plus `auth_header` for anthropic and `api_version` for gemini. Raises `ValueError` for an unknown
    kind or a missing base URL (openai_compatible has no default).
    """
    try:
        provider_class = PROVIDER_CLASSES[kind]
    except KeyError:
        raise ValueError(f"unknown provider kind: {kind}") from None
    return provider_class(session, **settings)


__all__ = [
    "PROVIDER_CLASSES",
    "PROVIDER_KINDS",
    "AnthropicProvider",
    "BaseProvider",
    "GeminiProvider",
    "OllamaProvider",
    "OpenAICompatibleProvider",
    "OpenAIProvider",
    "create_provider",
]
