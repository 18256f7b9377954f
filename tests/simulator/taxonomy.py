"""Error answers of the error taxonomy's classes, worded as each real API words them.

Used by the `context_length`, `model_access`, `quota`, `content_policy`, `transient_image` and
`out_of_memory` faults. Each body is the provider's documented (or observed) wire error:
- OpenAI: `context_length_exceeded` ("This model's maximum context length is …"), 403
  `model_not_found` ("Project `proj_…` does not have access to model `…`"), 429
  `insufficient_quota`, 400 `content_filter` as Azure OpenAI (and proxies in front of it) send it;
- Anthropic: 400 `invalid_request_error` "prompt is too long: N tokens > M maximum", 400 "Your credit
  balance is too low to access the Anthropic API…", 404 `not_found_error` "model: …" (it has no
  per-key model access of its own), no content-policy 400 (its refusals are a 200 `refusal`);
- Gemini: 400 INVALID_ARGUMENT "The input token count (N) exceeds the maximum number of tokens
  allowed (M).", 429 RESOURCE_EXHAUSTED with a per-day `QuotaFailure`, for a
  model this key cannot call (404 NOT_FOUND "models/… is not found for API version v1"), 400 "Unable to process input image. Please retry …";
- Ollama: 400 "the input length exceeds the context length", 404 "model '…' not found", 500 "model
  requires more system memory (…) than is available (…)".
The compatible server answers as OpenAI does.
"""

from __future__ import annotations

from typing import Any

from custom_components.aicleaner.providers.catalog import (
    anthropic_capabilities,
    gemini_capabilities,
    ollama_capabilities,
    openai_capabilities,
)

TAXONOMY_KINDS = frozenset(
    {
        "context_length",
        "model_access",
        "quota",
        "content_policy",
        "transient_image",
        "out_of_memory",
    }
)


def _openai(
    message: str, type_: Any, code: str | None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _anthropic(error_type: str, message: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": "req_011CSimulatedError000000",
    }


def _google(
    code: int, status: str, message: str, details: list[Any] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details is not None:
        error["details"] = details
    return {"error": error}


def window_of(provider: str, model: str) -> int:
    """The context window the client's own tables give the model (what the answer names)."""
    capabilities = {
        "openai": openai_capabilities,
        "compatible": openai_capabilities,
        "anthropic": anthropic_capabilities,
        "gemini": gemini_capabilities,
        "ollama": ollama_capabilities,
    }[provider]
    return capabilities(model).context_window


def taxonomy_error(provider: str, kind: str, model: str) -> tuple[int, dict[str, Any]]:
    """(status, body) of one taxonomy fault as `provider` answers it for `model`."""
    if provider in ("openai", "compatible"):
        return _openai_error(kind, model)
    if provider == "anthropic":
        return _anthropic_error(kind, model)
    if provider == "gemini":
        return _gemini_error(kind, model)
    return _ollama_error(kind, model)


def _openai_error(kind: str, model: str) -> tuple[int, dict[str, Any]]:
    window = window_of("openai", model)
    match kind:
        case "context_length":
            return 400, _openai(
                f"This model's maximum context length is {window} tokens. However, your messages "
                f"resulted in {window + 2512} tokens. Please reduce the length of the messages.",
                "invalid_request_error",
                "context_length_exceeded",
                "messages",
            )
        case "model_access":
            return 403, _openai(
                f"Project `proj_SimulatedProject0000` does not have access to model `{model}`",
                "invalid_request_error",
                "model_not_found",
            )
        case "quota":
            return 429, _openai(
                "You exceeded your current quota, please check your plan and billing details. For "
                "more information on this error, read the docs: "
                "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                "insufficient_quota",
                "insufficient_quota",
            )
        case "content_policy":
            body = _openai(
                "The response was filtered due to the prompt triggering Azure OpenAI's content "
                "management policy. Please modify your prompt and retry. To learn more about our "
                "content filtering policies please read our documentation: "
                "https://go.microsoft.com/fwlink/?linkid=2198766",
                None,
                "content_filter",
                "prompt",
            )
            body["error"]["status"] = 400
            body["error"]["innererror"] = {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_result": {
                    "hate": {"filtered": False, "severity": "safe"},
                    "self_harm": {"filtered": False, "severity": "safe"},
                    "sexual": {"filtered": False, "severity": "safe"},
                    "violence": {"filtered": True, "severity": "medium"},
                },
            }
            return 400, body
        case "out_of_memory" | "transient_image":
            return 500, _openai(
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
                None,
            )
    raise ValueError(kind)


def _anthropic_error(kind: str, model: str) -> tuple[int, dict[str, Any]]:
    window = window_of("anthropic", model)
    match kind:
        case "context_length":
            return 400, _anthropic(
                "invalid_request_error",
                f"prompt is too long: {window + 1873} tokens > {window} maximum",
            )
        case "model_access":
            return 404, _anthropic("not_found_error", f"model: {model}")
        case "quota":
            return 400, _anthropic(
                "invalid_request_error",
                "Your credit balance is too low to access the Anthropic API. Please go to Plans & "
                "Billing to upgrade or purchase credits.",
            )
        case "content_policy" | "out_of_memory" | "transient_image":
            return 500, _anthropic("api_error", "Internal server error")
    raise ValueError(kind)


def _gemini_error(kind: str, model: str) -> tuple[int, dict[str, Any]]:
    window = window_of("gemini", model)
    match kind:
        case "context_length":
            return 400, _google(
                400,
                "INVALID_ARGUMENT",
                f"The input token count ({window + 4096}) exceeds the maximum number of tokens "
                f"allowed ({window}).",
            )
        case "model_access":
            return 404, _google(
                404,
                "NOT_FOUND",
                f"models/{model} is not found for API version v1, or is not supported for "
                "generateContent. Call ListModels to see the list of available models and their "
                "supported methods.",
            )
        case "quota":
            return 429, _google(
                429,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota, please check your plan and billing details. For "
                "more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                        "violations": [
                            {
                                "quotaMetric": "generativelanguage.googleapis.com/generate_requests_per_model_per_day",
                                "quotaId": "GenerateRequestsPerDayPerProjectPerModel",
                            }
                        ],
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.Help",
                        "links": [
                            {
                                "description": "Learn more about Gemini API quotas",
                                "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                            }
                        ],
                    },
                ],
            )
        case "transient_image":
            return 400, _google(
                400,
                "INVALID_ARGUMENT",
                "Unable to process input image. Please retry or report in "
                "https://developers.generativeai.google/guide/troubleshooting",
            )
        case "content_policy" | "out_of_memory":
            return 500, _google(
                500,
                "INTERNAL",
                "An internal error has occurred. Please retry or report in "
                "https://developers.generativeai.google/guide/troubleshooting",
            )
    raise ValueError(kind)


def _ollama_error(kind: str, model: str) -> tuple[int, dict[str, Any]]:
    match kind:
        case "context_length":
            return 400, {"error": "the input length exceeds the context length"}
        case "model_access":
            return 404, {"error": f"model '{model}' not found"}
        case "out_of_memory":
            return 500, {
                "error": "model requires more system memory (12.3 GiB) than is available (7.6 GiB)"
            }
        case "quota" | "content_policy" | "transient_image":
            return 500, {"error": "an error was encountered while running the model"}
    raise ValueError(kind)
