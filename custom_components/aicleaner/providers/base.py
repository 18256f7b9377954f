"""Shared plumbing of every provider client: one `_request`, error classification, the client skeleton.

A client holds the injected `aiohttp.ClientSession` (Home Assistant's shared session in production) and
never creates its own. `_request` is the only place that touches the network: it caps the bytes read,
turns every transport failure and HTTP status into one `ProviderError` subclass, and parses retry hints
(`retry-after-ms`, `Retry-After`, Gemini's `RetryInfo.retryDelay`). JSON goes through orjson, which
Home Assistant core itself depends on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
import logging
import math
import re
import time
from typing import TYPE_CHECKING, Any, ClassVar, Final

import aiohttp
import orjson
from yarl import URL

from ..router.conversation import ToolCall
from ..router.errors import (
    AuthError,
    BadRequestError,
    CutOffError,
    EmptyResponseError,
    InvalidInputError,
    MalformedResponseError,
    NetworkError,
    ProviderError,
    ProviderTimeoutError,
    WrongFormatError,
)
from ..router.models import (
    AIRequest,
    Completion,
    CostSource,
    HealthResult,
    ImageInput,
    ModelCapabilities,
    ModelPrice,
    Usage,
)
from .classify import ERROR_CODE, classify_error, error_code, error_message
from .gateway_cost import litellm_cost
from .images import fit_images
from .pricing import PriceQuote, highest, same_model

if TYPE_CHECKING:
    from collections.abc import Mapping

type JSONObject = dict[str, Any]

_LOGGER = logging.getLogger("custom_components.aicleaner.providers")
# The headers of an answer read without any (a fake session's).
_NO_HEADERS: Final[Mapping[str, str]] = {}

DEFAULT_REQUEST_TIMEOUT: Final = 60.0
# Seconds to resolve and connect; a healthy provider connects in well under one.
_CONNECT_TIMEOUT: Final = 10.0
# A chat completion is a few KiB; a model list a few hundred KiB. Anything past this is not an answer.
DEFAULT_MAX_RESPONSE_BYTES: Final = 4 * 1024 * 1024
_READ_CHUNK: Final = 64 * 1024
# An error body is only read for its message and retry hint: a capped prefix is enough, and an oversize
# one must not turn a 429 or a 401 into a "malformed" answer.
ERROR_BODY_LIMIT: Final = 64 * 1024
# A retry hint beyond a day is a broken header, not advice; the router's breaker handles long outages.
MAX_RETRY_AFTER: Final = 86_400.0
# An upstream error text is only logged, at DEBUG, and cut to this length.
_ERROR_MESSAGE_LIMIT: Final = 500
# A JSON answer wrapped in a Markdown code fence, as models asked by instruction sometimes send it.
_FENCED_JSON = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.DOTALL)
# Room left in a request size limit for everything but the images: JSON envelope, headers, prompts.
_REQUEST_OVERHEAD: Final = 64 * 1024


def parse_retry_after(
    headers: Mapping[str, str], body: Any = None, *, now: datetime | None = None
) -> float | None:
    """Seconds the provider asks us to wait, from its headers or (Gemini) its error body.

    Order: OpenAI's `retry-after-ms`, then the standard `Retry-After` (seconds or an HTTP date), then
    `google.rpc.RetryInfo.retryDelay` ("37s") in a Google error body. A value that is not a finite
    number is ignored; a finite one is clamped to 0..`MAX_RETRY_AFTER`. `now` (default: the wall clock)
    is the moment an HTTP date is measured from.
    """
    if (value := headers.get("retry-after-ms")) is not None and (
        seconds := _seconds(value, scale=1000.0)
    ) is not None:
        return seconds
    if (value := headers.get("retry-after")) is not None:
        if (seconds := _seconds(value)) is not None:
            return seconds
        try:
            moment = parsedate_to_datetime(value)
        except TypeError, ValueError:
            moment = None
        if moment is not None:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return _clamp_delay((moment - (now or datetime.now(UTC))).total_seconds())
    return _google_retry_delay(body)


def _seconds(value: str, scale: float = 1.0) -> float | None:
    """Read a delay from a number in text; None when it is no finite number."""
    try:
        number = float(value)
    except ValueError:
        return None
    return _clamp_delay(number / scale) if math.isfinite(number) else None


def _clamp_delay(seconds: float) -> float:
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _google_retry_delay(body: Any) -> float | None:
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    details = error.get("details") if isinstance(error, dict) else None
    if not isinstance(details, list):
        return None
    for detail in details:
        if (
            isinstance(detail, dict)
            and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo")
            and isinstance(delay := detail.get("retryDelay"), str)
        ):
            return _seconds(delay.removesuffix("s"))
    return None


# Past 2**53 a token count is no count (no float holds it exactly), and its cost could be infinite
# (a float usage like 1e308) or not even convertible to a float (an integer of 400 digits).
MAX_TOKEN_COUNT: Final = 2**53


def token_count(value: Any) -> int | None:
    """Read a token count from a usage field; None when it is missing or not a count.

    Gateways are not always strict: a float with no fraction or a numeric string is read; a bool,
    a negative, a fraction, text or a number past `MAX_TOKEN_COUNT` is not a count.
    """
    if type(value) is int:  # the usual case, first
        return value if 0 <= value <= MAX_TOKEN_COUNT else None
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 0 <= value <= MAX_TOKEN_COUNT:
        return value
    return None


def usage_from(input_tokens: Any, output_tokens: Any) -> Usage | None:
    """Usage from two raw usage fields; None unless both are counts."""
    read_in, read_out = token_count(input_tokens), token_count(output_tokens)
    if read_in is None or read_out is None:
        return None
    return Usage(input_tokens=read_in, output_tokens=read_out)


class BaseProvider(ABC):
    """A client for one configured provider. Subclasses supply the wire protocol."""

    kind: ClassVar[str]
    default_base_url: ClassVar[str | None]
    # Image formats the provider accepts as they are; anything else is re-encoded as JPEG.
    accepted_image_types: ClassVar[frozenset[str]] = frozenset(
        {"image/jpeg", "image/png", "image/gif", "image/webp"}
    )
    # The provider's documented limit on one request's size (`catalog`), None where it documents none.
    max_request_bytes: ClassVar[int | None] = None
    # `_request`'s HTTP timeout covers the whole call, reading the answer included: the router
    # needs no timer of its own around `complete`.
    enforces_timeout: ClassVar[bool] = True

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        name: str,
        model: str,
        label: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        price_override: ModelPrice | None = None,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        vision: bool | None = None,
        context_window: int | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        """Keep the injected session and the settings of this configured provider.

        `name` is the provider's stable key and `label` what people call it (default: the name).
        `vision` and `context_window` override what the built-in model tables say, for models they do
        not know (self-hosted ones, mostly). `price_override` replaces the price of the configured model.
        """
        resolved = base_url or self.default_base_url
        if not resolved:
            raise ValueError(f"{self.kind} needs a base URL")
        self._session = session
        self._name = name
        self._label = label or name
        self._model = model
        self._api_key = api_key or None
        # A trailing slash would double up with the paths we append; a path prefix is kept.
        self._base_url = resolved.rstrip("/")
        self._price_override = price_override
        self._request_timeout = request_timeout
        self._vision_override = vision
        self._context_window_override = context_window
        self._max_response_bytes = max_response_bytes
        self._headers = self._build_headers(self._api_key)

    def __repr__(self) -> str:
        """Identify the client without its key, nor credentials or a query in the base URL."""
        return (
            f"<{type(self).__name__} name={self._name!r} model={self._model!r} "
            f"base_url={_public_url(self._base_url)!r}>"
        )

    # --- Provider protocol ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """Stable, unique key of this configured provider."""
        return self._name

    @property
    def label(self) -> str:
        """What people call this provider (its name unless given)."""
        return self._label

    @property
    def model(self) -> str:
        """The configured default model."""
        return self._model

    @property
    def base_url(self) -> str:
        """The base URL requests go to, without a trailing slash."""
        return self._base_url

    @property
    def is_local(self) -> bool:
        """Cloud providers are never local; Ollama and OpenAI-compatible clients override this."""
        return False

    def capabilities(self, model: str | None = None) -> ModelCapabilities:
        """Capabilities of `model` (default: the configured model), user overrides applied."""
        caps = self._model_capabilities(model or self._model)
        if self._vision_override is None and self._context_window_override is None:
            return caps
        return replace(
            caps,
            vision=caps.vision
            if self._vision_override is None
            else self._vision_override,
            context_window=self._context_window_override or caps.context_window,
        )

    def price(self, model: str | None = None, *, on: date | None = None) -> ModelPrice:
        """USD per 1M tokens of `model` on day `on` (default today); the override applies to the configured model."""
        return self.price_quote(model, on=on).price

    def price_quote(
        self, model: str | None = None, *, on: date | None = None
    ) -> PriceQuote:
        """Return the price of `model` on day `on`, and whether it is listed (overrides are)."""
        model = model or self._model
        if self._price_override is not None and model == self._model:
            return PriceQuote(self._price_override, listed=True)
        # Read every time: a date cached even for a second could price an answer made just after
        # midnight at the day before's price, which may be lower (money is never guessed low).
        return self._model_quote(model, on or date.today())

    async def prepare(self, request: AIRequest) -> AIRequest:
        """Return `request` with its images fitted to the model's limits (Pillow, in the executor)."""
        if not request.images:
            return request
        caps = self.capabilities(request.model or self._model)
        images = await fit_images(
            request.images,
            max_bytes=caps.max_image_bytes,
            max_dimension=caps.max_image_dimension,
            accepted_types=self.accepted_image_types,
            provider=self._name,
            max_total_encoded_bytes=self._image_budget(request),
        )
        return replace(request, images=images)

    async def complete(
        self, request: AIRequest, *, timeout: float, day: date | None = None
    ) -> Completion:
        """Send `request` as `prepare` returned it; raise a `ProviderError` on any failure.

        Images are sent as they are: `prepare` is what fits them, so that its local work never
        counts against the provider's time. The answer is priced on `day`, the day the router
        reserved the call on (today's date only for a call from outside the router).
        """
        model = request.model or self._model
        # Text no request can carry (a lone surrogate has no UTF-8 form) is the caller's fault:
        # sent, it would fail the JSON encoding, at every provider alike.
        if not (
            _encodable(request.prompt)
            and _encodable(request.effective_system_prompt or "")
            and _encodable(model)
            and all(_encodable(message.text) for message in request.messages)
        ):
            raise InvalidInputError(
                "the request holds text that is not valid Unicode",
                provider=self._name,
            )
        url, payload = self._completion_request(request, model, request.images)
        seen: list[Mapping[str, str]] = []
        body = await self._request(
            "POST", url, payload=payload, timeout=timeout, response_headers=seen
        )
        try:
            text, used_model, usage, finish_reason = self._parse_completion(body, model)
            calls = self._parse_tool_calls(body)
        except ProviderError:
            raise
        except (
            ArithmeticError,
            AttributeError,
            KeyError,
            TypeError,
            ValueError,
        ) as err:
            # A parser surprised by a legal-looking body: still a 2xx we could not read.
            raise self._malformed(
                f"answer could not be read ({type(err).__name__})"
            ) from err
        if not text.strip() and not calls:
            raise EmptyResponseError(
                f"the answer has no text (finish reason {enum_text(finish_reason)})",
                provider=self._name,
            )
        data = self._parse_json_answer(text) if request.json_output else None
        served = used_model or model
        price = self._answer_price(model, served, day or date.today())
        billed = self._gateway_cost(body, seen[0] if seen else _NO_HEADERS)
        if billed is not None and (billed > 0 or not price.listed):
            return Completion(
                text=text,
                model=served,
                usage=usage or Usage(),
                finish_reason=finish_reason,
                cost=billed,
                usage_reported=usage is not None,
                data=data,
                cost_source=CostSource.GATEWAY,
                tool_calls=calls,
            )
        if usage is None:
            return Completion(
                text=text,
                model=served,
                usage=Usage(),
                finish_reason=finish_reason,
                cost=0.0,
                usage_reported=False,
                data=data,
                tool_calls=calls,
            )
        return Completion(
            text=text,
            model=served,
            usage=usage,
            finish_reason=finish_reason,
            cost=self._usage_cost(price, model, usage),
            data=data,
            tool_calls=calls,
        )

    def _answer_price(self, model: str, served: str, day: date) -> PriceQuote:
        """Price an answer at the higher of the model asked for and the model that answered.

        A gateway may fall back to a dearer model, and a retired model may be redirected to its
        successor: either bills the model that answered. One the table does not list is priced as
        an unknown model (`pricing`), high. A snapshot of the configured model keeps its override.
        """
        asked = self.price_quote(model, on=day)
        if served == model or (
            self._price_override is not None
            and model == self._model
            and same_model(model, served)
        ):
            return asked
        answered = self.price_quote(served, on=day)
        if answered == asked:  # a snapshot at its alias's price, the usual answer
            return asked
        return PriceQuote(
            highest(asked.price, answered.price),
            listed=asked.listed and answered.listed,
        )

    def _gateway_cost(
        self, body: JSONObject, headers: Mapping[str, str]
    ) -> float | None:
        """Return what a gateway in front of the provider says it billed (`gateway_cost`), if it does."""
        return litellm_cost(headers)

    def _parse_tool_calls(self, body: JSONObject) -> tuple[ToolCall, ...]:
        """Return the tool calls of a 2xx answer (`conversing.ConversationProvider` reads them)."""
        return ()

    def _usage_cost(self, quote: PriceQuote, model: str, usage: Usage) -> float:
        """USD of `usage` at `quote` (`conversing.ConversationProvider` prices cached input apart)."""
        return quote.price.cost(usage.input_tokens, usage.output_tokens)

    def _parse_json_answer(self, text: str) -> Any:
        """Parse an answer asked for as JSON; a model that wrapped it in a code fence is forgiven.

        An answer that is not JSON is a wrong-format answer: billed, and the same model would most
        likely answer the same way, so another provider is asked.
        """
        stripped = text.strip()
        if fenced := _FENCED_JSON.fullmatch(stripped):
            stripped = fenced.group(1)
        try:
            return orjson.loads(stripped)
        except orjson.JSONDecodeError as err:
            raise WrongFormatError(
                "the answer is not valid JSON", provider=self._name
            ) from err

    def _image_budget(self, request: AIRequest) -> int | None:
        """Bytes the base64 images of `request` may take in the provider's request size limit."""
        limit = self.max_request_bytes
        if limit is None:
            return None
        texts = len(request.prompt.encode()) + len(
            (request.effective_system_prompt or "").encode()
        )
        return max(limit - _REQUEST_OVERHEAD - texts, 0)

    async def health(self) -> HealthResult:
        """List the models: a free call that proves the endpoint is reachable and the key works."""
        started = time.monotonic()
        body = await self._request(
            "GET", self._models_url(), timeout=self._request_timeout
        )
        models = self._parse_models(body)
        return HealthResult(
            latency_ms=(time.monotonic() - started) * 1000.0, models=models
        )

    async def validate_credentials(self) -> None:
        """Raise `AuthError` if the key is rejected, another `ProviderError` if unreachable."""
        await self.health()

    # --- What each wire protocol supplies ------------------------------------------------------------

    @abstractmethod
    def _build_headers(self, api_key: str | None) -> dict[str, str]:
        """Headers sent with every request (auth, API version, content type)."""

    @abstractmethod
    def _completion_request(
        self, request: AIRequest, model: str, images: tuple[ImageInput, ...]
    ) -> tuple[str, JSONObject]:
        """URL and JSON body of one completion call."""

    @abstractmethod
    def _parse_completion(
        self, body: JSONObject, model: str
    ) -> tuple[str, str | None, Usage | None, str]:
        """(text, model used, usage, finish reason) from a 2xx body; raise for refusals and gaps.

        Usage is None when the body carries no usable token counts.
        """

    @abstractmethod
    def _models_url(self) -> str:
        """URL of the free model-list call."""

    def _parse_models(self, body: JSONObject) -> tuple[str, ...]:
        """Model ids from the model-list body: `{"data": [{"id": ...}]}` (OpenAI and Anthropic)."""
        data = body.get("data")
        if not isinstance(data, list):
            raise self._malformed("model list has no data")
        return tuple(
            str(item["id"]) for item in data if isinstance(item, dict) and "id" in item
        )

    @abstractmethod
    def _model_capabilities(self, model: str) -> ModelCapabilities:
        """Built-in capabilities of `model`."""

    @abstractmethod
    def _model_quote(self, model: str, day: date) -> PriceQuote:
        """Built-in price of `model` on `day` (`pricing`), and whether the table lists it."""

    # --- HTTP ----------------------------------------------------------------------------------------

    def _malformed(
        self, message: str, status: int | None = None
    ) -> MalformedResponseError:
        return MalformedResponseError(message, provider=self._name, status=status)

    async def _request(
        self,
        method: str,
        url: str,
        *,
        payload: JSONObject | None = None,
        timeout: float,
        response_headers: list[Mapping[str, str]] | None = None,
    ) -> JSONObject:
        """Do one HTTP call and return the parsed JSON object of a 2xx answer.

        Every failure becomes a `ProviderError`: transport errors, non-2xx statuses, redirects, and 2xx
        bodies that are not a JSON object (HTML, truncated, oversize). A 2xx answer's headers (read
        without regard to case) are appended to `response_headers` when given, not copied: only a
        gateway's billed cost is read from them.
        """
        if not timeout > 0:  # aiohttp reads 0 (and below) as "no timeout at all"
            raise ProviderTimeoutError(
                f"no time left for the request (timeout {timeout:g} s)",
                provider=self._name,
            )
        data = None if payload is None else orjson.dumps(payload)
        try:
            async with self._session.request(
                method,
                url,
                data=data,
                headers=self._headers,
                # A connection that cannot be made fails before the request is sent: as a
                # network error, which nothing bills, rather than a billed timeout.
                timeout=aiohttp.ClientTimeout(
                    total=timeout, connect=min(_CONNECT_TIMEOUT, timeout * 0.8)
                ),
                # aiohttp would carry our key headers (and, on 307/308, the body) to wherever a
                # redirect points; it only strips Authorization and cookies across origins.
                allow_redirects=False,
            ) as response:
                status = response.status
                if 300 <= status < 400:
                    raise BadRequestError(
                        f"the provider redirected to another location (HTTP {status}); "
                        "set the base URL to the final address",
                        provider=self._name,
                        status=status,
                    )
                if status >= 400:
                    raw = await self._read_capped(response)
                    raise self._status_error(status, response.headers, raw)
                try:
                    raw = await self._read_capped(response)
                except TimeoutError:
                    raise
                except (aiohttp.ClientError, OSError) as err:
                    # The answer began: the provider generated it, and bills it.
                    raise CutOffError(
                        f"the answer was cut off ({type(err).__name__})",
                        provider=self._name,
                        status=status,
                    ) from err
                content_type = response.content_type
                if response_headers is not None:
                    response_headers.append(response.headers)
        except ProviderError:
            raise
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            raise transport_error(
                err,
                self._name,
                timed_out=f"no answer within {timeout:g} s",
                broke="connection failed",
            ) from err
        return self._decode_json(raw, content_type, status)

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        """Read the body, refusing more than `max_response_bytes`; of an error body, only a prefix."""
        limit = self._max_response_bytes
        if response.status >= 400:
            return await _read_prefix(response, min(limit, ERROR_BODY_LIMIT))
        length = response.content_length
        # Content-Length counts the compressed bytes; a compressed body is capped while it inflates.
        if length is not None and "Content-Encoding" not in response.headers:
            if length > limit:
                raise self._malformed(
                    f"response body of {length} bytes exceeds the {limit}-byte limit",
                    response.status,
                )
            return await response.read()
        buffer = bytearray()
        while chunk := await response.content.read(_READ_CHUNK):
            buffer += chunk
            if len(buffer) > limit:
                raise self._malformed(
                    f"response body exceeds the {limit}-byte limit", response.status
                )
        return bytes(buffer)

    def _decode_json(self, raw: bytes, content_type: str, status: int) -> JSONObject:
        first = raw[:1]
        if first.isspace():
            first = raw.lstrip()[:1]
        if content_type == "text/html" or first == b"<":
            raise self._malformed("answered with an HTML page instead of JSON", status)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as err:
            raise self._malformed(
                "answered with a body that is not valid JSON", status
            ) from err
        if not isinstance(body, dict):
            raise self._malformed("answered with JSON that is not an object", status)
        return body

    def _status_error(
        self, status: int, headers: Mapping[str, str], raw: bytes
    ) -> ProviderError:
        """Map a non-2xx answer to the error taxonomy.

        The exception carries the category, the status and the provider's error code, never the
        provider's own words: they can quote the request (an echoed prompt, partly or whole). Those
        words go to the DEBUG log only, without the key.
        """
        try:
            body: Any = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = None
        if _LOGGER.isEnabledFor(logging.DEBUG):
            _LOGGER.debug(
                "%s answered HTTP %s: %s",
                self._name,
                status,
                self._loggable(
                    error_message(body)
                    or raw[:_ERROR_MESSAGE_LIMIT].decode(errors="replace")
                ),
            )
        if self._is_auth_failure(status, body):
            code = error_code(body)
            return AuthError(
                "the API key was rejected" + (f" [{code}]" if code else ""),
                provider=self._name,
                status=status,
            )
        return classify_error(
            status,
            body,
            provider=self._name,
            retry_after=parse_retry_after(headers, body),
        )

    def _is_auth_failure(self, status: int, body: Any) -> bool:
        """Whether an answer `classify_error` would not take for a key refusal is one here.

        A client whose server words a refused key its own way (a LiteLLM proxy without a
        database answers HTTP 400 "No connected db.") says so by overriding this.
        """
        return False

    def _loggable(self, text: str) -> str:
        """Upstream text fit for the DEBUG log: without the key, bounded."""
        if self._api_key:
            text = text.replace(self._api_key, "[redacted]")
        if len(text) > _ERROR_MESSAGE_LIMIT:
            text = text[: _ERROR_MESSAGE_LIMIT - 1] + "…"
        return text


def transport_error(
    err: TimeoutError | aiohttp.ClientError | OSError,
    provider: str,
    *,
    timed_out: str,
    broke: str,
) -> ProviderError:
    """Return the taxonomy's error for a transport failure: a timeout, a connection that failed.

    A connection that cannot be made fails before the request is sent: a network error, which
    nothing bills, rather than a billed timeout. `timed_out` and `broke` word the other two cases
    for the caller (an answer, a stream).
    """
    if isinstance(err, aiohttp.ConnectionTimeoutError):
        return NetworkError(
            "could not connect to the provider in time", provider=provider
        )
    if isinstance(err, TimeoutError):
        return ProviderTimeoutError(timed_out, provider=provider)
    if isinstance(err, aiohttp.ClientConnectorDNSError):
        return NetworkError("cannot resolve the provider's host", provider=provider)
    if isinstance(err, aiohttp.ClientConnectorError):
        return NetworkError("cannot connect to the provider", provider=provider)
    return NetworkError(f"{broke}: {type(err).__name__}", provider=provider)


def _encodable(text: str) -> bool:
    """Whether `text` has a UTF-8 form (a lone surrogate has none)."""
    if text.isascii():  # CPython knows this without a scan
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def enum_text(value: str) -> str:
    """Return a provider-given enum value (a finish reason), or "unknown" when it is not one."""
    return value if ERROR_CODE.fullmatch(value) else "unknown"


async def _read_prefix(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """Read at most `limit` bytes of the body and drop the rest."""
    buffer = bytearray()
    while len(buffer) < limit and (
        chunk := await response.content.read(min(_READ_CHUNK, limit - len(buffer)))
    ):
        buffer += chunk
    return bytes(buffer)


def _public_url(url: str) -> str:
    """`url` without user info, query and fragment: the parts that may hold credentials."""
    try:
        parsed = URL(url)
    except ValueError:
        return "<unparseable URL>"
    return str(parsed.with_user(None).with_query(None).with_fragment(None))
