"""One Assist turn: model calls through the router, HA's tool calls, and what the user hears.

Each model call is a request of its own, routed afresh with the whole chat log converted, so a call
fails over to the next provider before its first token, and the next round may go elsewhere. The
tool loop ends when no tool result is left unanswered, or at the agent's round limit. A failure is
spoken, in the user's language, never raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
import logging

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .agent_config import ORDER_LOCAL_FIRST, ORDER_ROUTER, AgentSettings
from .agent_convert import DeltaStream, messages, system_prompt, tool_definitions
from .agent_speech import AgentVoice, usd
from .agent_state import AgentState
from .const import CONF_ADMIN_ONLY, CONF_ENABLED
from .router.conversation import RouterDelta, conversation_token_bound
from .router.errors import AICleanerError, AllProvidersFailed, ErrorCategory
from .router.models import AIRequest, AIResponse, AttemptOutcome
from .router.streaming import StreamInterrupted
from .runtime import AICleanerConfigEntry
from .services import _fire_complete as fire_complete, provider_names
from .subentries import provider_subentries

_LOGGER = logging.getLogger(__name__)

# Failures after which no provider billed the call: the agent's reservation is freed. After any
# other failure (a stall, a cut, a server error) the provider may have billed the prompt, as the
# router books it, so the reservation is kept.
_NOT_BILLED = frozenset(
    {
        ErrorCategory.RATE_LIMIT,
        ErrorCategory.AUTH,
        ErrorCategory.BUDGET,
        ErrorCategory.BREAKER_OPEN,
        ErrorCategory.RATE_LIMITED_LOCAL,
        ErrorCategory.BAD_REQUEST,
        ErrorCategory.MODEL_NOT_FOUND,
    }
)


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A provider the agent may use in this turn."""

    key: str
    label: str
    local: bool
    # Most one call can cost there (0: a free provider).
    bound: float


class AgentTurn:
    """Answer one user message into the chat log."""

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        entry: AICleanerConfigEntry,
        agent_id: str,
        settings: AgentSettings,
        state: AgentState,
        chat_log: conversation.ChatLog,
        language: str,
        is_admin: bool,
    ) -> None:
        """Hold what the turn needs."""
        self._hass = hass
        self._entry = entry
        self._agent_id = agent_id
        self._settings = settings
        self._state = state
        self._chat_log = chat_log
        self._is_admin = is_admin
        self._labels = provider_names(entry)
        self._voice = AgentVoice(
            hass, chat_log, agent_id=agent_id, language=language, labels=self._labels
        )

    async def async_run(self) -> None:
        """Call the model until it has answered, or the round limit is reached."""
        for _ in range(self._settings.max_tool_rounds):
            if not await self._async_round():
                return
            if not self._chat_log.unresponded_tool_results:
                return
        await self._voice.async_say(
            "agent_round_limit", rounds=str(self._settings.max_tool_rounds)
        )

    def _request(self) -> AIRequest:
        log = self._chat_log
        return AIRequest(
            system_prompt=system_prompt(log.content),
            messages=messages(log.content),
            tools=tool_definitions(log.llm_api),
            max_tokens=self._settings.max_tokens,
            temperature=self._settings.temperature,
            use_cache=False,
        )

    def _candidates(self, request: AIRequest) -> list[_Candidate]:
        router = self._entry.runtime_data.router
        running = set(router.provider_names)
        chosen = self._settings.providers
        tokens = conversation_token_bound(request)
        _LOGGER.debug("Assist model call: at most %s input tokens", tokens)
        candidates = []
        for key, subentry in provider_subentries(self._entry).items():
            if (
                key not in running
                or (chosen and key not in chosen)
                or not subentry.data.get(CONF_ENABLED, True)
                or (subentry.data.get(CONF_ADMIN_ONLY, False) and not self._is_admin)
            ):
                continue
            provider = router.provider(key)
            candidates.append(
                _Candidate(
                    key,
                    self._labels.get(key, subentry.title),
                    provider.is_local,
                    provider.price(on=router.day).cost(tokens, request.max_tokens),
                )
            )
        return candidates

    def _routed(self, request: AIRequest, candidates: list[_Candidate]) -> AIRequest:
        order = self._settings.provider_order
        local_first: tuple[str, ...] = ()
        if order == ORDER_LOCAL_FIRST:
            local_first = tuple(
                c.key
                for c in sorted(candidates, key=lambda c: c.label.casefold())
                if c.local
            )
        return AIRequest(
            system_prompt=request.system_prompt,
            messages=request.messages,
            tools=request.tools,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            use_cache=False,
            allowed_providers=frozenset(c.key for c in candidates),
            provider_order=local_first,
            strategy=None if order in (ORDER_LOCAL_FIRST, ORDER_ROUTER) else order,
        )

    async def _async_round(self) -> bool:
        """Make one model call into the chat log; False when the turn must end (it was spoken)."""
        request = self._request()
        candidates = self._candidates(request)
        if not candidates:
            await self._voice.async_say("agent_no_provider")
            return False
        budget = self._state.budget
        paid = [c for c in candidates if c.bound > 0]
        held = budget.reserve(max(c.bound for c in paid)) if paid else None
        if paid and held is None:
            # The agent's own budget is spent: free providers still answer.
            candidates = [c for c in candidates if c.bound == 0]
            if not candidates:
                await self._voice.async_say(
                    "agent_budget_spent", budget=usd(budget.limit)
                )
                return False
        routed = self._routed(request, candidates)
        stream = DeltaStream(
            first_within(
                self._entry.runtime_data.router.stream(routed),
                self._settings.ttft_timeout,
            )
        )

        async def relay() -> None:
            async for _content in self._chat_log.async_add_delta_content_stream(
                self._agent_id, stream
            ):
                pass

        try:
            # As every router call: an unload waits for it, or cancels it and books its
            # reservation, before the ledger's last save.
            await self._entry.runtime_data.inflight.run(relay())
        except asyncio.CancelledError:
            # Cut by the caller: the router books the call at its reservation, and so does the agent.
            budget.settle(held, held or 0.0)
            self._state.changed()
            raise
        except TimeoutError:
            # No provider began within the agent's deadline: the call was cancelled (and booked).
            budget.settle(held, held or 0.0)
            self._state.changed()
            await self._voice.async_say(
                "agent_too_slow", seconds=f"{self._settings.ttft_timeout:g}"
            )
            return False
        except AllProvidersFailed as err:
            billed = any(
                a.outcome is AttemptOutcome.ERROR and a.category not in _NOT_BILLED
                for a in err.attempts
            )
            budget.settle(held, (held or 0.0) if billed else 0.0)
            self._state.changed()
            fire_complete(self._hass, self._entry, routed, None)
            await self._voice.async_say_failed(err.attempts)
            return False
        except StreamInterrupted as err:
            budget.settle(held, held or 0.0)
            self._state.changed()
            await self._voice.async_say(
                "agent_cut_off",
                provider=self._labels.get(err.error.provider, err.error.provider),
            )
            return False
        except (AICleanerError, HomeAssistantError) as err:
            # HomeAssistantError: the entry unloaded during the call (`inflight.not_loaded`).
            _LOGGER.debug("Assist turn failed: %s", err)
            budget.settle(held, 0.0)
            self._state.changed()
            await self._voice.async_say("agent_failed")
            return False
        response = stream.response
        budget.settle(held, response.cost if response else (held or 0.0))
        if response is not None:
            self._record(response)
            # The logbook's line and the event automations follow, as for any request.
            fire_complete(self._hass, self._entry, routed, response)
        self._state.changed()
        return True

    def _record(self, response: AIResponse) -> None:
        """Name the provider that answered, and put the call's token stats in the trace."""
        label = self._labels.get(response.provider, response.provider)
        _LOGGER.debug(
            "Assist model call answered by %s after %s", label, response.attempts
        )
        self._state.last_provider = label
        self._chat_log.async_trace(
            {
                "stats": {
                    "input_tokens": response.usage.input_tokens,
                    "cached_input_tokens": response.usage.cached_input_tokens,
                    "output_tokens": response.usage.output_tokens,
                    "cost": response.cost,
                    "provider": label,
                    "model": response.model,
                }
            }
        )


async def first_within(
    deltas: AsyncIterator[RouterDelta], seconds: float
) -> AsyncIterator[RouterDelta]:
    """Relay `deltas`; raise TimeoutError when the first one takes longer than `seconds`.

    The agent's own first-word deadline, over every provider the router tries (each provider's own
    deadline decides when the router moves to the next). Timing out cancels the router's stream,
    which books the attempt at its reservation.
    """
    iterator = aiter(deltas)
    try:
        async with asyncio.timeout(seconds):
            first = await anext(iterator)
    except StopAsyncIteration:
        return
    yield first
    async for delta in iterator:
        yield delta
