"""The error taxonomy: each class answers the router's four questions on its own (README's table)."""

from __future__ import annotations

import pytest

from custom_components.aicleaner.router.errors import (
    AuthError,
    BadRequestError,
    ContentFilterError,
    ContentPolicyRejectedError,
    ContextLengthError,
    CutOffError,
    EmptyResponseError,
    ErrorCategory,
    HealthEffect,
    InvalidInputError,
    MalformedResponseError,
    ModelAccessError,
    ModelNotFoundError,
    NetworkError,
    OverloadedError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    QuotaExhaustedError,
    RateLimitError,
    TransientInputError,
    WrongFormatError,
)

F, N = HealthEffect.FAILURE, HealthEffect.NEUTRAL
# class: (category, health, retry the same provider, fail over, billed)
TABLE: dict[
    type[ProviderError], tuple[ErrorCategory, HealthEffect, bool, bool, bool]
] = {
    InvalidInputError: (ErrorCategory.BAD_REQUEST, N, False, False, False),
    ContextLengthError: (ErrorCategory.CONTEXT_LENGTH, N, False, True, False),
    ContentFilterError: (ErrorCategory.CONTENT_FILTER, N, False, True, True),
    ContentPolicyRejectedError: (ErrorCategory.CONTENT_FILTER, N, False, True, False),
    ModelAccessError: (ErrorCategory.MODEL_ACCESS, N, False, True, False),
    ModelNotFoundError: (ErrorCategory.MODEL_NOT_FOUND, N, False, True, False),
    OverloadedError: (ErrorCategory.OVERLOADED, F, True, True, False),
    ProviderServerError: (ErrorCategory.PROVIDER, F, True, True, False),
    TransientInputError: (ErrorCategory.PROVIDER, F, True, True, False),
    NetworkError: (ErrorCategory.NETWORK, F, True, True, False),
    ProviderTimeoutError: (ErrorCategory.TIMEOUT, F, True, True, True),
    CutOffError: (ErrorCategory.CUT_OFF, F, True, True, True),
    MalformedResponseError: (ErrorCategory.MALFORMED, F, True, True, True),
    RateLimitError: (
        ErrorCategory.RATE_LIMIT,
        HealthEffect.THROTTLE,
        True,
        True,
        False,
    ),
    QuotaExhaustedError: (
        ErrorCategory.QUOTA,
        HealthEffect.COOLDOWN,
        False,
        True,
        False,
    ),
    AuthError: (ErrorCategory.AUTH, HealthEffect.KEY_REJECTED, False, True, False),
    WrongFormatError: (ErrorCategory.WRONG_FORMAT, N, False, True, True),
    EmptyResponseError: (ErrorCategory.EMPTY_RESPONSE, N, False, True, True),
    BadRequestError: (ErrorCategory.BAD_REQUEST, F, False, True, False),
}


@pytest.mark.parametrize("cls", TABLE)
def test_each_class_answers_the_four_questions(cls: type[ProviderError]) -> None:
    error = cls("what failed", provider="p", status=400)
    assert (
        error.category,
        error.health,
        error.retry_same,
        error.failover,
        error.billed,
    ) == TABLE[cls]
    assert error.retryable is error.retry_same
    assert error.counts_against_health is (error.health is HealthEffect.FAILURE)


def test_only_the_callers_own_input_goes_back_to_the_caller() -> None:
    assert InvalidInputError("x", provider="p").caller_input
    assert not BadRequestError("x", provider="p").caller_input
    assert not ContextLengthError("x", provider="p").caller_input


def test_a_spent_quota_pauses_for_an_hour_unless_told_longer() -> None:
    assert QuotaExhaustedError.cooldown_seconds == 3600.0


def test_context_length_error_carries_the_window_and_the_tokens_needed() -> None:
    error = ContextLengthError(
        "too long",
        provider="p",
        status=400,
        context_window=128_000,
        requested_tokens=130_000,
    )
    assert (error.context_window, error.requested_tokens) == (128_000, 130_000)
    assert str(error) == "p: too long (HTTP 400)"
    # The message is the exception's argument too, as for any exception (repr, pickling).
    assert error.args == ("too long",)
