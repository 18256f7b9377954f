"""The error taxonomy shared by provider clients and the router: whose fault is it, and what follows.

Provider clients classify every failure into exactly one `ProviderError` subclass (see
`providers/classify.py`). Each class answers, on its own, the four questions the router asks
(README, "Whose fault is it?"): what the failure says about the provider's health, whether to try
the same provider again, whether to fail over, and whether the provider billed the attempt. The
router decides from those answers alone, never from a status code. Errors carry the provider name,
the HTTP status and a retry-after hint, and never the API key or the request body.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from .models import Attempt


class ErrorCategory(StrEnum):
    """Why a provider call failed (or, for the router-only ones, why it was not made)."""

    AUTH = "auth"
    RATE_LIMIT = "rate_limit"
    OVERLOADED = "overloaded"
    PROVIDER = "provider"
    TIMEOUT = "timeout"
    NETWORK = "network"
    BAD_REQUEST = "bad_request"
    CONTENT_FILTER = "content_filter"
    # The provider does not know (or no longer serves) the model: the configuration must change.
    MODEL_NOT_FOUND = "model_not_found"
    MALFORMED = "malformed"
    EMPTY_RESPONSE = "empty_response"
    # The request does not fit this model's context window (or its output limit).
    CONTEXT_LENGTH = "context_length"
    # The model exists, but this key (project, organisation) may not use it.
    MODEL_ACCESS = "model_access"
    # The account's quota or credit is spent: nothing helps before it is topped up or renewed.
    QUOTA = "quota"
    # A 2xx answer began and was cut off before its end: generated, and billed.
    CUT_OFF = "cut_off"
    # A complete answer in the wrong shape: prose to a JSON request.
    WRONG_FORMAT = "wrong_format"
    # Decided by the router before any call is made.
    BUDGET = "budget"
    BREAKER_OPEN = "breaker_open"
    RATE_LIMITED_LOCAL = "rate_limited_local"
    DEADLINE = "deadline"


class HealthEffect(StrEnum):
    """What a failure tells the router about the provider's health."""

    # Counts toward the breaker: the provider (or the way to it) is unwell.
    FAILURE = "failure"
    # Says nothing about the provider: neither trips nor closes the breaker.
    NEUTRAL = "neutral"
    # 429: the provider's limiter waits for its Retry-After; the breaker is not told.
    THROTTLE = "throttle"
    # Quota or credit spent: a long pause of its own (`cooldown_seconds`) and a repair.
    COOLDOWN = "cooldown"
    # The key was rejected: the breaker is held open until the key changes, and a repair asks for one.
    KEY_REJECTED = "key_rejected"


class AICleanerError(Exception):
    """Base of every error raised by the router and the provider clients."""


class ProviderError(AICleanerError):
    """A provider call failed. Each subclass fixes its category and the four answers.

    - `health`: what the failure says about the provider (`HealthEffect`);
    - `retry_same`: whether the same provider is worth another attempt (with backoff);
    - `failover`: whether another provider may do better; False returns the error to the caller;
    - `billed`: whether the provider most likely billed the attempt: its reservation is charged.
    """

    category: ClassVar[ErrorCategory] = ErrorCategory.PROVIDER
    health: ClassVar[HealthEffect] = HealthEffect.FAILURE
    retry_same: ClassVar[bool] = True
    failover: ClassVar[bool] = True
    billed: ClassVar[bool] = False
    # How long a `COOLDOWN` failure pauses the provider when the answer names no longer time.
    cooldown_seconds: ClassVar[float] = 3600.0

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Store what failed. `message` must never contain a key or the request body."""
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        """Render as 'provider: message (HTTP status)'."""
        status = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{self.provider}: {self.message}{status}"

    @property
    def retryable(self) -> bool:
        """Whether the same provider is worth another attempt (the older name of `retry_same`)."""
        return self.retry_same

    @property
    def counts_against_health(self) -> bool:
        """Whether the failure counts toward the provider's breaker."""
        return self.health is HealthEffect.FAILURE


class AuthError(ProviderError):
    """401/403 about the key: wrong, revoked or without permission for the API at all."""

    category = ErrorCategory.AUTH
    health = HealthEffect.KEY_REJECTED
    retry_same = False


class RateLimitError(ProviderError):
    """429: the provider asks us to slow down; `retry_after` says for how long when it knows."""

    category = ErrorCategory.RATE_LIMIT
    health = HealthEffect.THROTTLE


class QuotaExhaustedError(ProviderError):
    """The account's quota or credit is spent: no retry helps for hours; another provider may answer.

    OpenAI `insufficient_quota`, Anthropic's "credit balance is too low", Gemini's daily quota,
    OpenRouter's 402, a LiteLLM budget.
    """

    category = ErrorCategory.QUOTA
    health = HealthEffect.COOLDOWN
    retry_same = False


class OverloadedError(ProviderError):
    """503 or Anthropic's 529: the provider is temporarily overloaded."""

    category = ErrorCategory.OVERLOADED


class ProviderServerError(ProviderError):
    """Any other 5xx."""

    category = ErrorCategory.PROVIDER


class TransientInputError(ProviderError):
    """A 400 the provider itself calls transient: its own hiccup, never the caller's fault.

    Gemini's "Unable to process input image. Please retry": retried and failed over like a 5xx.
    """

    category = ErrorCategory.PROVIDER


class ProviderTimeoutError(ProviderError):
    """No complete answer within the time allowed: the request was sent, and is billed."""

    category = ErrorCategory.TIMEOUT
    billed = True


class NetworkError(ProviderError):
    """Connection refused or reset before any answer began, DNS failure, TLS failure."""

    category = ErrorCategory.NETWORK


class CutOffError(ProviderError):
    """A 2xx answer began and the connection broke before its end: generated, hence billed."""

    category = ErrorCategory.CUT_OFF
    billed = True


class BadRequestError(ProviderError):
    """A 400/404/422 that is this provider's configuration, not the caller's input: fail over.

    An unknown parameter for this model, a wrong base URL path, a redirect. `InvalidInputError` is
    the caller's fault instead; `caller_input` tells them apart.
    """

    category = ErrorCategory.BAD_REQUEST
    retry_same = False

    @property
    def caller_input(self) -> bool:
        """Whether the caller's own input is at fault, so that no other provider will do better."""
        return not self.failover


class InvalidInputError(BadRequestError):
    """The caller's own input is at fault: no other provider will do better, the caller gets the error.

    An invalid or oversize image, text no request can carry, a schema no provider takes.
    """

    health = HealthEffect.NEUTRAL
    failover = False


class ContextLengthError(BadRequestError):
    """The request does not fit this model's context window (or asks more output than it gives).

    Fails over only to a candidate whose window is larger: `context_window` is the window that was
    too small when the answer (or the model table) names it, `requested_tokens` what the request
    needed when the answer says.
    """

    category = ErrorCategory.CONTEXT_LENGTH
    health = HealthEffect.NEUTRAL

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        context_window: int | None = None,
        requested_tokens: int | None = None,
    ) -> None:
        """Store what failed and the window it did not fit."""
        super().__init__(message, provider=provider, status=status)
        self.context_window = context_window
        self.requested_tokens = requested_tokens


class ModelNotFoundError(BadRequestError):
    """The provider refused the model as unknown (404): retired, misspelt, or not on this account.

    A configuration error: the router fails over, and the provider's status shows
    `model_not_found` until its model is changed. Fast and free, it says nothing about health.
    """

    category = ErrorCategory.MODEL_NOT_FOUND
    health = HealthEffect.NEUTRAL


class ModelAccessError(BadRequestError):
    """The model exists, but this key may not use it: not a bad key, and not the key's health.

    OpenAI's 403 "Project … does not have access to model …". Fail over; a repair says so.
    """

    category = ErrorCategory.MODEL_ACCESS
    health = HealthEffect.NEUTRAL


class ContentFilterError(ProviderError):
    """A 2xx whose answer (or prompt) the provider's filter or the model refused: billed.

    Neutral: another provider, with another policy (a local model, often), may answer.
    """

    category = ErrorCategory.CONTENT_FILTER
    health = HealthEffect.NEUTRAL
    retry_same = False
    billed = True


class ContentPolicyRejectedError(ContentFilterError):
    """A 400 refusal of the prompt on policy grounds: refused before any generation, not billed.

    Azure's (or a proxy's) `content_filter`, LiteLLM's `ContentPolicyViolationError`, OpenRouter's
    moderation 403.
    """

    billed = False


class MalformedResponseError(ProviderError):
    """A 2xx whose body is unparseable, incomplete, HTML, or larger than we accept: billed."""

    category = ErrorCategory.MALFORMED
    billed = True


class WrongFormatError(ProviderError):
    """A complete answer in the wrong shape (prose to a JSON request): billed, fail over.

    The same model would most likely answer the same way; it says nothing about the provider's health.
    """

    category = ErrorCategory.WRONG_FORMAT
    health = HealthEffect.NEUTRAL
    retry_same = False
    billed = True


class EmptyResponseError(WrongFormatError):
    """A 2xx with no answer text: billed, fail over, neutral to health.

    The token limit spent on reasoning, only tool calls, Gemini's OTHER/LANGUAGE finish with no parts.
    """

    category = ErrorCategory.EMPTY_RESPONSE


class AllProvidersFailed(AICleanerError):
    """Every candidate provider was tried or skipped and none produced an answer."""

    def __init__(
        self,
        request_id: str,
        attempts: Sequence[Attempt],
        message: str | None = None,
        *,
        refusals: Mapping[str, str] | None = None,
    ) -> None:
        """Keep every attempt so the caller can say what was tried.

        `refusals`: when no provider could serve the request at all, why each was left out
        (`disabled`, `not allowed`, `not local`, `no vision`), by provider name: the caller's
        request, not a provider, was at fault.
        """
        self.request_id = request_id
        self.attempts = tuple(attempts)
        self.refusals: Mapping[str, str] = dict(refusals or {})
        tried = (
            ", ".join(
                f"{a.provider} ({a.category or a.outcome})" for a in self.attempts
            )
            or "no provider could serve the request"
        )
        super().__init__(message or f"All providers failed: {tried}")
