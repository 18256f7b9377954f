"""OpenAI-compatible client: OpenAI's Chat Completions protocol at a user-chosen base URL.

For OpenRouter, LocalAI, vLLM, LM Studio, Groq, a LiteLLM proxy and the like. The base URL is required
and keeps its path prefix (`http://nas:8000/v1`); the key is optional. These servers implement the
classic parameter set, so every model gets `max_tokens` and a `system` message, whatever its name. The
temperature goes along too, except to OpenAI's reasoning families (`openai/o3`, `gpt-5-mini` through a
gateway): they reject it wherever they are served from.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Final

from ..router.models import FREE, ModelCapabilities
from .catalog import compatible_capabilities
from .gateway import is_key_refusal
from .gateway_cost import is_openrouter, openrouter_cost
from .openai import CLASSIC_RULES, OpenAIProvider, ParameterRules, parameter_rules
from .pricing import PriceQuote, compatible_quote

if TYPE_CHECKING:
    from collections.abc import Mapping

    import aiohttp

    from ..router.models import AIRequest, ImageInput
    from .base import JSONObject

# Classic spelling, minus the temperature that reasoning models refuse.
COMPATIBLE_REASONING_RULES: Final = ParameterRules(
    "max_tokens", temperature=False, system_role="system"
)


class OpenAICompatibleProvider(OpenAIProvider):
    """Any server that speaks OpenAI's Chat Completions.

    Whether the server runs the models itself (LocalAI, vLLM, LM Studio, llama.cpp: free, and the
    data stays home) or forwards them to a cloud (a LiteLLM proxy, OpenRouter: priced, and not local)
    is the user's statement, `runs_models`. A private host proves neither: a LiteLLM proxy on
    loopback forwards to paid cloud models. Unstated (None), the server is taken as forwarding.
    """

    kind: ClassVar[str] = "openai_compatible"
    default_base_url: ClassVar[str | None] = None
    # Self-hosted servers and gateways document no request size limit of their own.
    max_request_bytes: ClassVar[int | None] = None
    # Servers implement `detail` unevenly; OpenAI's own client sends it.
    image_detail: ClassVar[str | None] = None
    # Not every server takes `response_format` (some answer 400): JSON is asked by instruction.
    native_json: ClassVar[bool] = False

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        runs_models: bool | None = None,
        **settings: Any,
    ) -> None:
        """Accept the common settings plus `runs_models`: True when the server runs them itself."""
        self._runs_models = runs_models is True
        super().__init__(session, **settings)
        # OpenRouter says what it billed when asked to (`gateway_cost`).
        self._openrouter = is_openrouter(self._base_url)

    @property
    def is_local(self) -> bool:
        """True only when the user said the server runs the models itself."""
        return self._runs_models

    def _rules(self, model: str) -> ParameterRules:
        # `parameter_rules` matches the bare name after the last "/" against OpenAI's families.
        if parameter_rules(model).temperature:
            return CLASSIC_RULES
        return COMPATIBLE_REASONING_RULES

    def _completion_request(
        self, request: AIRequest, model: str, images: tuple[ImageInput, ...]
    ) -> tuple[str, JSONObject]:
        url, payload = super()._completion_request(request, model, images)
        if self._openrouter:
            # Only to OpenRouter: other servers may refuse a field they do not know.
            payload["usage"] = {"include": True}
        return url, payload

    def _gateway_cost(
        self, body: JSONObject, headers: Mapping[str, str]
    ) -> float | None:
        if self._openrouter:
            return openrouter_cost(body)
        return super()._gateway_cost(body, headers)

    def _model_capabilities(self, model: str) -> ModelCapabilities:
        return compatible_capabilities(model)

    def _is_auth_failure(self, status: int, body: Any) -> bool:
        # A LiteLLM proxy without a database refuses a key with HTTP 400 (see `gateway`).
        return is_key_refusal(status, body)

    def _model_quote(self, model: str, day: date) -> PriceQuote:
        if self._runs_models:
            return PriceQuote(FREE, listed=True)
        return compatible_quote(model, day)
