"""What a gateway says it billed for one answer: LiteLLM's cost header and OpenRouter's `usage.cost`.

- A LiteLLM proxy sends `x-litellm-response-cost` (USD) with every answer it priced.
- OpenRouter puts `usage.cost` (USD credits charged) in the body when the request asks for it with
  `"usage": {"include": true}`. With the user's own upstream key (BYOK, `usage.is_byok`), `cost` is
  only OpenRouter's fee: the upstream provider bills `usage.cost_details.upstream_inference_cost` to
  that key as well, so both are booked.

A figure that is not a finite, non-negative number is no figure. A gateway that could not price a
model might say 0: the caller books a 0 only when its own price table does not know the model either.
LiteLLM itself does not: as of 1.110.2 (`proxy/common_request_processing.cost_headers`) it leaves
the header out when a zero cost comes from a price it does not know, and sends it empty when it could
not compute one; its 0 is a known zero price or its own cache hit.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

from yarl import URL

if TYPE_CHECKING:
    from collections.abc import Mapping

LITELLM_COST_HEADER: Final = "x-litellm-response-cost"
# Hosts whose chat completions take `"usage": {"include": true}` and answer with `usage.cost`.
_OPENROUTER_HOST: Final = "openrouter.ai"


def _amount(value: Any) -> float | None:
    """Read a USD figure from a header or a JSON field; None unless a finite, non-negative number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value) and value >= 0:
        return float(value)
    return None


def litellm_cost(headers: Mapping[str, str]) -> float | None:
    """Return the cost a LiteLLM proxy reported in its response header, if any (names in lower case)."""
    value = headers.get(LITELLM_COST_HEADER)
    return None if value is None else _amount(value)


def is_openrouter(base_url: str) -> bool:
    """Whether `base_url` is OpenRouter's API (openrouter.ai or one of its subdomains)."""
    try:
        host = (URL(base_url).host or "").lower().rstrip(".")
    except ValueError:
        return False
    return host == _OPENROUTER_HOST or host.endswith("." + _OPENROUTER_HOST)


def openrouter_cost(body: Mapping[str, Any]) -> float | None:
    """Return what OpenRouter billed for an answer (`usage.cost`, plus the upstream cost of BYOK)."""
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return None
    cost = _amount(usage.get("cost"))
    if cost is None or usage.get("is_byok") is not True:
        return cost
    details = usage.get("cost_details")
    upstream = (
        _amount(details.get("upstream_inference_cost"))
        if isinstance(details, dict)
        else None
    )
    # The upstream provider billed the user's key an amount OpenRouter did not say: not a figure.
    return None if upstream is None else cost + upstream
