"""A gateway in front of the OpenAI-compatible protocol: what it bills, and the model it falls back to.

Set one with `sim.set_gateway("compatible", Gateway(...))` (or on "openai"), or over HTTP with
`POST /_sim/gateway {"provider": "compatible", "kind": "litellm", "default_rates": [0.5, 1.5],
"fallbacks": {"gpt-4o-mini": "gpt-4o"}}` (`"kind": null` removes it). The figures are what the real
gateways send:
- "litellm": a LiteLLM proxy's `x-litellm-response-cost` header (USD) on every answer;
- "openrouter": OpenRouter's `usage.cost` (USD credits), only when the request asked for it with
  `"usage": {"include": true}` (OpenRouter takes that field; other servers refuse it).
`fallbacks` names the model that answers instead of the one asked for (a gateway's fallback), as
the answer's `model` says. The cost is the answering model's rates times the reported usage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, cast

GatewayKind = Literal["litellm", "openrouter"]
LITELLM_COST_HEADER = "x-litellm-response-cost"


@dataclass(slots=True)
class Gateway:
    """How the simulated gateway bills, and which models it answers with instead."""

    kind: GatewayKind
    # USD per million (input, output) tokens of each answering model; `default_rates` for others.
    rates: dict[str, tuple[float, float]] = field(default_factory=dict)
    default_rates: tuple[float, float] = (1.0, 2.0)
    fallbacks: dict[str, str] = field(default_factory=dict)
    # Every cost the gateway reported, in order (what it billed).
    billed: list[float] = field(default_factory=list)

    def accepts(self, parameter: str) -> bool:
        """Whether the gateway takes a request field plain OpenAI refuses."""
        return self.kind == "openrouter" and parameter == "usage"

    def bill(self, body: dict[str, Any], response: dict[str, Any]) -> dict[str, str]:
        """Put the answering model and the cost in `response`; return the headers to add."""
        asked = str(body.get("model"))
        served = self.fallbacks.get(asked)
        if served is not None:
            response["model"] = served
        rate_in, rate_out = self.rates.get(
            str(response["model"]), self.rates.get(asked, self.default_rates)
        )
        usage = response["usage"]
        cost = (
            usage["prompt_tokens"] * rate_in + usage["completion_tokens"] * rate_out
        ) / 1_000_000
        if self.kind == "litellm":
            self.billed.append(cost)
            return {LITELLM_COST_HEADER: repr(cost)}
        asked_usage = body.get("usage")
        if isinstance(asked_usage, dict) and asked_usage.get("include") is True:
            usage["cost"] = cost
            usage["is_byok"] = False
            usage["cost_details"] = {"upstream_inference_cost": None}
        self.billed.append(cost)
        return {}


def gateway_from(data: dict[str, Any]) -> Gateway:
    """Build a gateway from the admin endpoint's JSON (unknown keys are an error)."""
    kind = data.pop("kind")
    if kind not in ("litellm", "openrouter"):
        raise ValueError(f"unknown gateway kind {kind!r}")
    rates = {
        str(model): (float(pair[0]), float(pair[1]))
        for model, pair in dict(data.pop("rates", {})).items()
    }
    low, high = data.pop("default_rates", (1.0, 2.0))
    fallbacks = {str(k): str(v) for k, v in dict(data.pop("fallbacks", {})).items()}
    if data:
        raise ValueError(f"unknown gateway fields {sorted(data)}")
    return Gateway(
        cast("GatewayKind", kind),
        rates=rates,
        default_rates=(float(low), float(high)),
        fallbacks=fallbacks,
    )
