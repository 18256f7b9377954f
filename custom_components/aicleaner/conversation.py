"""The conversation platform: one Assist agent per "Assist agent" subentry, answering through the router."""

from __future__ import annotations

from typing import Literal

from homeassistant.components import conversation
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import MATCH_ALL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .agent_config import SUBENTRY_CONVERSATION, AgentSettings
from .agent_state import async_agent_state
from .agent_turn import AgentTurn
from .const import DEFAULT_TITLE, DOMAIN
from .runtime import AICleanerConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AICleanerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add an agent for each Assist agent subentry, now and whenever one is added."""
    added: dict[str, AICleanerConversationEntity] = {}

    def _add_new() -> None:
        for gone in set(added) - set(entry.subentries):
            del added[gone]
        for subentry_id, subentry in entry.subentries.items():
            if subentry.subentry_type != SUBENTRY_CONVERSATION:
                continue
            if (agent := added.get(subentry_id)) is not None:
                # A reconfigured agent: its features follow its LLM APIs.
                if agent.hass is not None and agent.entity_id:
                    agent.async_write_ha_state()
                continue
            added[subentry_id] = AICleanerConversationEntity(entry, subentry)
            async_add_entities([added[subentry_id]], config_subentry_id=subentry_id)

    async def _async_entry_updated(
        hass: HomeAssistant, entry: AICleanerConfigEntry
    ) -> None:
        _add_new()
        _rename_devices(hass, entry)

    _add_new()
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))


def _rename_devices(hass: HomeAssistant, entry: AICleanerConfigEntry) -> None:
    """Show a renamed agent's new title on its device page."""
    registry = dr.async_get(hass)
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type != SUBENTRY_CONVERSATION:
            continue
        # By identifier and entry: since 2026.11 HA deprecates the lookup by identifiers alone.
        device = registry.async_get_device_by_identifier(
            (DOMAIN, subentry_id), entry.entry_id
        )
        if device is not None and device.name != subentry.title:
            registry.async_update_device(device.id, name=subentry.title)


class AICleanerConversationEntity(conversation.ConversationEntity):
    """An Assist agent whose every model call the router routes, fails over and budgets."""

    _attr_has_entity_name = True
    _attr_name = None
    _attr_supports_streaming = True

    def __init__(self, entry: AICleanerConfigEntry, subentry: ConfigSubentry) -> None:
        """Describe the agent and its device."""
        self.entry = entry
        self.subentry_id = subentry.subentry_id
        self._attr_unique_id = subentry.subentry_id
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, subentry.subentry_id)},
            name=subentry.title,
            manufacturer=DEFAULT_TITLE,
            model="Assist agent",
            entry_type=DeviceEntryType.SERVICE,
        )

    @property
    def _settings(self) -> AgentSettings:
        # Read at each use: a reconfigured agent changes without a reload.
        return AgentSettings.from_data(self.entry.subentries[self.subentry_id].data)

    @property
    def supported_features(self) -> conversation.ConversationEntityFeature:
        """It can control the home when it may use an LLM API."""
        if self.subentry_id in self.entry.subentries and self._settings.llm_apis:
            return conversation.ConversationEntityFeature.CONTROL
        return conversation.ConversationEntityFeature(0)

    @property
    def supported_languages(self) -> list[str] | Literal["*"]:
        """Every language: the models speak them, and its own sentences are translated."""
        return MATCH_ALL

    async def _async_handle_message(
        self,
        user_input: conversation.ConversationInput,
        chat_log: conversation.ChatLog,
    ) -> conversation.ConversationResult:
        """Fill the chat log with the prompt and tools, then answer through the router."""
        settings = self._settings
        try:
            await chat_log.async_provide_llm_data(
                user_input.as_llm_context(DOMAIN),
                list(settings.llm_apis) or None,
                settings.prompt,
                user_input.extra_system_prompt,
            )
        except conversation.ConverseError as err:
            return err.as_conversation_result()
        user_id = user_input.context.user_id
        user = None if user_id is None else await self.hass.auth.async_get_user(user_id)
        await AgentTurn(
            self.hass,
            entry=self.entry,
            agent_id=self.entity_id,
            settings=settings,
            state=async_agent_state(self.hass, self.subentry_id, settings.daily_budget),
            chat_log=chat_log,
            language=user_input.language,
            is_admin=user_id is None or (user is not None and user.is_admin),
        ).async_run()
        return conversation.async_get_result_from_chat_log(user_input, chat_log)
