"""Plain data shared by the router, the provider clients and the Home Assistant glue.

Everything here is a slotted dataclass: requests are built once per call and passed through the hot path
without copying. `Provider` is the protocol every client in `providers/` implements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
import hashlib
from itertools import count
from typing import Any, Protocol, runtime_checkable

from .conversation import Message, ToolCall, ToolChoice, ToolDefinition

_request_ids = count(1)

# Added to the system prompt of a request for JSON. Even the providers with a native JSON mode get
# it: OpenAI's refuses a request whose messages never mention JSON, and Ollama's docs ask for both.
JSON_INSTRUCTION = "Answer with one valid JSON value and nothing else: no prose, no Markdown code fences."


def _next_request_id() -> str:
    return f"req_{next(_request_ids)}"


@dataclass(frozen=True, slots=True)
class ImageInput:
    """One image to send with a request: raw bytes and their MIME type (image/jpeg, image/png, ...)."""

    data: bytes
    mime_type: str

    @property
    def sha256(self) -> str:
        """Hex digest of the bytes; the cache keys on this and never stores the bytes."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass(slots=True, kw_only=True)
class AIRequest:
    """One request for an answer, as the caller states it.

    The provider-facing fields (prompt, system_prompt, images, max_tokens, temperature, model,
    json_output) are what a provider client sends. The routing fields (provider, provider_order,
    strategy, tags, local_only, allowed_providers, use_cache, timeout) steer the router and are never
    sent anywhere.
    """

    # The prompt form; with `messages`, a last user turn when not empty.
    prompt: str = ""
    system_prompt: str | None = None
    images: tuple[ImageInput, ...] = ()
    max_tokens: int = 1024
    temperature: float | None = None
    # Use this model instead of the provider's configured one.
    model: str | None = None
    # Ask for one JSON value, in the provider's own way; an answer that does not parse fails over.
    json_output: bool = False
    # Routing: pin one provider by name; a tag selects routing rules; local_only keeps data at home.
    provider: str | None = None
    # Try these providers first, in this order (with `allowed_providers`, only these).
    provider_order: tuple[str, ...] = ()
    # This request's strategy instead of the router's (a `SelectionStrategy` value).
    strategy: str | None = None
    tags: frozenset[str] = frozenset()
    local_only: bool = False
    allowed_providers: frozenset[str] | None = None
    use_cache: bool = True
    # Seconds for the whole request, every attempt included; None means the router's default.
    timeout: float | None = None
    request_id: str = field(default_factory=_next_request_id)
    # The conversation form (`conversation.py`): turns, the tools the model may call, and whether
    # it must. A prompt-only request is a one-message conversation.
    messages: tuple[Message, ...] = ()
    tools: tuple[ToolDefinition, ...] = ()
    tool_choice: ToolChoice = ToolChoice.AUTO

    @property
    def has_images(self) -> bool:
        """Whether the request needs a vision-capable model."""
        return bool(self.images) or any(m.images for m in self.messages)

    @property
    def effective_system_prompt(self) -> str | None:
        """The system prompt as sent: the caller's, plus the JSON instruction when JSON is asked."""
        if not self.json_output:
            return self.system_prompt
        if self.system_prompt:
            return f"{self.system_prompt}\n\n{JSON_INSTRUCTION}"
        return JSON_INSTRUCTION


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage, as reported by the provider's own usage fields."""

    input_tokens: int = 0
    output_tokens: int = 0
    # Of `input_tokens`: read from the provider's prompt cache, and written to it (Anthropic).
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(frozen=True, slots=True)
class PriceTier:
    """The rates a whole request is billed at when its input passes `above_input_tokens`."""

    above_input_tokens: int
    input_per_mtok: float
    output_per_mtok: float


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per one million input and output tokens, with any long-context tiers.

    Providers bill a request whose input passes a tier's threshold at that tier's rates, for
    every token of it (OpenAI above 272k input tokens, Gemini Pro above 200k). `tiers` are
    ordered by threshold; the last one the input passes applies. `cost` of a reservation's input
    bound picks the tier that bound can reach; `cost` of the reported usage, the tier it did.
    """

    input_per_mtok: float
    output_per_mtok: float
    tiers: tuple[PriceTier, ...] = ()

    def rates(self, input_tokens: int) -> tuple[float, float]:
        """USD per million (input, output) tokens for a request of `input_tokens` input tokens."""
        rates = (self.input_per_mtok, self.output_per_mtok)
        for tier in self.tiers:
            if input_tokens <= tier.above_input_tokens:
                break
            rates = (tier.input_per_mtok, tier.output_per_mtok)
        return rates

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """Cost in USD of the given token counts."""
        if not self.tiers:
            return (
                input_tokens * self.input_per_mtok
                + output_tokens * self.output_per_mtok
            ) / 1_000_000
        rate_in, rate_out = self.rates(input_tokens)
        return (input_tokens * rate_in + output_tokens * rate_out) / 1_000_000


FREE = ModelPrice(0.0, 0.0)


@dataclass(frozen=True, slots=True)
class ModelCapabilities:
    """What a model (as configured on one provider) can take."""

    vision: bool
    context_window: int
    # Provider limits for one image, after which the client downscales or refuses.
    max_image_bytes: int
    max_image_dimension: int
    # Most input tokens one image can cost on this provider (at the largest size the client
    # sends, formatting included): an UPPER BOUND, because the router reserves budget with it
    # before the call and a call must never cost more than its reservation.
    tokens_per_image: int = 1000
    # The model runs in a provider's cloud even when the server it is asked through is at home
    # (Ollama's `-cloud` models): a local-only request must not use it.
    runs_in_cloud: bool = False
    # The model can call tools: a request with tools never goes to one that cannot.
    tools: bool = True


@dataclass(frozen=True, slots=True)
class Completion:
    """What a provider client returns for one successful call.

    `usage_reported` is False when the answer carried no usable token counts (some OpenAI-compatible
    gateways leave `usage` out): `usage` and `cost` are then zeros that mean "unknown", and the router
    books the call's reservation, an upper bound, instead.
    """

    text: str
    model: str
    usage: Usage
    finish_reason: str
    cost: float
    usage_reported: bool = True
    # The parsed answer, for a request with `json_output`.
    data: Any = None
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True, slots=True)
class HealthResult:
    """Result of a provider's free health call (model list or Ollama tags)."""

    latency_ms: float
    models: tuple[str, ...]


class AttemptOutcome(StrEnum):
    """What happened to one provider in one request."""

    SUCCESS = "success"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One provider tried (or skipped) while serving one request."""

    provider: str
    outcome: AttemptOutcome
    category: str | None = None
    latency_ms: float = 0.0
    status: int | None = None
    retry: int = 0


@dataclass(frozen=True, slots=True)
class AIResponse:
    """The router's answer to one request."""

    request_id: str
    text: str
    provider: str
    model: str
    usage: Usage
    cost: float
    latency_ms: float
    finish_reason: str
    cached: bool = False
    attempts: tuple[Attempt, ...] = ()
    # True when the provider reported no token usage and `cost` is the reservation (an upper bound).
    cost_estimated: bool = False
    # The parsed answer, for a request with `json_output`.
    data: Any = None
    # The tools the model asked to call (the caller runs them and sends their results back).
    tool_calls: tuple[ToolCall, ...] = ()


@runtime_checkable
class Provider(Protocol):
    """A provider client, as the router sees it. Implemented in `providers/`.

    `name` is the provider's stable key, unique among the router's providers (in Home Assistant, its
    subentry id); `label` is what people call it (the subentry's title), used in logs. `kind` is the
    wire protocol (openai, anthropic, gemini, ollama, openai_compatible).
    """

    @property
    def name(self) -> str:
        """Stable, unique key of this configured provider."""

    @property
    def label(self) -> str:
        """What people call this provider; it may change while `name` stays."""

    @property
    def kind(self) -> str:
        """Wire protocol / provider type."""

    @property
    def model(self) -> str:
        """The configured default model."""

    @property
    def is_local(self) -> bool:
        """True when requests never leave the home (e.g. Ollama on the LAN)."""

    def capabilities(self, model: str | None = None) -> ModelCapabilities:
        """Capabilities of `model` (default: the configured model)."""

    def price(self, model: str | None = None) -> ModelPrice:
        """Price of `model` (default: the configured model), user overrides applied."""

    async def prepare(self, request: AIRequest) -> AIRequest:
        """Return `request` as this provider will send it: its images fitted to the model's limits.

        Local work only (no network); the router runs it before an attempt's clock starts, so slow
        image work is never taken for a slow provider. Raise `BadRequestError(caller_input=True)`
        for an image no provider could take.
        """

    async def complete(self, request: AIRequest, *, timeout: float) -> Completion:
        """Send one request as `prepare` returned it; raise a `ProviderError` subclass on any failure."""

    async def health(self) -> HealthResult:
        """One free call that proves the provider is reachable and the key works."""

    async def validate_credentials(self) -> None:
        """Raise `AuthError` if the key is rejected, another `ProviderError` if unreachable."""
