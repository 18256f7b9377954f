"""`providers/classify.py`: every client maps each row of the error taxonomy it can produce.

Each fault is worded as the client's real API words it.

Through the provider simulator over real HTTP (its `taxonomy.py` holds the wire bodies), and, for the
gateways in front of a provider (LiteLLM, OpenRouter), through a loopback server answering their
wrapped error bodies. Each class carries the four answers the router acts on.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from custom_components.aicleaner.providers.classify import classify_error
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
    ModelAccessError,
    ModelNotFoundError,
    OverloadedError,
    ProviderError,
    QuotaExhaustedError,
    RateLimitError,
    TransientInputError,
)
from custom_components.aicleaner.router.models import AIRequest
from tests.simulator import Fault, SimulatorServer

from .conftest import FakeServer
from .helpers import make_client
from .test_against_simulator import SIM_PROVIDER, client_for

REQUEST = AIRequest(prompt="What is on the table?", max_tokens=64)

# (class, health, retry the same provider, fail over, billed): the README's table.
ANSWERS: dict[type[ProviderError], tuple[HealthEffect, bool, bool, bool]] = {
    InvalidInputError: (HealthEffect.NEUTRAL, False, False, False),
    ContextLengthError: (HealthEffect.NEUTRAL, False, True, False),
    ContentPolicyRejectedError: (HealthEffect.NEUTRAL, False, True, False),
    ContentFilterError: (HealthEffect.NEUTRAL, False, True, True),
    ModelAccessError: (HealthEffect.NEUTRAL, False, True, False),
    ModelNotFoundError: (HealthEffect.NEUTRAL, False, True, False),
    OverloadedError: (HealthEffect.FAILURE, True, True, False),
    TransientInputError: (HealthEffect.FAILURE, True, True, False),
    CutOffError: (HealthEffect.FAILURE, True, True, True),
    RateLimitError: (HealthEffect.THROTTLE, True, True, False),
    QuotaExhaustedError: (HealthEffect.COOLDOWN, False, True, False),
    AuthError: (HealthEffect.KEY_REJECTED, False, True, False),
    EmptyResponseError: (HealthEffect.NEUTRAL, False, True, True),
    BadRequestError: (HealthEffect.FAILURE, False, True, False),
}


def assert_answers(error: ProviderError, cls: type[ProviderError]) -> None:
    assert type(error) is cls
    assert (error.health, error.retry_same, error.failover, error.billed) == ANSWERS[
        cls
    ]


# (client kind, fault, (class, category)): each row each client can produce.
ROWS = [
    *(
        (kind, fault, expected)
        for kind in ("openai", "openai_compatible")
        for fault, expected in (
            ("context_length", (ContextLengthError, "context_length")),
            ("model_access", (ModelAccessError, "model_access")),
            ("quota", (QuotaExhaustedError, "quota")),
            ("content_policy", (ContentPolicyRejectedError, "content_filter")),
            ("cut_off", (CutOffError, "cut_off")),
        )
    ),
    ("anthropic", "context_length", (ContextLengthError, "context_length")),
    ("anthropic", "model_access", (ModelNotFoundError, "model_not_found")),
    ("anthropic", "quota", (QuotaExhaustedError, "quota")),
    ("anthropic", "cut_off", (CutOffError, "cut_off")),
    ("gemini", "context_length", (ContextLengthError, "context_length")),
    ("gemini", "model_access", (ModelNotFoundError, "model_not_found")),
    ("gemini", "quota", (QuotaExhaustedError, "quota")),
    ("gemini", "transient_image", (TransientInputError, "provider")),
    ("gemini", "cut_off", (CutOffError, "cut_off")),
    ("ollama", "context_length", (ContextLengthError, "context_length")),
    ("ollama", "model_access", (ModelNotFoundError, "model_not_found")),
    ("ollama", "out_of_memory", (BadRequestError, "bad_request")),
    ("ollama", "cut_off", (CutOffError, "cut_off")),
]


@pytest.mark.parametrize(("kind", "fault", "expected"), ROWS)
async def test_each_client_maps_each_taxonomy_fault_to_its_class(
    simulator: SimulatorServer,
    session: aiohttp.ClientSession,
    kind: str,
    fault: str,
    expected: tuple[type[ProviderError], str],
) -> None:
    cls, category = expected
    simulator.sim.set_fault(SIM_PROVIDER[kind], Fault(kind=fault))  # type: ignore[arg-type]
    client = client_for(kind, simulator, session)
    with pytest.raises(ProviderError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert_answers(caught.value, cls)
    assert caught.value.category == category


@pytest.mark.parametrize(
    ("kind", "window", "requested"),
    [
        ("openai", 128_000, 130_512),
        ("anthropic", 200_000, 201_873),
        ("gemini", 1_048_576, 1_052_672),
    ],
)
async def test_context_length_error_names_the_window_and_the_tokens_needed(
    simulator: SimulatorServer,
    session: aiohttp.ClientSession,
    kind: str,
    window: int,
    requested: int,
) -> None:
    simulator.sim.set_fault(kind, Fault(kind="context_length"))
    with pytest.raises(ContextLengthError) as caught:
        await client_for(kind, simulator, session).complete(REQUEST, timeout=5)
    assert (caught.value.context_window, caught.value.requested_tokens) == (
        window,
        requested,
    )
    assert str(window) in str(caught.value)


async def test_gemini_other_finish_without_parts_is_an_empty_answer(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    for reason in ("OTHER", "LANGUAGE"):
        fake_server.reply(
            {
                "candidates": [{"finishReason": reason, "index": 0}],
                "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
                "modelVersion": "gemini-2.5-flash",
            }
        )
        client = make_client("gemini", session, fake_server.url)
        with pytest.raises(EmptyResponseError) as caught:
            await client.complete(REQUEST, timeout=5)
        assert_answers(caught.value, EmptyResponseError)


# Gateways: the upstream error wrapped in their own envelope.
LITELLM_CONTEXT = {
    "error": {
        "message": "litellm.ContextWindowExceededError: litellm.BadRequestError: "
        "ContextWindowExceededError: OpenAIException - This model's maximum context length is "
        "128000 tokens. However, your messages resulted in 131000 tokens.",
        "type": None,
        "param": None,
        "code": "400",
    }
}
LITELLM_POLICY = {
    "error": {
        "message": "litellm.ContentPolicyViolationError: litellm.BadRequestError: AzureException - "
        "The response was filtered due to the prompt triggering Azure OpenAI's content "
        "management policy.",
        "type": None,
        "param": None,
        "code": "400",
    }
}
LITELLM_RATE = {
    "error": {
        "message": "litellm.RateLimitError: AnthropicException - "
        '{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens '
        'has exceeded your per-minute rate limit"}}',
        "type": None,
        "param": None,
        "code": "429",
    }
}
LITELLM_BUDGET = {
    "error": {
        "message": "Budget has been exceeded! Current cost: 10.2, Max budget: 10.0",
        "type": "budget_exceeded",
        "param": None,
        "code": "400",
    }
}
OPENROUTER_CONTEXT = {
    "error": {
        "code": 400,
        "message": "Provider returned error",
        "metadata": {
            "raw": '{"error":{"message":"This model\'s maximum context length is 128000 tokens. '
            'However, you requested 140000 tokens (139000 in the messages, 1000 in the completion).",'
            '"type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}',
            "provider_name": "OpenAI",
        },
    }
}
OPENROUTER_CREDITS = {
    "error": {
        "code": 402,
        "message": "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
    }
}
OPENROUTER_MODERATION = {
    "error": {
        "code": 403,
        "message": "anthropic/claude-3.5-sonnet requires moderation on OpenAI. Your input was "
        'flagged for "violence". No credits were charged.',
        "metadata": {
            "reasons": ["violence"],
            "flagged_input": "…",
            "provider_name": "OpenAI",
            "model_slug": "anthropic/claude-3.5-sonnet",
        },
    }
}
OPENROUTER_OVERLOADED = {
    "error": {
        "code": 502,
        "message": "Provider returned error",
        "metadata": {
            "raw": '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
            "provider_name": "Anthropic",
        },
    }
}


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (400, LITELLM_CONTEXT, ContextLengthError),
        (400, LITELLM_POLICY, ContentPolicyRejectedError),
        (429, LITELLM_RATE, RateLimitError),
        (400, LITELLM_BUDGET, QuotaExhaustedError),
        (400, OPENROUTER_CONTEXT, ContextLengthError),
        (402, OPENROUTER_CREDITS, QuotaExhaustedError),
        (403, OPENROUTER_MODERATION, ContentPolicyRejectedError),
        (502, OPENROUTER_OVERLOADED, OverloadedError),
    ],
)
async def test_gateway_wrapped_upstream_errors_keep_their_class(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    status: int,
    body: dict[str, Any],
    cls: type[ProviderError],
) -> None:
    fake_server.reply(body, status=status)
    client = make_client("openai_compatible", session, fake_server.url)
    with pytest.raises(ProviderError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert_answers(caught.value, cls)


def test_openrouter_context_error_names_the_upstream_numbers() -> None:
    error = classify_error(400, OPENROUTER_CONTEXT, provider="or", retry_after=None)
    assert isinstance(error, ContextLengthError)
    assert (error.context_window, error.requested_tokens) == (128_000, 140_000)


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        # Anthropic's output cap: "max_tokens: 100000 > 64000, which is the maximum allowed ...".
        (
            400,
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "max_tokens: 100000 > 64000, which is the maximum allowed number "
                    "of output tokens for claude-haiku-4-5-20251001",
                },
            },
            ContextLengthError,
        ),
        # OpenAI's: "max_tokens is too large: 100000. This model supports at most 16384 ...".
        (
            400,
            {
                "error": {
                    "message": "max_tokens is too large: 100000. This model supports at most "
                    "16384 completion tokens, whereas you provided 100000.",
                    "type": "invalid_request_error",
                    "param": "max_tokens",
                    "code": "invalid_value",
                }
            },
            ContextLengthError,
        ),
        # A Gemini per-minute rate (RetryInfo, PerMinute violation) stays a rate limit...
        (
            429,
            {
                "error": {
                    "code": 429,
                    "message": "You exceeded your current quota, please check your plan and "
                    "billing details.",
                    "status": "RESOURCE_EXHAUSTED",
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                            "violations": [
                                {
                                    "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"
                                }
                            ],
                        },
                        {
                            "@type": "type.googleapis.com/google.rpc.RetryInfo",
                            "retryDelay": "37s",
                        },
                    ],
                }
            },
            RateLimitError,
        ),
        # ...as does Gemini's bare "Resource has been exhausted (e.g. check quota)."
        (
            429,
            {
                "error": {
                    "code": 429,
                    "message": "Resource has been exhausted (e.g. check quota).",
                    "status": "RESOURCE_EXHAUSTED",
                }
            },
            RateLimitError,
        ),
        # A 403 that is about the key, not a model, stays a rejected key.
        (
            403,
            {
                "error": {
                    "message": "Country, region, or territory not supported",
                    "type": "request_forbidden",
                    "param": None,
                    "code": "unsupported_country_region_territory",
                }
            },
            AuthError,
        ),
        # OpenAI's unsupported_parameter: this model's configuration, fail over, no retry.
        (
            400,
            {
                "error": {
                    "message": "Unsupported parameter: 'max_tokens' is not supported with this "
                    "model. Use 'max_completion_tokens' instead.",
                    "type": "invalid_request_error",
                    "param": "max_tokens",
                    "code": "unsupported_parameter",
                }
            },
            BadRequestError,
        ),
    ],
)
def test_real_bodies_that_only_their_words_classify(
    status: int, body: dict[str, Any], cls: type[ProviderError]
) -> None:
    error = classify_error(status, body, provider="p", retry_after=None)
    assert_answers(error, cls)


def test_unsupported_parameter_says_so() -> None:
    body = {
        "error": {
            "message": "x",
            "type": "invalid_request_error",
            "code": "unsupported_parameter",
        }
    }
    error = classify_error(400, body, provider="p", retry_after=None)
    assert "parameter" in error.message
    assert error.category == ErrorCategory.BAD_REQUEST


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        # Azure's policy verdict only in `innererror`, the top-level code a generic one.
        (
            400,
            {
                "error": {
                    "message": "The request was refused.",
                    "code": "BadRequest",
                    "innererror": {"code": "ResponsibleAIPolicyViolation"},
                }
            },
            ContentPolicyRejectedError,
        ),
        # OpenRouter wrapping an upstream answer that was plain text...
        (
            400,
            {
                "error": {
                    "code": 400,
                    "message": "Provider returned error",
                    "metadata": {
                        "raw": "prompt is too long: 210000 tokens > 200000 maximum",
                        "provider_name": "Anthropic",
                    },
                }
            },
            ContextLengthError,
        ),
        # ...or already an object.
        (
            400,
            {
                "error": {
                    "code": 400,
                    "message": "Provider returned error",
                    "metadata": {
                        "raw": {
                            "error": {
                                "message": "x",
                                "code": "context_length_exceeded",
                            }
                        },
                        "provider_name": "OpenAI",
                    },
                }
            },
            ContextLengthError,
        ),
        # A Gemini free tier without the model: "limit: 0", whatever the window.
        (
            429,
            {
                "error": {
                    "code": 429,
                    "message": "You exceeded your current quota, please check your plan and "
                    "billing details.\n* Quota exceeded for metric: generativelanguage.googleapis"
                    ".com/generate_content_free_tier_requests, limit: 0, model: gemini-2.5-pro\n"
                    "Please retry in 20.04466179s.",
                    "status": "RESOURCE_EXHAUSTED",
                }
            },
            QuotaExhaustedError,
        ),
        # Only a 400 is Gemini's transient hiccup; a 422 validation error stays a refusal.
        (
            422,
            {
                "detail": [
                    {
                        "loc": ["body"],
                        "msg": "Please retry with a valid body",
                        "type": "x",
                    }
                ]
            },
            BadRequestError,
        ),
        # A 403 with the code model_not_found is model access, whatever its words.
        (
            403,
            {
                "error": {
                    "message": "The model `gpt-5` does not exist or you do not have access to it.",
                    "type": "invalid_request_error",
                    "code": "model_not_found",
                }
            },
            ModelAccessError,
        ),
    ],
)
def test_wrapped_and_detailed_bodies_keep_their_class(
    status: int, body: dict[str, Any], cls: type[ProviderError]
) -> None:
    assert_answers(classify_error(status, body, provider="p", retry_after=None), cls)
