"""The error taxonomy shared by provider clients and the router.

Provider clients classify every failure into exactly one `ProviderError` subclass; the router decides
retry and failover from `category` and `retryable` alone. Errors carry the provider name, the HTTP status
and a retry-after hint, and never the API key or the request body.
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
    # Decided by the router before any call is made.
    BUDGET = "budget"
    BREAKER_OPEN = "breaker_open"
    RATE_LIMITED_LOCAL = "rate_limited_local"
    DEADLINE = "deadline"


class AICleanerError(Exception):
    """Base of every error raised by the router and the provider clients."""


class ProviderError(AICleanerError):
    """A provider call failed. Subclasses fix the category and whether a retry can help."""

    category: ClassVar[ErrorCategory] = ErrorCategory.PROVIDER
    retryable: ClassVar[bool] = True

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


class AuthError(ProviderError):
    """401/403: the key is wrong, revoked or lacks permission."""

    category = ErrorCategory.AUTH
    retryable = False


class RateLimitError(ProviderError):
    """429: the provider asks us to slow down; `retry_after` says for how long when it knows."""

    category = ErrorCategory.RATE_LIMIT
    retryable = True


class OverloadedError(ProviderError):
    """503 or Anthropic's 529: the provider is temporarily overloaded."""

    category = ErrorCategory.OVERLOADED
    retryable = True


class ProviderServerError(ProviderError):
    """Any other 5xx."""

    category = ErrorCategory.PROVIDER
    retryable = True


class ProviderTimeoutError(ProviderError):
    """No complete answer within the time allowed."""

    category = ErrorCategory.TIMEOUT
    retryable = True


class NetworkError(ProviderError):
    """Connection refused or reset, DNS failure, TLS failure."""

    category = ErrorCategory.NETWORK
    retryable = True


class BadRequestError(ProviderError):
    """400/404/422: the provider rejected the request.

    `caller_input` is True when the caller's own input is at fault (an invalid or oversize image, a prompt
    too long for every model), so that no other provider will do better and the router returns the error
    to the caller. It is False when the fault is this provider's configuration (an unknown model), so the
    router fails over.
    """

    category = ErrorCategory.BAD_REQUEST
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        retry_after: float | None = None,
        caller_input: bool = False,
    ) -> None:
        """Store what failed and whose fault it was."""
        super().__init__(
            message, provider=provider, status=status, retry_after=retry_after
        )
        self.caller_input = caller_input


class ModelNotFoundError(BadRequestError):
    """The provider refused the model as unknown (404): retired, misspelt, or not on this account.

    A configuration error, like `BadRequestError(caller_input=False)`: the router fails over, and
    the provider's status shows `model_not_found` until its model is changed.
    """

    category = ErrorCategory.MODEL_NOT_FOUND
    retryable = False


class ContentFilterError(ProviderError):
    """The provider refused the content. Not retried here; another provider may answer."""

    category = ErrorCategory.CONTENT_FILTER
    retryable = False


class MalformedResponseError(ProviderError):
    """A 2xx whose body is unparseable, incomplete, HTML, or larger than we accept."""

    category = ErrorCategory.MALFORMED
    retryable = True


class EmptyResponseError(ProviderError):
    """A 2xx with no answer text (e.g. the token limit spent on reasoning, or only tool calls).

    The provider billed it, a retry with the same settings would most likely end the same way, and
    another provider may answer: fail over.
    """

    category = ErrorCategory.EMPTY_RESPONSE
    retryable = False


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
