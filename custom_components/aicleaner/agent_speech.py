"""What an Assist agent says when it cannot answer, in the user's language (translated sentences)."""

from __future__ import annotations

from collections.abc import Mapping

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN
from .router.errors import ErrorCategory
from .router.models import Attempt

# Why a provider did not answer, as the spoken sentence says it (exceptions.agent_reason_<key>).
_REASONS = frozenset(
    {
        ErrorCategory.RATE_LIMIT,
        ErrorCategory.OVERLOADED,
        ErrorCategory.TIMEOUT,
        ErrorCategory.NETWORK,
        ErrorCategory.AUTH,
        ErrorCategory.BUDGET,
        ErrorCategory.BREAKER_OPEN,
        ErrorCategory.RATE_LIMITED_LOCAL,
        ErrorCategory.DEADLINE,
        ErrorCategory.MODEL_NOT_FOUND,
    }
)


class AgentVoice:
    """Puts the agent's own sentences into the chat log as its answer."""

    def __init__(
        self,
        hass: HomeAssistant,
        chat_log: conversation.ChatLog,
        *,
        agent_id: str,
        language: str,
        labels: Mapping[str, str],
    ) -> None:
        """Speak for `agent_id` in `language`; `labels` name the providers by router key."""
        self._hass = hass
        self._chat_log = chat_log
        self._agent_id = agent_id
        self._language = language
        self._labels = labels

    async def async_say(self, key: str, **placeholders: str) -> None:
        """Answer with the sentence `exceptions.<key>`, in the user's language."""
        text = _text(await self._async_texts(), key, **placeholders)
        self._chat_log.async_add_assistant_content_without_tools(
            conversation.AssistantContent(agent_id=self._agent_id, content=text)
        )

    async def async_say_failed(self, attempts: tuple[Attempt, ...]) -> None:
        """Say that no provider answered, and why each did not (a spent budget said as such)."""
        if attempts and all(a.category == ErrorCategory.BUDGET for a in attempts):
            await self.async_say("agent_budget_spent_router")
            return
        texts = await self._async_texts()
        why: dict[str, str] = {}
        for attempt in attempts:
            category = attempt.category if attempt.category in _REASONS else "other"
            why[attempt.provider] = _text(
                texts,
                f"agent_reason_{category}",
                provider=self._labels.get(attempt.provider, attempt.provider),
            )
        await self.async_say("agent_all_failed", reasons=", ".join(why.values()))

    async def _async_texts(self) -> dict[str, str]:
        return await async_get_translations(
            self._hass, self._language, "exceptions", {DOMAIN}
        )


def usd(amount: float) -> str:
    """Say an amount of dollars; a budget under a cent keeps its digits, never "0.00"."""
    return f"{amount:.2f}" if amount >= 0.01 or amount == 0 else f"{amount:.2g}"


def _text(texts: Mapping[str, str], key: str, **placeholders: str) -> str:
    template = texts.get(f"component.{DOMAIN}.exceptions.{key}.message", key)
    return template.format(**placeholders)
