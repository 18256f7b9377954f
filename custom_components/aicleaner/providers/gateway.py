"""Whether an OpenAI-compatible server is a gateway to paid cloud models, and the prices it publishes.

A private address proves nothing: a LiteLLM proxy on loopback forwards to the cloud. Setup takes a
server as a gateway when any of these holds:
- its model list names cloud models (`gpt-4o`, `claude-…`, `gemini-…`, `openai/…`, `anthropic/…`);
- it answers LiteLLM's `GET /model/info` (its models with `input_cost_per_token`, `output_cost_per_token`);
- it is OpenRouter (host `openrouter.ai`, or a model list whose entries carry `pricing.prompt`/`completion`).
The prices a gateway publishes are per token; they are returned per million tokens, as everywhere
else. A price of 0 or below (unknown, or "varies" on OpenRouter), or one with a fee per request or
image besides, is not published: money is never guessed low. No Home Assistant imports: the session is injected, and nothing here raises.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
import re
from typing import Any, Final

import aiohttp
import orjson
from yarl import URL

from ..router.models import ModelPrice

LITELLM: Final = "litellm"
OPENROUTER: Final = "openrouter"
# The model list alone named cloud models; the server publishes no prices we can read.
CLOUD_MODELS: Final = "cloud_models"

# Model ids only the big clouds serve. `gpt-oss` is open weights (Ollama, vLLM): not cloud.
_CLOUD_MODEL: Final = re.compile(
    r"^(?:gpt-(?!oss)|chatgpt-|o[1-9](?:$|-)|claude-|gemini-|command-r|grok-|"
    r"text-embedding-|dall-e|sonar)",
    re.IGNORECASE,
)
# Gateway spellings `vendor/model` of cloud vendors (LiteLLM's and OpenRouter's prefixes).
_CLOUD_VENDORS: Final = frozenset(
    {
        "openai",
        "azure",
        "azure_ai",
        "anthropic",
        "google",
        "gemini",
        "vertex_ai",
        "bedrock",
        "mistral",
        "mistralai",
        "cohere",
        "groq",
        "deepseek",
        "x-ai",
        "xai",
        "perplexity",
        "together_ai",
        "fireworks_ai",
        "openrouter",
    }
)
_OPENROUTER_HOST: Final = "openrouter.ai"
# OpenRouter's charges besides its per-token prices (`pricing` of `GET /models`).
_OPENROUTER_FEES: Final = ("request", "image", "web_search", "internal_reasoning")
# LiteLLM's error types for a refused key (`ProxyErrorTypes`).
_KEY_REFUSALS: Final = frozenset({"auth_error", "no_db_connection"})
_PROBE_TIMEOUT: Final = 5.0
_PER_MILLION: Final = Decimal(1_000_000)
# A probe's answer longer than this is not read (OpenRouter's model list of hundreds of models is
# about 1 MiB).
_MAX_BODY: Final = 8 * 1024 * 1024


def is_cloud_model(model: str) -> bool:
    """Whether `model` names a model that only a cloud service runs (see the module docstring)."""
    name = model.strip()
    if "/" in name:
        vendor, _, rest = name.partition("/")
        if vendor.lower() in _CLOUD_VENDORS:
            return True
        name = rest.rsplit("/", 1)[-1]
    return bool(_CLOUD_MODEL.match(name))


def names_cloud_models(models: Iterable[str]) -> bool:
    """Whether a server's model list names any cloud model."""
    return any(is_cloud_model(model) for model in models)


@dataclass(frozen=True, slots=True)
class GatewayFinding:
    """What setup learned about a server: which gateway it is (None: none found) and its prices."""

    kind: str | None = None
    # USD per million tokens, by the model id the server lists.
    prices: Mapping[str, ModelPrice] = field(default_factory=dict)

    @property
    def is_gateway(self) -> bool:
        """Whether the server forwards requests to paid cloud services."""
        return self.kind is not None


def _per_million(value: Any) -> float | None:
    """Convert a per-token price to USD per million tokens; None unless a positive number.

    Scaled in decimal, from the figure as written: "0.0000008" is 0.8, not 0.7999999999999999.
    """
    # Anything but a number or its text (a bool, a list, an object) is refused by Decimal itself.
    try:
        rate = Decimal(str(value).strip()) * _PER_MILLION
    except InvalidOperation:
        return None
    if not rate.is_finite() or rate <= 0:
        return None
    return float(rate)


def litellm_prices(body: Any) -> dict[str, ModelPrice] | None:
    """Prices from LiteLLM's `/model/info` answer; None when the body is not one."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return None
    entries = [item for item in body["data"] if isinstance(item, dict)]
    if not entries or not all("model_name" in item for item in entries):
        return None
    prices: dict[str, ModelPrice] = {}
    for item in entries:
        info = item.get("model_info")
        if not isinstance(info, dict):
            continue
        rates = (
            _per_million(info.get("input_cost_per_token")),
            _per_million(info.get("output_cost_per_token")),
        )
        if rates[0] is not None and rates[1] is not None:
            name = str(item["model_name"])
            # One name may route to several deployments: the dearest is the bound.
            known = prices.get(name)
            prices[name] = ModelPrice(
                max(rates[0], known.input_per_mtok if known else 0.0),
                max(rates[1], known.output_per_mtok if known else 0.0),
            )
    return prices


def openrouter_prices(body: Any) -> dict[str, ModelPrice] | None:
    """Prices from an OpenRouter-style `/models` answer; None when no entry carries `pricing`."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return None
    priced = [
        item
        for item in body["data"]
        if isinstance(item, dict) and isinstance(item.get("pricing"), dict)
    ]
    if not priced:
        return None
    prices: dict[str, ModelPrice] = {}
    for item in priced:
        pricing = item["pricing"]
        prompt = _per_million(pricing.get("prompt"))
        completion = _per_million(pricing.get("completion"))
        # A fee per request or per image is not in a per-token price: the model is not taken as
        # published (its price then comes from the table or the reservation, never lower).
        fees = any(
            _per_million(pricing.get(fee)) is not None for fee in _OPENROUTER_FEES
        )
        if prompt is not None and completion is not None and not fees and "id" in item:
            prices[str(item["id"])] = ModelPrice(prompt, completion)
    return prices


def is_key_refusal(status: int, body: Any) -> bool:
    """Whether a non-401/403 answer is a gateway refusing the key.

    A LiteLLM proxy without a database answers any key but its master key with HTTP 400
    `{"error": {"message": "No connected db.", "type": "no_db_connection", "code": "400"}}`
    (LiteLLM 1.110, proxy/auth/user_api_key_auth.py): the key was refused, the URL is right. Its
    other key refusals are typed `auth_error`.
    """
    if status != 400 or not isinstance(body, dict):
        return False
    error = body.get("error")
    if not isinstance(error, dict):
        return False
    message = str(error.get("message") or "").lower()
    return error.get("type") in _KEY_REFUSALS or "no connected db" in message


async def _get_json(
    session: aiohttp.ClientSession, url: str, api_key: str | None, timeout: float
) -> Any:
    """GET `url`; return its JSON body, or None on any failure (a probe never raises)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        async with asyncio.timeout(timeout):
            async with session.get(url, headers=headers, allow_redirects=False) as resp:
                if resp.status != 200:
                    return None
                raw = bytearray()
                # One read gives what has arrived, not the whole body: read to the end.
                async for chunk in resp.content.iter_chunked(65536):
                    raw += chunk
                    if len(raw) > _MAX_BODY:
                        return None
        return orjson.loads(raw)
    except aiohttp.ClientError, TimeoutError, ValueError, orjson.JSONDecodeError:
        return None


async def async_probe_gateway(
    session: aiohttp.ClientSession,
    base_url: str,
    *,
    api_key: str | None,
    models: Iterable[str] = (),
    timeout: float = _PROBE_TIMEOUT,
) -> GatewayFinding:
    """Find out whether the server at `base_url` is a gateway, and read the prices it publishes."""
    root = base_url.rstrip("/")
    host = (URL(root).host or "").lower()
    body = await _get_json(session, f"{root}/model/info", api_key, timeout)
    if (prices := litellm_prices(body)) is not None:
        return GatewayFinding(LITELLM, prices)
    is_openrouter = host == _OPENROUTER_HOST or host.endswith(f".{_OPENROUTER_HOST}")
    body = await _get_json(session, f"{root}/models", api_key, timeout)
    if (prices := openrouter_prices(body)) is not None:
        return GatewayFinding(OPENROUTER, prices)
    if is_openrouter:
        return GatewayFinding(OPENROUTER)
    if names_cloud_models(models):
        return GatewayFinding(CLOUD_MODELS)
    return GatewayFinding()
