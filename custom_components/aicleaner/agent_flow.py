"""The config subentry flow of an Assist agent: add one, or change its settings (reconfigure)."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_LLM_HASS_API, CONF_NAME, CONF_PROMPT
from homeassistant.helpers import llm
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TemplateSelector,
)
import probatio

from .agent_config import (
    CONF_AGENT_PROVIDERS,
    CONF_MAX_TOKENS,
    CONF_MAX_TOOL_ROUNDS,
    CONF_PROVIDER_ORDER,
    CONF_TEMPERATURE,
    CONF_TTFT_TIMEOUT,
    DEFAULT_AGENT_DAILY_BUDGET,
    DEFAULT_AGENT_NAME,
    DEFAULT_MAX_TOKENS,
    DEFAULT_MAX_TOOL_ROUNDS,
    DEFAULT_PROVIDER_ORDER,
    DEFAULT_TEMPERATURE,
    DEFAULT_TTFT_TIMEOUT,
    PROVIDER_ORDERS,
)
from .const import CONF_DAILY_BUDGET
from .subentries import provider_subentries


def _number(
    minimum: float, maximum: float, step: float, unit: str | None = None
) -> NumberSelector:
    config = NumberSelectorConfig(
        min=minimum, max=maximum, step=step, mode=NumberSelectorMode.BOX
    )
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


# Every setting but the name, with the value a new agent starts from.
DEFAULT_AGENT_OPTIONS: dict[str, Any] = {
    CONF_PROMPT: llm.DEFAULT_INSTRUCTIONS_PROMPT,
    CONF_LLM_HASS_API: [llm.LLM_API_ASSIST],
    CONF_AGENT_PROVIDERS: [],
    CONF_PROVIDER_ORDER: DEFAULT_PROVIDER_ORDER,
    CONF_MAX_TOOL_ROUNDS: DEFAULT_MAX_TOOL_ROUNDS,
    CONF_TTFT_TIMEOUT: DEFAULT_TTFT_TIMEOUT,
    CONF_MAX_TOKENS: DEFAULT_MAX_TOKENS,
    CONF_TEMPERATURE: DEFAULT_TEMPERATURE,
    CONF_DAILY_BUDGET: DEFAULT_AGENT_DAILY_BUDGET,
}


class AgentSubentryFlow(ConfigSubentryFlow):
    """Add an Assist agent, or change one; one form holds every setting."""

    @property
    def _is_new(self) -> bool:
        return self.source == "user"

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Add an agent."""
        return await self.async_step_init(user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change an agent's settings."""
        return await self.async_step_init(user_input)

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask for the agent's settings; save them."""
        # The LLM APIs and the providers are only known while the entry runs.
        if self._get_entry().state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        if user_input is not None:
            data = {**user_input}
            for key in (CONF_LLM_HASS_API, CONF_AGENT_PROVIDERS):
                data[key] = data.get(key) or []
            for key in (CONF_MAX_TOOL_ROUNDS, CONF_MAX_TOKENS):
                data[key] = int(data[key])
            if self._is_new:
                return self.async_create_entry(title=data.pop(CONF_NAME), data=data)
            return self.async_update_and_abort(
                self._get_entry(), self._get_reconfigure_subentry(), data=data
            )
        current = (
            {**DEFAULT_AGENT_OPTIONS}
            if self._is_new
            else {**DEFAULT_AGENT_OPTIONS, **self._get_reconfigure_subentry().data}
        )
        # An API or a provider removed since the agent was saved is not offered back.
        apis = {api.id: api.name for api in llm.async_get_apis(self.hass)}
        providers = {
            key: subentry.title
            for key, subentry in provider_subentries(self._get_entry()).items()
        }
        current[CONF_LLM_HASS_API] = [
            api for api in current[CONF_LLM_HASS_API] if api in apis
        ]
        current[CONF_AGENT_PROVIDERS] = [
            key for key in current[CONF_AGENT_PROVIDERS] if key in providers
        ]
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                self._schema(apis, providers, current), current
            ),
        )

    def _schema(
        self, apis: dict[str, str], providers: dict[str, str], current: dict[str, Any]
    ) -> probatio.Schema:
        """Build the form; a required field left out of a submission keeps its current value."""

        def required(key: str) -> probatio.Required:
            return probatio.Required(key, default=current[key])

        fields: dict[Any, Any] = {}
        if self._is_new:
            fields[probatio.Required(CONF_NAME, default=DEFAULT_AGENT_NAME)] = str
        fields.update(
            {
                probatio.Optional(CONF_PROMPT): TemplateSelector(),
                probatio.Optional(CONF_LLM_HASS_API): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(value=api_id, label=name)
                            for api_id, name in apis.items()
                        ],
                        multiple=True,
                    )
                ),
                probatio.Optional(CONF_AGENT_PROVIDERS): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(value=key, label=title)
                            for key, title in sorted(
                                providers.items(), key=lambda item: item[1].casefold()
                            )
                        ],
                        multiple=True,
                    )
                ),
                required(CONF_PROVIDER_ORDER): SelectSelector(
                    SelectSelectorConfig(
                        options=list(PROVIDER_ORDERS),
                        mode=SelectSelectorMode.DROPDOWN,
                        translation_key=CONF_PROVIDER_ORDER,
                    )
                ),
                required(CONF_MAX_TOOL_ROUNDS): _number(1, 50, 1),
                required(CONF_TTFT_TIMEOUT): _number(0.5, 120, 0.5, "s"),
                required(CONF_MAX_TOKENS): _number(16, 32000, 1),
                required(CONF_TEMPERATURE): _number(0, 1, 0.05),
                required(CONF_DAILY_BUDGET): _number(0, 1000, 0.01, "USD"),
            }
        )
        return probatio.Schema(fields)
