"""OpenAI-compatible client: OpenAI's Chat Completions protocol at a user-chosen base URL.

For OpenRouter, LocalAI, vLLM, LM Studio, Groq, a LiteLLM proxy and the like. The base URL is required
and keeps its path prefix (`http://nas:8000/v1`); the key is optional. These servers implement the
classic parameter set, so every model gets `max_tokens` and a `system` message, whatever its name. The
temperature goes along too, except to OpenAI's reasoning families (`openai/o3`, `gpt-5-mini` through a
gateway): they reject it wherever they are served from.
"""

from __future__ import annotations

from typing import ClassVar, Final

from ..router.models import FREE, ModelCapabilities, ModelPrice
from .base import LocalityMixin
from .catalog import compatible_capabilities
from .openai import CLASSIC_RULES, OpenAIProvider, ParameterRules, parameter_rules
from .pricing import compatible_price

# Classic spelling, minus the temperature that reasoning models refuse.
COMPATIBLE_REASONING_RULES: Final = ParameterRules(
    "max_tokens", temperature=False, system_role="system"
)


class OpenAICompatibleProvider(LocalityMixin, OpenAIProvider):
    """Any server that speaks OpenAI's Chat Completions.

    `is_local` follows the base URL's host (`locality.is_private_host`): a loopback, private-range or
    LAN name is local and its models cost 0 unless a price is set; anything else is a cloud gateway.
    """

    kind: ClassVar[str] = "openai_compatible"
    default_base_url: ClassVar[str | None] = None
    # Self-hosted servers and gateways document no request size limit of their own.
    max_request_bytes: ClassVar[int | None] = None
    # Not every server takes `response_format` (some answer 400): JSON is asked by instruction.
    native_json: ClassVar[bool] = False

    def _rules(self, model: str) -> ParameterRules:
        # `parameter_rules` matches the bare name after the last "/" against OpenAI's families.
        if parameter_rules(model).temperature:
            return CLASSIC_RULES
        return COMPATIBLE_REASONING_RULES

    def _model_capabilities(self, model: str) -> ModelCapabilities:
        return compatible_capabilities(model)

    def _model_price(self, model: str) -> ModelPrice:
        return FREE if self.is_local else compatible_price(model)
