"""The simulator: one aiohttp app serving every provider protocol, with shared faults and recording."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
import contextlib
import random
import socket
import struct
from typing import Any

from aiohttp import web
import orjson

from .anthropic import AnthropicProtocol
from .billing import BilledLedger
from .common import STREAM_FAULT, ProviderProtocol, Route, SimCall, json_response
from .faults import Fault, FaultTable
from .gateway import Gateway, gateway_from
from .gemini import GeminiProtocol
from .ollama import OllamaProtocol
from .openai import CompatibleProtocol, OpenAIProtocol
from .recording import RecordedRequest
from .stream_billing import StreamBilling
from .taxonomy import TAXONOMY_KINDS, taxonomy_error
from .tools import ScriptedCall

PROVIDERS: tuple[str, ...] = ("openai", "anthropic", "gemini", "ollama", "compatible")

_PROXY_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_CAPTIVE_PORTAL = (
    "<!DOCTYPE html><html><head><title>Sign in to Wi-Fi</title></head><body>"
    "<h1>Welcome to Guest Wi-Fi</h1><p>Please accept the terms to continue.</p>"
    '<form method="post" action="/login"><button>Accept</button></form></body></html>'
)
# How often a hanging handler checks whether its client went away.
_HANG_POLL_SECONDS = 0.05


class ProviderSimulator:
    """Fake OpenAI, Anthropic, Gemini and Ollama servers in one aiohttp app.

    Prefixes: /openai/v1, /anthropic, /gemini, /ollama, and /compatible/v1 (a keyless
    OpenAI-compatible server). Valid credentials: any key that does not start with "bad".
    """

    def __init__(self, *, rng_seed: int | None = 0, record: bool = True) -> None:
        """Build the app; rng_seed makes ids and fault draws reproducible."""
        self.rng = random.Random(rng_seed)
        self.record = record
        self.faults = FaultTable(self.rng)
        self.requests: defaultdict[str, list[RecordedRequest]] = defaultdict(list)
        self._counts: defaultdict[str, int] = defaultdict(int)
        # provider -> {text the request body must contain ("" for any request): reply}
        self._replies: defaultdict[str, dict[str, str]] = defaultdict(dict)
        # What each provider would have billed (USD), for comparing a ledger to.
        self.billed = BilledLedger()
        # The call whose faults are being drawn (set just before `faults.decide`).
        self.current_call: SimCall | None = None
        self._tool_scripts: dict[str, tuple[ScriptedCall, ...]] = {}
        # What each provider would have billed (USD) for the streams it started.
        self.stream_billing = StreamBilling()
        self._stopping: asyncio.Event | None = None
        self._in_flight = 0
        self._arrival: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self.protocols: dict[str, ProviderProtocol] = {
            protocol.name: protocol
            for protocol in (
                OpenAIProtocol(),
                AnthropicProtocol(),
                GeminiProtocol(),
                OllamaProtocol(),
                CompatibleProtocol(),
            )
        }
        self.app = self._build_app()

    # -- the Python API tests use ------------------------------------------------------------

    def set_fault(self, provider: str, fault: Fault) -> None:
        """Replace the provider's fault rules with this one."""
        self._check_provider(provider)
        self.faults.set(provider, fault)

    def add_fault(self, provider: str, fault: Fault) -> None:
        """Add a fault rule (a latency rule stacks with one terminal rule)."""
        self._check_provider(provider)
        self.faults.add(provider, fault)

    def clear_faults(self, provider: str | None = None) -> None:
        """Remove the fault rules of one provider, or of all."""
        self.faults.clear(provider)

    def set_reply(self, provider: str, text: str | None, *, when: str = "") -> None:
        """Make the provider answer with this text (None: the default descriptive reply).

        With `when`, only requests whose body contains that text get this reply (a prompt's words,
        as a scripted model would recognise its task); a reply with a `when` found wins over one
        without.
        """
        self._check_provider(provider)
        if not isinstance(when, str):
            raise TypeError("'when' must be a string")
        if text is None:
            self._replies[provider].pop(when, None)
        else:
            self._replies[provider][when] = text

    def _reply_for(self, provider: str, body: bytes) -> str | None:
        """The scripted reply for this request body, if any."""
        replies = self._replies.get(provider)
        if not replies:
            return None
        sent = body.decode("utf-8", errors="replace")
        for when, text in replies.items():
            if when and when in sent:
                return text
        return replies.get("")

    def set_gateway(self, provider: str, gateway: Gateway | None) -> None:
        """Put a gateway (LiteLLM or OpenRouter billing, fallbacks) in front of an OpenAI protocol."""
        protocol = self.protocols.get(provider)
        if isinstance(protocol, OpenAIProtocol):
            protocol.gateway = gateway
            return
        raise ValueError(f"no gateway can front provider {provider!r}")

    def set_tool_calls(self, provider: str, *calls: ScriptedCall) -> None:
        """Script the tool calls the provider's model makes when offered tools (none: text)."""
        self._check_provider(provider)
        self._tool_scripts[provider] = calls

    def last_request(self, provider: str) -> RecordedRequest:
        """The provider's most recent recorded request (IndexError if there is none)."""
        return self.requests[provider][-1]

    def request_count(self, provider: str) -> int:
        """Requests received for a provider (counted even when recording is off)."""
        return self._counts[provider]

    @property
    def in_flight(self) -> int:
        """Requests being handled right now (hanging ones included)."""
        return self._in_flight

    async def wait_idle(self) -> None:
        """Return once no request is being handled (e.g. a hang noticed its client left)."""
        if self._in_flight and self._idle is not None:
            await self._idle.wait()

    async def wait_for_requests(self, provider: str, count: int = 1) -> None:
        """Return once `count` requests for the provider have arrived (hanging ones count)."""
        while self._counts[provider] < count:
            if self._arrival is None:
                self._arrival = asyncio.Event()
            await self._arrival.wait()

    def reset_requests(self) -> None:
        """Forget the recorded requests and counts."""
        self.requests.clear()
        self._counts.clear()

    def _check_provider(self, provider: str) -> None:
        if provider not in self.protocols:
            raise ValueError(
                f"unknown provider {provider!r}; expected one of {PROVIDERS}"
            )

    # -- the app -----------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        for protocol in self.protocols.values():
            for route in protocol.routes():
                app.router.add_route(
                    route.method,
                    protocol.prefix + route.path,
                    self._endpoint(protocol, route),
                )
        app.router.add_post("/_sim/faults", self._admin_add_fault)
        app.router.add_get("/_sim/faults", self._admin_get_faults)
        app.router.add_delete("/_sim/faults", self._admin_clear_faults)
        app.router.add_get("/_sim/requests", self._admin_get_requests)
        app.router.add_delete("/_sim/requests", self._admin_clear_requests)
        app.router.add_post("/_sim/reply", self._admin_set_reply)
        app.router.add_get("/_sim/billed", self._admin_get_billed)
        app.router.add_delete("/_sim/billed", self._admin_clear_billed)
        app.router.add_post("/_sim/gateway", self._admin_set_gateway)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_startup(self, app: web.Application) -> None:
        self._stopping = asyncio.Event()

    async def _on_shutdown(self, app: web.Application) -> None:
        # Releases hanging and sleeping handlers so the server stops without stragglers.
        if self._stopping is not None:
            self._stopping.set()

    def _endpoint(
        self, protocol: ProviderProtocol, route: Route
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        provider = protocol.name

        async def handle(request: web.Request) -> web.StreamResponse:
            self._in_flight += 1
            if self._idle is None:
                self._idle = asyncio.Event()
            self._idle.clear()
            try:
                return await serve(request)
            finally:
                self.stream_billing.settle(provider, request)
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._idle.set()

        async def serve(request: web.Request) -> web.StreamResponse:
            body = await request.read() if request.body_exists else b""
            parsed: Any = None
            invalid = False
            if body:
                try:
                    parsed = orjson.loads(body)
                except orjson.JSONDecodeError:
                    invalid = True
            self._counts[provider] += 1
            if self._arrival is not None:
                # Wake every waiter; each re-checks its own count.
                arrival, self._arrival = self._arrival, None
                arrival.set()
            if self.record:
                self.requests[provider].append(
                    RecordedRequest(
                        provider=provider,
                        endpoint=route.endpoint,
                        method=request.method,
                        path=request.path,
                        # str(): CIMultiDict keys are istr, which orjson will not serialise.
                        query={str(k): v for k, v in request.query.items()},
                        headers={str(k): v for k, v in request.headers.items()},
                        json=parsed,
                        body=body,
                    )
                )
            call = SimCall(
                provider=provider,
                request=request,
                json=parsed,
                json_invalid=invalid,
                rng=self.rng,
                reply_text=self._reply_for(provider, body),
                tool_calls=self._tool_scripts.get(provider, ()),
            )
            self.current_call = call
            decision = self.faults.decide(provider, route.endpoint)
            self.current_call = None
            if decision is None:
                return self._billed(call, route, await route.handler(call))
            if decision.delay > 0 and await self._wait_stopping(decision.delay):
                return protocol.error_response(503)
            fault = decision.fault
            if fault is None:
                return self._billed(call, route, await route.handler(call))
            return await self._apply(fault, protocol, route, call)

        return handle

    async def _apply(
        self, fault: Fault, protocol: ProviderProtocol, route: Route, call: SimCall
    ) -> web.StreamResponse:
        match fault.kind:
            case "status":
                return protocol.error_response(
                    fault.pick_status(self.rng, 500), fault.body
                )
            case "rate_limit":
                return protocol.rate_limit_response(fault.retry_after)
            case "hang":
                await self._hang(call.request)
                return protocol.error_response(503)
            case "stall":
                return await self._stall(route, call)
            case "reset":
                _reset_connection(call.request)
                return web.Response(status=500)
            case "html":
                status = fault.status or 502
                page = fault.body if isinstance(fault.body, str) else None
                if page is None:
                    page = _CAPTIVE_PORTAL if status == 200 else _PROXY_502
                return web.Response(text=page, status=status, content_type="text/html")
            case "malformed_json":
                response = self._billed(
                    call, route, await route.handler(call), spoilt=True
                )
                if not isinstance(response, web.Response) or not isinstance(
                    response.body, bytes
                ):
                    return response  # a stream is already on the wire
                raw = response.body
                return web.Response(
                    body=raw[: max(len(raw) // 2, 1)],
                    status=200,
                    content_type="application/json",
                )
            case "oversize":
                return await _send_oversize(
                    call.request, fault.size, chunked=fault.variant == "chunked"
                )
            case "content_filter":
                call.content_filter = fault
                return self._billed(call, route, await route.handler(call), spoilt=True)
            case "cut_off":
                return await self._cut_off(route, call)
            case kind if kind in TAXONOMY_KINDS:
                status, body = taxonomy_error(call.provider, kind, _asked_model(call))
                return protocol.error_response(status, body)
            case "stream_stall" | "stream_cut" | "stream_slow":
                call.request[STREAM_FAULT] = fault
                return await route.handler(call)
            case _:  # latency never reaches here: decide() folds it into the delay
                return await route.handler(call)

    async def _wait_stopping(self, seconds: float) -> bool:
        """Sleep, waking early when the server stops; True if it is stopping."""
        if self._stopping is None:
            await asyncio.sleep(seconds)
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    def _billed(
        self,
        call: SimCall,
        route: Route,
        response: web.StreamResponse,
        *,
        spoilt: bool = False,
    ) -> web.StreamResponse:
        """Bill a generated answer (a 2xx JSON body) as the real provider would, and return it."""
        if (
            route.endpoint == "generate"
            and isinstance(response, web.Response)
            and response.status == 200
            and isinstance(response.body, bytes)
        ):
            try:
                body = orjson.loads(response.body)
            except orjson.JSONDecodeError:
                return response
            self.billed.bill(
                call.provider,
                _asked_model(call),
                body,
                spoilt=spoilt,
                request=call.json,
            )
        return response

    async def _cut_off(self, route: Route, call: SimCall) -> web.StreamResponse:
        """Announce the real answer, send half of it, then reset the connection: billed whole."""
        answer = self._billed(call, route, await route.handler(call), spoilt=True)
        if not isinstance(answer, web.Response) or not isinstance(answer.body, bytes):
            return answer  # a stream is already on the wire
        body = answer.body
        response = web.StreamResponse(status=answer.status, headers=answer.headers)
        response.content_length = len(body)
        await response.prepare(call.request)
        with contextlib.suppress(ConnectionError):
            await response.write(body[: len(body) // 2])
        _reset_connection(call.request)
        return response

    async def _stall(self, route: Route, call: SimCall) -> web.StreamResponse:
        """Announce the real answer, send half of it, then stop talking."""
        answer = self._billed(call, route, await route.handler(call), spoilt=True)
        if not isinstance(answer, web.Response) or not isinstance(answer.body, bytes):
            return answer  # a stream is already on the wire
        body = answer.body
        response = web.StreamResponse(status=answer.status, headers=answer.headers)
        response.content_length = len(body)
        await response.prepare(call.request)
        with contextlib.suppress(ConnectionError):
            await response.write(body[: len(body) // 2])
        await self._hang(call.request)
        return response

    async def _hang(self, request: web.Request) -> None:
        """Wait until the client disconnects or the server stops, never answering."""
        while True:
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            if await self._wait_stopping(_HANG_POLL_SECONDS):
                return

    # -- admin endpoints ---------------------------------------------------------------------

    async def _admin_add_fault(self, request: web.Request) -> web.Response:
        try:
            payload = await request.json(loads=orjson.loads)
            provider = payload.pop("provider")
            replace = payload.pop("replace", True)
            fault = Fault.from_mapping(payload)
            if replace:
                self.set_fault(provider, fault)
            else:
                self.add_fault(provider, fault)
        except (
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            orjson.JSONDecodeError,
        ) as err:
            return json_response({"error": f"invalid fault: {err}"}, status=400)
        return json_response({"faults": self.faults.rules()})

    async def _admin_get_faults(self, request: web.Request) -> web.Response:
        return json_response({"faults": self.faults.rules()})

    async def _admin_clear_faults(self, request: web.Request) -> web.Response:
        provider = request.query.get("provider")
        self.clear_faults(provider)
        return json_response({"faults": self.faults.rules()})

    async def _admin_get_requests(self, request: web.Request) -> web.Response:
        provider = request.query.get("provider")
        recorded = {
            name: [item.as_dict() for item in items]
            for name, items in self.requests.items()
            if provider in (None, name)
        }
        return json_response({"counts": dict(self._counts), "requests": recorded})

    async def _admin_clear_requests(self, request: web.Request) -> web.Response:
        self.reset_requests()
        return json_response({"counts": {}})

    async def _admin_get_billed(self, request: web.Request) -> web.Response:
        return json_response({"billed": self.billed.as_dict()})

    async def _admin_clear_billed(self, request: web.Request) -> web.Response:
        self.billed.clear()
        return json_response({"billed": {}})

    async def _admin_set_reply(self, request: web.Request) -> web.Response:
        try:
            payload = await request.json(loads=orjson.loads)
            self.set_reply(
                payload["provider"], payload.get("text"), when=payload.get("when", "")
            )
            if "tool_call" in payload or "tool_calls" in payload:
                calls = payload.get("tool_calls") or [payload["tool_call"]]
                self.set_tool_calls(
                    payload["provider"],
                    *(ScriptedCall.from_mapping(call) for call in calls if call),
                )
        except (KeyError, TypeError, ValueError, orjson.JSONDecodeError) as err:
            return json_response({"error": f"invalid reply: {err}"}, status=400)
        return json_response({"ok": True})

    async def _admin_set_gateway(self, request: web.Request) -> web.Response:
        try:
            payload = await request.json(loads=orjson.loads)
            provider = payload.pop("provider")
            gateway = None if payload.get("kind") is None else gateway_from(payload)
            self.set_gateway(provider, gateway)
        except (KeyError, TypeError, ValueError, orjson.JSONDecodeError) as err:
            return json_response({"error": f"invalid gateway: {err}"}, status=400)
        return json_response({"ok": True})


def _asked_model(call: SimCall) -> str:
    """The model a generate request asked for: in its body, or (Gemini) in its path."""
    if isinstance(call.json, dict) and isinstance(call.json.get("model"), str):
        return str(call.json["model"])
    target = call.request.match_info.get("target", "")
    return target.partition(":")[0].removeprefix("models/")


def _reset_connection(request: web.Request) -> None:
    """Abort the connection with a TCP RST (SO_LINGER 0) instead of a clean close."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
    transport.abort()


_OVERSIZE_CHUNK = b" " * 65536


async def _send_oversize(
    request: web.Request, size: int, *, chunked: bool
) -> web.StreamResponse:
    """A JSON object padded with whitespace to `size` bytes; stops when the client leaves."""
    head = b'{"id": "oversize", "padding": "'
    tail = b'"}'
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    if not chunked:
        response.content_length = size
    await response.prepare(request)
    remaining = size - len(head) - len(tail)
    with contextlib.suppress(ConnectionError):
        await response.write(head)
        while remaining > 0:
            piece = _OVERSIZE_CHUNK[: min(remaining, len(_OVERSIZE_CHUNK))]
            await response.write(piece)
            remaining -= len(piece)
        await response.write(tail)
        await response.write_eof()
    return response
