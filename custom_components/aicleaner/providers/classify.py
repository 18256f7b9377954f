"""Whose fault is an error answer? A provider's non-2xx answer mapped to the error taxonomy.

Reads what the API said, not only the HTTP status: the error code or type (OpenAI `error.code`,
Anthropic `error.type`, Gemini `error.status` and its `details`), the message's words, and the
upstream error a gateway wraps (OpenRouter's `error.metadata.raw`, LiteLLM's
`litellm.<Exception>` prefixes). The words are only matched, never kept: the exception carries
the category, the status and a short code, never upstream text that could quote the request.
"""

from __future__ import annotations

import re
from typing import Any, Final

import orjson

from ..router.errors import (
    AuthError,
    BadRequestError,
    ContentPolicyRejectedError,
    ContextLengthError,
    InvalidInputError,
    ModelAccessError,
    ModelNotFoundError,
    OverloadedError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    QuotaExhaustedError,
    RateLimitError,
    TransientInputError,
)

# A provider's error code or type ("invalid_request_error", "RESOURCE_EXHAUSTED") is kept in
# exceptions: a short identifier, never free text that could quote the request.
ERROR_CODE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}")

# Words in a 400/422 message that put the blame on the caller's image rather than our configuration...
_IMAGE_WORDS: Final = (
    "image",
    "media_type",
    "mime",
    "inline_data",
    "inlinedata",
    "base64",
)
# ...unless the message says this model takes no images at all: then another provider may do better.
_NO_VISION_WORDS: Final = (
    "not support",
    "only supported",
    "doesn't support",
    "does not accept",
    "not multimodal",
    "no vision",
    # Ollama's own words, below.
    "missing data required for image input",
)
# Ollama, for images sent to a text-only model (500, or 400 in some builds).
_OLLAMA_NO_VISION: Final = ("missing data required for image input",)
# The request does not fit the model: OpenAI `context_length_exceeded` ("This model's maximum context
# length is 128000 tokens. However, your messages resulted in 130000 tokens"), OpenAI "max_tokens is
# too large", Anthropic "prompt is too long: 210000 tokens > 200000 maximum" and "max_tokens: 100000 >
# 64000, which is the maximum allowed", Gemini "The input token count (N) exceeds the maximum number of
# tokens allowed (M)", LiteLLM `ContextWindowExceededError`, vLLM/llama.cpp context messages.
_CONTEXT_CODES: Final = frozenset(
    {"context_length_exceeded", "string_above_max_length", "request_too_large"}
)
_CONTEXT_WORDS: Final = (
    "context_length_exceeded",
    "contextwindowexceedederror",
    "maximum context length",
    "context length",
    "context window",
    "prompt is too long",
    "input is too long",
    "too many tokens",
    "exceeds the maximum number of tokens",
    "max_tokens is too large",
    "maximum allowed number of output tokens",
    "exceed_context_size",
)
# A refusal on content-policy grounds before any generation: Azure's (and proxies') 400
# `content_filter`, OpenAI's `content_policy_violation`, LiteLLM's `ContentPolicyViolationError`.
_POLICY_CODES: Final = frozenset(
    {"content_filter", "content_policy_violation", "responsibleaipolicyviolation"}
)
_POLICY_WORDS: Final = (
    "contentpolicyviolationerror",
    "content management policy",
    "content_policy_violation",
)
# The account's quota or credit is spent: OpenAI `insufficient_quota`, Anthropic "Your credit
# balance is too low", OpenRouter 402 "Insufficient credits", LiteLLM's `budget_exceeded`.
_QUOTA_CODES: Final = frozenset(
    {
        "insufficient_quota",
        "billing_error",
        "budget_exceeded",
        "billing_hard_limit_reached",
    }
)
_QUOTA_WORDS: Final = (
    "insufficient_quota",
    "credit balance is too low",
    "insufficient credits",
    "purchase credits",
    "budget has been exceeded",
    "exceededbudget",
)
# A 403 about one model, not the key: OpenAI "Project `proj_…` does not have access to model `x`"
# (code `model_not_found`), Anthropic `permission_error` naming the model.
_ACCESS_WORDS: Final = (
    "does not have access to model",
    "not have access to the model",
    "not allowed to use model",
    "not authorized to access this model",
    "access to model",
    "access to this model",
)
# The provider calls its own 400 transient: Gemini "Unable to process input image. Please retry".
_TRANSIENT_WORDS: Final = ("please retry", "please try again", "try again later")
# Ollama cannot load the model: "model requires more system memory (X GiB) than is available (Y GiB)".
_NO_MEMORY_WORDS: Final = ("requires more system memory", "out of memory", "cudamalloc")
# Google's ErrorInfo reasons for a rejected key (answered as 400 INVALID_ARGUMENT).
_AUTH_REASONS: Final = frozenset({"API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED"})
# Numbers in a context-length message: (window, requested) in the order each API writes them.
_OPENAI_CONTEXT = re.compile(
    r"maximum context length is (\d+) tokens.*?(?:resulted in|requested) (\d+) tokens",
    re.DOTALL,
)
_ANTHROPIC_CONTEXT = re.compile(r"(\d+) tokens > (\d+) maximum")
_GEMINI_CONTEXT = re.compile(
    r"input token count \(?(\d+)\)? exceeds the maximum.*?\(?(\d+)\)?", re.DOTALL
)


def error_message(body: Any) -> str:
    """Return the human-readable message of a provider error body, whatever its shape."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = error.get("message")
            if isinstance(message, str):
                return message
        elif isinstance(error, str):  # Ollama: {"error": "model 'x' not found"}
            return error
        message = body.get("message")
        if isinstance(message, str):
            return message
        detail = body.get("detail")  # vLLM / LiteLLM / LocalAI: FastAPI errors
        if isinstance(detail, str):
            return detail
        if isinstance(detail, dict):
            detail = [detail]
        if isinstance(detail, list):
            return "; ".join(
                text for item in detail if (text := _validation_item(item))
            )
    return ""


def error_code(body: Any) -> str | None:
    """Return the provider's machine-readable error code or type, when it is a plain identifier.

    OpenAI: `error.code`, else `error.type`; Anthropic: `error.type`; Gemini: `error.status`;
    FastAPI-style servers: the first validation item's `type`. Anything that is not a short
    identifier is dropped, so the result can never quote what was sent.
    """
    values: list[Any] = []
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            values += [error.get("code"), error.get("type"), error.get("status")]
        detail = body.get("detail")
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            values.append(detail[0].get("type"))
    for value in values:
        if isinstance(value, str) and ERROR_CODE.fullmatch(value):
            return value
    return None


def _validation_item(item: Any) -> str:
    """One pydantic validation error as "loc: msg (type)".

    Only `loc`, `msg` and `type` are kept: `input` (and `ctx`) echo what we sent, up to the whole
    request body with its prompt and images.
    """
    if not isinstance(item, dict):
        return ""
    message = item.get("msg")
    if not isinstance(message, str):
        return ""
    loc = item.get("loc")
    where = (
        ".".join(str(part) for part in loc if isinstance(part, str | int))
        if isinstance(loc, list)
        else ""
    )
    kind = item.get("type")
    text = f"{where}: {message}" if where else message
    return f"{text} ({kind})" if isinstance(kind, str) and kind else text


def _codes(body: Any) -> set[str]:
    """Every identifier-like code, type and status of an error body, lower-cased."""
    found: set[str] = set()
    if not isinstance(body, dict):
        return found
    error = body.get("error")
    if isinstance(error, dict):
        for key in ("code", "type", "status"):
            value = error.get(key)
            if isinstance(value, str) and ERROR_CODE.fullmatch(value):
                found.add(value.lower())
        inner = error.get(
            "innererror"
        )  # Azure: {"code": "ResponsibleAIPolicyViolation"}
        if isinstance(inner, dict) and isinstance(inner.get("code"), str):
            found.add(inner["code"].lower())
    return found


def _upstream(body: Any) -> Any:
    """Return the upstream error a gateway wrapped: OpenRouter's `error.metadata.raw` (text or JSON)."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    metadata = error.get("metadata") if isinstance(error, dict) else None
    raw = metadata.get("raw") if isinstance(metadata, dict) else None
    if isinstance(raw, str):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return {"error": {"message": raw}}
    return raw if isinstance(raw, dict) else None


def _google_details(body: Any) -> list[dict[str, Any]]:
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    if not isinstance(details, list):
        return []
    return [detail for detail in details if isinstance(detail, dict)]


def _google_quota_spent(body: Any, lowered: str) -> bool:
    """Whether a Gemini RESOURCE_EXHAUSTED is a spent quota (a day's, or none at all) rather than a rate.

    `QuotaFailure.violations[].quotaId` names the window ("…PerDay…", "…PerMinute…"); a free tier
    without access says "limit: 0". A per-minute violation is a rate: it passes within the minute.
    """
    if "limit: 0" in lowered:
        return True
    ids = [
        str(violation.get("quotaId", ""))
        for detail in _google_details(body)
        if str(detail.get("@type", "")).endswith("google.rpc.QuotaFailure")
        for violation in detail.get("violations") or ()
        if isinstance(violation, dict)
    ]
    return any("PerDay" in quota for quota in ids) and not any(
        "PerMinute" in quota for quota in ids
    )


def _context_numbers(lowered: str) -> tuple[int | None, int | None]:
    """(window, requested tokens) named in a context-length message, where it names them."""
    if match := _OPENAI_CONTEXT.search(lowered):
        return int(match.group(1)), int(match.group(2))
    if match := _ANTHROPIC_CONTEXT.search(lowered):
        return int(match.group(2)), int(match.group(1))
    if match := _GEMINI_CONTEXT.search(lowered):
        return int(match.group(2)), int(match.group(1))
    return None, None


def classify_error(
    status: int,
    body: Any,
    *,
    provider: str,
    retry_after: float | None,
) -> ProviderError:
    """Map one non-2xx answer (its status and parsed JSON body, or None) to the error taxonomy."""
    upstream = _upstream(body)
    text = " ".join(filter(None, (error_message(body), error_message(upstream))))
    lowered = text.lower()
    codes = _codes(body) | _codes(upstream)
    code = error_code(upstream) or error_code(body)
    suffix = f" [{code}]" if code else ""

    def has(words: tuple[str, ...]) -> bool:
        return any(word in lowered for word in words)

    if (
        codes & _POLICY_CODES
        or has(_POLICY_WORDS)
        or (status == 403 and "flagged" in lowered)
    ):
        return ContentPolicyRejectedError(
            f"refused on content-policy grounds{suffix}",
            provider=provider,
            status=status,
        )
    if (
        status == 402
        or codes & _QUOTA_CODES
        or has(_QUOTA_WORDS)
        or ("resource_exhausted" in codes and _google_quota_spent(body, lowered))
    ):
        return QuotaExhaustedError(
            f"the account's quota or credit is exhausted{suffix}",
            provider=provider,
            status=status,
            retry_after=retry_after,
        )
    if status in (401, 403) or (status == 400 and _google_auth_failure(body)):
        if status == 403 and ("model_not_found" in codes or has(_ACCESS_WORDS)):
            return ModelAccessError(
                f"this key may not use the model{suffix}",
                provider=provider,
                status=status,
            )
        return AuthError(
            f"the API key was rejected{suffix}", provider=provider, status=status
        )
    if status == 429 or "ratelimiterror" in lowered.replace(".", ""):
        return RateLimitError(
            f"rate limited{suffix}",
            provider=provider,
            status=status,
            retry_after=retry_after,
        )
    if codes & _CONTEXT_CODES or has(_CONTEXT_WORDS):
        window, requested = _context_numbers(lowered)
        return ContextLengthError(
            f"the request does not fit the model's context window"
            f"{f' of {window} tokens' if window else ''}{suffix}",
            provider=provider,
            status=status,
            context_window=window,
            requested_tokens=requested,
        )
    if status in (503, 529) or "overloaded_error" in codes:
        return OverloadedError(
            f"overloaded{suffix}",
            provider=provider,
            status=status,
            retry_after=retry_after,
        )
    if has(_NO_MEMORY_WORDS):
        return BadRequestError(
            f"the server lacks the memory to load the model{suffix}",
            provider=provider,
            status=status,
        )
    if has(_OLLAMA_NO_VISION):
        return BadRequestError(
            f"the model cannot take images{suffix}", provider=provider, status=status
        )
    if status >= 500:
        return ProviderServerError(
            f"server error{suffix}",
            provider=provider,
            status=status,
            retry_after=retry_after,
        )
    if status == 408:
        return ProviderTimeoutError(
            f"request timed out{suffix}", provider=provider, status=status
        )
    if status == 400 and has(_TRANSIENT_WORDS):
        return TransientInputError(
            f"a transient failure the provider asks to retry{suffix}",
            provider=provider,
            status=status,
            retry_after=retry_after,
        )
    if _names_unknown_model(status, codes, lowered):
        return ModelNotFoundError(
            f"the model was not found (retired or unknown){suffix}",
            provider=provider,
            status=status,
        )
    if status == 413 or (
        status in (400, 422) and has(_IMAGE_WORDS) and not has(_NO_VISION_WORDS)
    ):
        return InvalidInputError(
            f"the request's images or size were rejected{suffix}",
            provider=provider,
            status=status,
        )
    if status == 404:
        message = f"not found (unknown model or endpoint){suffix}"
    elif codes & {"unsupported_parameter", "unsupported_value"}:
        message = f"the model refuses a parameter sent to it{suffix}"
    else:
        message = f"request rejected{suffix}"
    return BadRequestError(message, provider=provider, status=status)


def _google_auth_failure(body: Any) -> bool:
    """Gemini answers a rejected key with 400 INVALID_ARGUMENT and ErrorInfo reason API_KEY_INVALID."""
    return any(
        detail.get("reason") in _AUTH_REASONS for detail in _google_details(body)
    )


def _names_unknown_model(status: int, codes: set[str], lowered_text: str) -> bool:
    """Whether an error answer says the model is unknown, rather than the path or the request.

    OpenAI and gateways send the code `model_not_found`; Anthropic (`model: ...`), Gemini
    (`models/... is not found`) and Ollama (`model '...' not found`) a 404 that names the model.
    A 404 that does not (a wrong base URL path) stays a plain bad request.
    """
    if "model_not_found" in codes:
        return status in (400, 404)
    return status == 404 and "model" in lowered_text
