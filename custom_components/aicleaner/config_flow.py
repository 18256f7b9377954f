"""Config flow for AICleaner.

The main entry holds the router's settings; each provider is a config subentry whose type is the
provider kind. Subentries have no reauth step, so a provider's reconfigure step is where its API
key is rotated.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_API_KEY, CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.translation import async_get_translations
import probatio
from yarl import URL

from .agent_config import SUBENTRY_CONVERSATION
from .agent_flow import AgentSubentryFlow
from .const import (
    CONF_ADMIN_ONLY,
    CONF_API_KEY_SET_AT,
    CONF_BASE_URL,
    CONF_BATCH_SIZE,
    CONF_BREAKER_TIMEOUT,
    CONF_BURST_ALLOWANCE,
    CONF_CACHE_TTL,
    CONF_DAILY_BUDGET,
    CONF_ENABLED,
    CONF_FAILURE_THRESHOLD,
    CONF_GLOBAL_DAILY_BUDGET,
    CONF_HALF_OPEN_MAX_CALLS,
    CONF_HEALTH_CHECK_INTERVAL,
    CONF_KEY_ROTATION_REMINDER,
    CONF_LATENCY_CRITICAL,
    CONF_LATENCY_WARNING,
    CONF_LOCAL,
    CONF_MAX_RETRIES,
    CONF_MODEL,
    CONF_PRICE_INPUT,
    CONF_PRICE_OUTPUT,
    CONF_PRIORITY,
    CONF_RATE_LIMIT_RPH,
    CONF_RATE_LIMIT_RPM,
    CONF_RATE_LIMIT_TPM,
    CONF_REQUEST_TIMEOUT,
    CONF_ROUTING_RULES,
    CONF_SELECTION_STRATEGY,
    CONF_SERVER_ROLE,
    CONF_TIMEOUT_SECONDS,
    CONF_WEIGHT,
    DEFAULT_BATCH_SIZE,
    DEFAULT_CACHE_TTL,
    DEFAULT_HEALTH_CHECK_INTERVAL,
    DEFAULT_LATENCY_CRITICAL,
    DEFAULT_LATENCY_WARNING,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_SELECTION_STRATEGY,
    DEFAULT_TITLE,
    DOMAIN,
    KINDS_REQUIRING_BASE_URL,
    KINDS_REQUIRING_KEY,
    KINDS_WITHOUT_KEY,
    LOGGER,
    RULE_CONDITIONS,
    SECTION_ADVANCED,
    SELECTION_STRATEGIES,
    SERVER_FORWARDS,
    SERVER_ROLES,
    SERVER_RUNS_MODELS,
    UNIT_REQUESTS,
    UNIT_REQUESTS_PER_HOUR,
    UNIT_REQUESTS_PER_MINUTE,
    UNIT_TOKENS_PER_MINUTE,
    UNIT_USD_PER_MTOK,
)
from .credentials import CredentialError, async_get_vault, sends_key_in_clear
from .provider_options import client_options
from .providers import PROVIDER_CLASSES, PROVIDER_KINDS, create_provider
from .providers.catalog import is_retired, model_choices, recommended_model
from .providers.locality import is_private_host
from .router import ProviderSettings
from .router.errors import (
    AuthError,
    BadRequestError,
    MalformedResponseError,
    NetworkError,
    ProviderError,
    ProviderTimeoutError,
)
from .subentries import provider_subentries


def _box(
    minimum: float,
    maximum: float,
    step: float = 1,
    unit: str | None = None,
    translation_key: str | None = None,
) -> NumberSelector:
    config = NumberSelectorConfig(
        min=minimum, max=maximum, step=step, mode=NumberSelectorMode.BOX
    )
    if unit is not None:
        config["unit_of_measurement"] = unit
    if translation_key is not None:
        config["translation_key"] = translation_key
    return NumberSelector(config)


def _is_http_url(value: str) -> bool:
    try:
        url = URL(value)
    except ValueError:
        return False
    return url.scheme in ("http", "https") and bool(url.host)


ROUTER_SCHEMA = probatio.Schema(
    {
        probatio.Required(
            CONF_SELECTION_STRATEGY, default=DEFAULT_SELECTION_STRATEGY
        ): SelectSelector(
            SelectSelectorConfig(
                options=list(SELECTION_STRATEGIES),
                mode=SelectSelectorMode.DROPDOWN,
                translation_key="selection_strategy",
            )
        ),
        probatio.Required(CONF_CACHE_TTL, default=DEFAULT_CACHE_TTL): probatio.All(
            _box(0, 86400, unit="s"), probatio.Coerce(int)
        ),
        probatio.Required(CONF_BATCH_SIZE, default=DEFAULT_BATCH_SIZE): probatio.All(
            _box(1, 50), probatio.Coerce(int)
        ),
    }
)


class AICleanerConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create the single AICleaner entry; providers are added to it as subentries."""

    VERSION = 1
    # 1.2: each provider's stored API key records when it was set (`api_key_set_at`).
    MINOR_VERSION = 2

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> RouterOptionsFlow:
        """Change the router settings later; applied without a reload."""
        return RouterOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """One subentry type per provider kind, and the Assist agent's."""
        return {
            **dict.fromkeys(PROVIDER_KINDS, ProviderSubentryFlow),
            SUBENTRY_CONVERSATION: AgentSubentryFlow,
        }

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the router settings and create the entry."""
        # manifest.json sets single_config_entry, so HA aborts a second flow before this step.
        if user_input is not None:
            return self.async_create_entry(
                title=DEFAULT_TITLE, data={}, options=user_input
            )
        return self.async_show_form(step_id="user", data_schema=ROUTER_SCHEMA)


def _router_settings_schema() -> probatio.Schema:
    """Return every router setting the options flow changes (the setup form asks only the first three)."""
    return ROUTER_SCHEMA.extend(
        {
            probatio.Required(
                CONF_REQUEST_TIMEOUT, default=DEFAULT_REQUEST_TIMEOUT
            ): probatio.All(_box(1, 3600, unit="s"), probatio.Coerce(int)),
            # Empty: no budget over all providers (each provider's own still applies).
            probatio.Optional(CONF_GLOBAL_DAILY_BUDGET): _box(
                0, 100000, step=0.01, unit="USD"
            ),
            probatio.Required(
                CONF_HEALTH_CHECK_INTERVAL, default=DEFAULT_HEALTH_CHECK_INTERVAL
            ): probatio.All(_box(10, 86400, unit="s"), probatio.Coerce(int)),
            probatio.Required(
                CONF_LATENCY_WARNING, default=DEFAULT_LATENCY_WARNING
            ): _box(0.1, 600, step=0.1, unit="s"),
            probatio.Required(
                CONF_LATENCY_CRITICAL, default=DEFAULT_LATENCY_CRITICAL
            ): _box(0.1, 600, step=0.1, unit="s"),
            probatio.Required(
                CONF_KEY_ROTATION_REMINDER, default=True
            ): BooleanSelector(),
        }
    )


class RouterOptionsFlow(OptionsFlow):
    """The router settings of the existing entry, and its routing rules.

    Every step ends by saving the options; the entry's update listener applies them to the running
    router without a reload.
    """

    def __init__(self) -> None:
        """Start with no rule chosen."""
        # Index in the stored rules of the rule being edited; None while adding one.
        self._rule_index: int | None = None

    def _rules(self) -> list[dict[str, Any]]:
        return [
            dict(rule) for rule in self.config_entry.options.get(CONF_ROUTING_RULES, ())
        ]

    def _provider_titles(self) -> dict[str, str]:
        """Return each provider's title by subentry id: rules store ids, people read titles."""
        return {
            subentry_id: subentry.title
            for subentry_id, subentry in provider_subentries(self.config_entry).items()
        }

    def _save(self, changes: dict[str, Any]) -> ConfigFlowResult:
        return self.async_create_entry(data={**self.config_entry.options, **changes})

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Offer the router settings, a new routing rule, or a change to an existing one."""
        menu = ["settings", "add_rule"]
        if self._rules():
            menu.append("pick_rule")
        return self.async_show_menu(step_id="init", menu_options=menu)

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the settings with their current values."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if float(user_input[CONF_LATENCY_CRITICAL]) <= float(
                user_input[CONF_LATENCY_WARNING]
            ):
                errors[CONF_LATENCY_CRITICAL] = "latency_order"
            else:
                # An empty global budget means none, not the previous value.
                return self._save({CONF_GLOBAL_DAILY_BUDGET: None, **user_input})
        return self.async_show_form(
            step_id="settings",
            data_schema=self.add_suggested_values_to_schema(
                _router_settings_schema(),
                user_input
                or {
                    key: value
                    for key, value in self.config_entry.options.items()
                    if value is not None
                },
            ),
            errors=errors,
        )

    async def async_step_add_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Start a new routing rule."""
        if not provider_subentries(self.config_entry):
            return self.async_abort(reason="no_providers")
        self._rule_index = None
        return await self.async_step_rule()

    async def async_step_pick_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose the routing rule to change or delete."""
        if user_input is not None:
            self._rule_index = int(user_input["rule"])
            return await self.async_step_rule()
        titles = self._provider_titles()
        translations = await async_get_translations(
            self.hass, self.hass.config.language, "selector", {DOMAIN}
        )
        conditions = {
            condition: translations.get(
                f"component.{DOMAIN}.selector.rule_condition.options.{condition}",
                condition,
            )
            for condition in RULE_CONDITIONS
        }
        options = [
            SelectOptionDict(
                value=str(index), label=_rule_label(rule, titles, conditions)
            )
            for index, rule in enumerate(self._rules())
        ]
        return self.async_show_form(
            step_id="pick_rule",
            data_schema=probatio.Schema(
                {
                    probatio.Required("rule"): SelectSelector(
                        SelectSelectorConfig(
                            options=options, mode=SelectSelectorMode.LIST
                        )
                    )
                }
            ),
        )

    async def async_step_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a rule's condition, its providers in order and its priority; or delete it."""
        rules = self._rules()
        editing = self._rule_index is not None and self._rule_index < len(rules)
        errors: dict[str, str] = {}
        if user_input is not None:
            if editing and user_input.get("delete"):
                del rules[self._rule_index or 0]
                return self._save({CONF_ROUTING_RULES: rules})
            condition = str(user_input.get("condition") or "")
            if condition == RULE_TAG:
                # A tag rule stores the tag itself as its condition.
                condition = str(user_input.get("tag") or "").strip()
            providers = [
                provider
                for provider in user_input.get("providers") or ()
                if provider in self.config_entry.subentries
            ]
            others = [
                rule
                for index, rule in enumerate(rules)
                if not (editing and index == self._rule_index)
            ]
            field = "tag" if user_input.get("condition") == RULE_TAG else "condition"
            if not condition:
                errors[field] = "condition_required"
            elif any(rule["condition"] == condition for rule in others):
                errors[field] = "condition_exists"
            if not providers:
                errors["providers"] = "providers_required"
            if not errors:
                rule = {
                    "condition": condition,
                    "providers": providers,
                    "priority": int(user_input.get("priority", 1)),
                    "enabled": bool(user_input.get("enabled", True)),
                }
                if editing:
                    rules[self._rule_index or 0] = rule
                else:
                    rules.append(rule)
                return self._save({CONF_ROUTING_RULES: rules})
        suggested: dict[str, Any] = (
            dict(rules[self._rule_index or 0]) if editing else {}
        )
        if suggested.get("condition") not in (None, *RULE_CONDITIONS):
            suggested["tag"] = suggested["condition"]
            suggested["condition"] = RULE_TAG
        if suggested:
            # A provider deleted since is no longer offered.
            suggested["providers"] = [
                provider
                for provider in suggested["providers"]
                if provider in self.config_entry.subentries
            ]
        if user_input is not None:
            suggested = user_input
        return self.async_show_form(
            step_id="rule",
            data_schema=self.add_suggested_values_to_schema(
                self._rule_schema(editing=editing), suggested
            ),
            errors=errors,
        )

    def _rule_schema(self, *, editing: bool) -> probatio.Schema:
        fields: dict[Any, Any] = {
            # Requests with images, without images, or carrying the tag typed below.
            probatio.Required("condition"): SelectSelector(
                SelectSelectorConfig(
                    options=[*RULE_CONDITIONS, RULE_TAG],
                    mode=SelectSelectorMode.DROPDOWN,
                    translation_key="rule_condition",
                )
            ),
            probatio.Optional("tag"): TextSelector(),
            # The providers are tried in the order they were picked (the order of the list).
            probatio.Required("providers"): SelectSelector(
                SelectSelectorConfig(
                    options=[
                        SelectOptionDict(value=subentry_id, label=title)
                        for subentry_id, title in self._provider_titles().items()
                    ],
                    multiple=True,
                    mode=SelectSelectorMode.DROPDOWN,
                )
            ),
            probatio.Required("priority", default=1): probatio.All(
                _box(1, 100), probatio.Coerce(int)
            ),
            probatio.Required("enabled", default=True): BooleanSelector(),
        }
        if editing:
            fields[probatio.Optional("delete", default=False)] = BooleanSelector()
        return probatio.Schema(fields)


def _rule_label(
    rule: Mapping[str, Any], titles: Mapping[str, str], conditions: Mapping[str, str]
) -> str:
    """Describe a stored rule as the pick list shows it: its condition → its providers, by title."""
    condition = str(rule.get("condition", ""))
    names = ", ".join(
        titles.get(provider, provider) for provider in rule.get("providers", ())
    )
    return f"{conditions.get(condition, condition)} → {names}"


class ProviderSubentryFlow(ConfigSubentryFlow):
    """Add or reconfigure one provider: connection first (tested), then model and limits."""

    def __init__(self) -> None:
        """Start with nothing entered."""
        self._connection: dict[str, Any] = {}
        self._name = ""
        self._models: tuple[str, ...] = ()
        # What the settings step gathered, kept while the price step asks for an override.
        self._settings: dict[str, Any] = {}

    @property
    def _kind(self) -> str:
        return self._subentry_type

    @property
    def _is_new(self) -> bool:
        return self.source == "user"

    def _current(self) -> dict[str, Any]:
        return {} if self._is_new else dict(self._get_reconfigure_subentry().data)

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Add a provider."""
        return await self.async_step_connection()

    async def async_step_connection(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Name, key and base URL of a new provider; its free model-list call tests them."""
        return await self._async_connection_step("connection", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Rename a provider, change its base URL or rotate its API key; tested the same way."""
        return await self._async_connection_step("reconfigure", user_input)

    def _connection_schema(self) -> probatio.Schema:
        schema: dict[Any, Any] = {probatio.Required(CONF_NAME): TextSelector()}
        if self._kind not in KINDS_WITHOUT_KEY:
            # A new cloud provider needs a key; when reconfiguring, an empty field keeps the key.
            key_marker = (
                probatio.Required
                if self._is_new and self._kind in KINDS_REQUIRING_KEY
                else probatio.Optional
            )
            schema[key_marker(CONF_API_KEY)] = TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD)
            )
        url_marker = (
            probatio.Required
            if self._kind in KINDS_REQUIRING_BASE_URL
            else probatio.Optional
        )
        schema[url_marker(CONF_BASE_URL)] = TextSelector(
            TextSelectorConfig(type=TextSelectorType.URL)
        )
        return probatio.Schema(schema)

    def _name_error(self, name: str) -> str | None:
        """Why `name` cannot be this provider's name, if it cannot."""
        if not name:
            return "name_required"
        own_id = None if self._is_new else self._reconfigure_subentry_id
        if any(
            subentry.title == name
            for subentry_id, subentry in self._get_entry().subentries.items()
            if subentry_id != own_id
        ):
            return "name_exists"
        return None

    async def _async_connection_step(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        """Show and handle the add step ("connection") or the reconfigure step: same fields and tests.

        They differ in their texts: only reconfiguring keeps the stored key when the field is left
        empty, and its title names the provider it changes.
        """
        errors: dict[str, str] = {}
        current = self._current()
        current_name = "" if self._is_new else self._get_reconfigure_subentry().title
        if user_input is not None:
            name = str(user_input.get(CONF_NAME, "")).strip()
            if name_error := self._name_error(name):
                errors[CONF_NAME] = name_error
            else:
                errors = await self._async_test_connection(user_input, current)
            if not errors:
                self._name = name
                return await self.async_step_settings()
        suggested: dict[str, Any] = {
            CONF_NAME: current_name or None,
            CONF_BASE_URL: current.get(CONF_BASE_URL)
            or PROVIDER_CLASSES[self._kind].default_base_url,
        }
        if user_input is not None:
            # Everything typed stays, the key included: a mistake elsewhere must not cost a re-paste.
            suggested.update(user_input)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                self._connection_schema(), suggested
            ),
            errors=errors,
            description_placeholders={"name": current_name},
        )

    async def _async_test_connection(
        self, user_input: dict[str, Any], current: dict[str, Any]
    ) -> dict[str, str]:
        vault = await async_get_vault(self.hass)
        new_key = (user_input.get(CONF_API_KEY) or "").strip()
        try:
            current_key = (
                vault.decrypt(current[CONF_API_KEY])
                if current.get(CONF_API_KEY)
                else None
            )
        except CredentialError:
            if not new_key:
                # The stored key can no longer be read: the user must enter it again.
                return {CONF_API_KEY: "key_unreadable"}
            current_key = None
        api_key = new_key or current_key
        base_url = (user_input.get(CONF_BASE_URL) or "").strip() or None
        if base_url is not None and not _is_http_url(base_url):
            return {CONF_BASE_URL: "invalid_base_url"}
        error, models = await async_test_provider(
            self.hass,
            self._kind,
            api_key=api_key,
            base_url=base_url,
            model=current.get(CONF_MODEL, ""),
        )
        if error is not None:
            return {CONF_BASE_URL if error in _URL_ERRORS else "base": error}
        self._models = models
        self._connection[CONF_BASE_URL] = base_url
        if new_key:
            self._connection.update(vault.key_data(new_key))
            if new_key == current_key and current.get(CONF_API_KEY_SET_AT):
                # The same key typed again is not a new one: the rotation reminder keeps its date.
                self._connection[CONF_API_KEY_SET_AT] = current[CONF_API_KEY_SET_AT]
        elif current.get(CONF_API_KEY):
            self._connection[CONF_API_KEY] = current[CONF_API_KEY]
            if current.get(CONF_API_KEY_SET_AT):
                self._connection[CONF_API_KEY_SET_AT] = current[CONF_API_KEY_SET_AT]
        return {}

    async def _async_model_options(self) -> list[SelectOptionDict]:
        """List the models that can chat as options, those that see images first and marked so."""
        translations = await async_get_translations(
            self.hass, self.hass.config.language, "selector", {DOMAIN}
        )
        sees_images = translations.get(
            f"component.{DOMAIN}.selector.model_choice.options.sees_images", "{model}"
        )
        return [
            SelectOptionDict(
                value=choice.model,
                label=sees_images.format(model=choice.model)
                if choice.vision
                else choice.model,
            )
            for choice in model_choices(self._kind, self._models)
        ]

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Model, routing weight, limits, access, price override (and what a compatible server does)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if (CONF_PRICE_INPUT in user_input) != (CONF_PRICE_OUTPUT in user_input):
                errors["base"] = "price_incomplete"
            else:
                # The advanced section's settings are stored flat, as ProviderSettings reads them.
                advanced = user_input.get(SECTION_ADVANCED) or {}
                # An empty optional field means "none": no limit, no override.
                self._settings = {
                    CONF_DAILY_BUDGET: None,
                    CONF_RATE_LIMIT_RPM: None,
                    CONF_RATE_LIMIT_TPM: None,
                    CONF_RATE_LIMIT_RPH: None,
                    CONF_PRICE_INPUT: None,
                    CONF_PRICE_OUTPUT: None,
                    **self._connection,
                    **{k: v for k, v in user_input.items() if k != SECTION_ADVANCED},
                    **advanced,
                }
                if not self._price_listed(self._settings):
                    return await self.async_step_price()
                return self._async_save(self._settings)
        schema = probatio.Schema(
            {
                **self._settings_fields(await self._async_model_options()),
                **_price_fields(),
                probatio.Required(SECTION_ADVANCED, default={}): section(
                    probatio.Schema(_advanced_fields()), {"collapsed": True}
                ),
            }
        )
        return self.async_show_form(
            step_id="settings",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or self._suggested_settings()
            ),
            errors=errors,
            description_placeholders=self._settings_placeholders(),
        )

    def _settings_placeholders(self) -> dict[str, str]:
        placeholders = {"name": self._name}
        if self._kind == "openai_compatible":
            base_url = self._connection.get(CONF_BASE_URL) or ""
            placeholders["host"] = URL(base_url).host or base_url
        return placeholders

    async def async_step_price(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Say what an unlisted model is reserved at, and offer a price override."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if (CONF_PRICE_INPUT in user_input) != (CONF_PRICE_OUTPUT in user_input):
                errors["base"] = "price_incomplete"
            else:
                return self._async_save({**self._settings, **user_input})
        price = self._client(self._settings).price()
        return self.async_show_form(
            step_id="price",
            data_schema=self.add_suggested_values_to_schema(
                probatio.Schema(_price_fields()), user_input or {}
            ),
            errors=errors,
            description_placeholders={
                "name": self._name,
                "model": str(self._settings.get(CONF_MODEL, "")),
                "input": _usd(price.input_per_mtok),
                "output": _usd(price.output_per_mtok),
            },
        )

    def _client(self, data: dict[str, Any]) -> Any:
        """Build a client for `data`, only to ask it prices (no call is made)."""
        return create_provider(
            self._kind,
            async_get_clientsession(self.hass),
            name=self._name or "setup",
            model=str(data.get(CONF_MODEL) or ""),
            base_url=data.get(CONF_BASE_URL) or None,
            **client_options(data),
        )

    def _price_listed(self, data: dict[str, Any]) -> bool:
        """Whether the chosen model's price is known (listed, free, or overridden)."""
        return bool(self._client(data).price_quote().listed)

    def _settings_fields(self, model_options: list[SelectOptionDict]) -> dict[Any, Any]:
        fields: dict[Any, Any] = {
            # Custom values too: a model the list does not name (an alias, a new release).
            probatio.Required(CONF_MODEL): SelectSelector(
                SelectSelectorConfig(
                    options=model_options,
                    custom_value=True,
                    sort=False,
                    mode=SelectSelectorMode.DROPDOWN,
                )
            ),
        }
        if self._kind == "openai_compatible":
            fields[probatio.Required(CONF_SERVER_ROLE)] = SelectSelector(
                SelectSelectorConfig(
                    options=list(SERVER_ROLES),
                    mode=SelectSelectorMode.LIST,
                    translation_key=CONF_SERVER_ROLE,
                )
            )
        fields.update(
            {
                probatio.Required(CONF_ENABLED): BooleanSelector(),
                probatio.Required(CONF_PRIORITY): probatio.All(
                    _box(1, 100), probatio.Coerce(int)
                ),
                probatio.Required(CONF_WEIGHT): _box(0.1, 100, step=0.1),
                # Empty: no daily limit for this provider.
                probatio.Optional(CONF_DAILY_BUDGET): _box(
                    0, 10000, step=0.01, unit="USD"
                ),
                probatio.Optional(CONF_RATE_LIMIT_RPM): probatio.All(
                    _box(
                        1,
                        100000,
                        unit=UNIT_REQUESTS_PER_MINUTE,
                        translation_key="rate_limit_rpm",
                    ),
                    probatio.Coerce(int),
                ),
                probatio.Optional(CONF_RATE_LIMIT_TPM): probatio.All(
                    _box(
                        1,
                        100000000,
                        unit=UNIT_TOKENS_PER_MINUTE,
                        translation_key="rate_limit_tpm",
                    ),
                    probatio.Coerce(int),
                ),
                probatio.Optional(CONF_RATE_LIMIT_RPH): probatio.All(
                    _box(
                        1,
                        1000000,
                        unit=UNIT_REQUESTS_PER_HOUR,
                        translation_key="rate_limit_rph",
                    ),
                    probatio.Coerce(int),
                ),
                probatio.Required(
                    CONF_BURST_ALLOWANCE, default=ProviderSettings().burst_allowance
                ): probatio.All(
                    _box(
                        0, 10000, unit=UNIT_REQUESTS, translation_key="burst_allowance"
                    ),
                    probatio.Coerce(int),
                ),
                probatio.Optional(CONF_ADMIN_ONLY, default=False): BooleanSelector(),
            }
        )
        if self._kind == "ollama":
            # Whether local-only requests may use this server; its -cloud models never serve them.
            fields[probatio.Required(CONF_LOCAL, default=self._suggested_local())] = (
                BooleanSelector()
            )
        return fields

    def _suggested_local(self) -> bool:
        """Trust an Ollama server as local when it says so, else when its host is private."""
        current = self._current().get(CONF_LOCAL)
        if current is not None:
            return bool(current)
        base_url = (
            self._connection.get(CONF_BASE_URL)
            or PROVIDER_CLASSES[self._kind].default_base_url
            or ""
        )
        return is_private_host(base_url)

    def _suggested_settings(self) -> dict[str, Any]:
        defaults = ProviderSettings()
        current = self._current()
        today = date.today()
        model = current.get(CONF_MODEL)
        if not model or is_retired(model, today):
            # A shut-down model is never pre-selected, not even the one being replaced.
            model = recommended_model(self._kind, self._models, today=today)
        suggested = {
            CONF_MODEL: model,
            CONF_ENABLED: current.get(CONF_ENABLED, defaults.enabled),
            CONF_PRIORITY: current.get(CONF_PRIORITY, defaults.priority),
            CONF_WEIGHT: current.get(CONF_WEIGHT, defaults.weight),
            CONF_DAILY_BUDGET: current.get(CONF_DAILY_BUDGET, defaults.daily_budget),
            CONF_RATE_LIMIT_RPM: current.get(
                CONF_RATE_LIMIT_RPM, defaults.rate_limit_rpm
            ),
            CONF_RATE_LIMIT_TPM: current.get(
                CONF_RATE_LIMIT_TPM, defaults.rate_limit_tpm
            ),
            CONF_RATE_LIMIT_RPH: current.get(
                CONF_RATE_LIMIT_RPH, defaults.rate_limit_rph
            ),
            CONF_BURST_ALLOWANCE: current.get(
                CONF_BURST_ALLOWANCE, defaults.burst_allowance
            ),
            CONF_ADMIN_ONLY: current.get(CONF_ADMIN_ONLY, False),
            SECTION_ADVANCED: {
                CONF_TIMEOUT_SECONDS: current.get(
                    CONF_TIMEOUT_SECONDS, defaults.timeout_seconds
                ),
                CONF_MAX_RETRIES: current.get(CONF_MAX_RETRIES, defaults.max_retries),
                CONF_FAILURE_THRESHOLD: current.get(
                    CONF_FAILURE_THRESHOLD, defaults.breaker.failure_threshold
                ),
                CONF_BREAKER_TIMEOUT: current.get(
                    CONF_BREAKER_TIMEOUT, defaults.breaker.timeout_seconds
                ),
                CONF_HALF_OPEN_MAX_CALLS: current.get(
                    CONF_HALF_OPEN_MAX_CALLS, defaults.breaker.half_open_max_calls
                ),
            },
        }
        if self._kind == "ollama":
            suggested[CONF_LOCAL] = self._suggested_local()
        # An empty override stays empty (a None suggestion would not validate as a number).
        suggested.update(
            {
                key: current[key]
                for key in (CONF_PRICE_INPUT, CONF_PRICE_OUTPUT)
                if current.get(key) is not None
            }
        )
        if self._kind == "openai_compatible":
            # Only a suggestion: a private host may well be a gateway to the cloud (see strings).
            suggested[CONF_SERVER_ROLE] = current.get(CONF_SERVER_ROLE) or (
                SERVER_RUNS_MODELS
                if is_private_host(self._connection.get(CONF_BASE_URL) or "")
                else SERVER_FORWARDS
            )
        return suggested

    def _async_save(self, data: dict[str, Any]) -> SubentryFlowResult:
        """Create the subentry, or update the one being reconfigured."""
        if self._is_new:
            return self.async_create_entry(title=self._name, data=data)
        entry = self._get_entry()
        # The integration's own message: HA's default one does not say what was changed.
        update_and_abort = (
            # The entry's update listener applies the change to the running router.
            self.async_update_and_abort
            if entry.state is ConfigEntryState.LOADED
            # Not loaded (e.g. setup failed on an unreadable key): the fix needs a reload.
            else self.async_update_reload_and_abort
        )
        return update_and_abort(
            entry,
            self._get_reconfigure_subentry(),
            title=self._name,
            data=data,
            reason="reconfigure_successful",
        )


def _advanced_fields() -> dict[Any, Any]:
    """Return the collapsed section's fields: time, retries and circuit breaker of one provider."""
    defaults = ProviderSettings()
    return {
        probatio.Required(CONF_TIMEOUT_SECONDS, default=defaults.timeout_seconds): _box(
            1, 600, unit="s"
        ),
        probatio.Required(CONF_MAX_RETRIES, default=defaults.max_retries): probatio.All(
            _box(0, 10), probatio.Coerce(int)
        ),
        probatio.Required(
            CONF_FAILURE_THRESHOLD, default=defaults.breaker.failure_threshold
        ): probatio.All(_box(1, 100), probatio.Coerce(int)),
        probatio.Required(
            CONF_BREAKER_TIMEOUT, default=defaults.breaker.timeout_seconds
        ): _box(1, 3600, unit="s"),
        probatio.Required(
            CONF_HALF_OPEN_MAX_CALLS, default=defaults.breaker.half_open_max_calls
        ): probatio.All(_box(1, 20), probatio.Coerce(int)),
    }


# The condition choice whose rule matches a tag (the tag field names it).
RULE_TAG = "tag"
# Errors of the connection test that the base URL field shows.
_URL_ERRORS = frozenset({"invalid_base_url", "key_in_clear"})


async def async_test_provider(
    hass: HomeAssistant,
    kind: str,
    *,
    api_key: str | None,
    base_url: str | None,
    model: str = "",
) -> tuple[str | None, tuple[str, ...]]:
    """Test a provider with its free model-list call; return the form error (or None) and its models.

    A key is never sent over plain http to a public host ("key_in_clear"): the test refuses before
    any request goes out. Shared by the provider flow and the key repair flow.
    """
    if api_key and sends_key_in_clear(
        base_url or PROVIDER_CLASSES[kind].default_base_url
    ):
        return "key_in_clear", ()
    try:
        provider = create_provider(
            kind,
            async_get_clientsession(hass),
            name="setup",
            model=model,
            api_key=api_key,
            base_url=base_url,
        )
    except ValueError:
        return "invalid_base_url", ()
    try:
        health = await provider.health()
    except ProviderError as err:
        LOGGER.debug(
            "Testing %s failed: %s%s",
            kind,
            err.category,
            "" if err.status is None else f" (HTTP {err.status})",
        )
        return _connection_error(err), ()
    except Exception:  # noqa: BLE001 - the flow must show an error, not crash
        LOGGER.exception("Unexpected error while testing %s", kind)
        return "unknown", ()
    return None, health.models


def _price_fields() -> dict[Any, Any]:
    """Return the optional price override fields: USD per million input and output tokens."""
    return {
        probatio.Optional(key): _box(
            0,
            100000,
            step=0.001,
            unit=UNIT_USD_PER_MTOK,
            translation_key="price",
        )
        for key in (CONF_PRICE_INPUT, CONF_PRICE_OUTPUT)
    }


def _usd(rate: float) -> str:
    """Format a rate as the price step shows it: up to three decimals, no trailing zeros."""
    return f"{rate:.3f}".rstrip("0").rstrip(".")


def _connection_error(err: ProviderError) -> str:
    """Name the form error of a failed connection test: what the user should look at."""
    if isinstance(err, AuthError):
        return "invalid_auth"
    if isinstance(err, (NetworkError, ProviderTimeoutError)):
        return "cannot_connect"
    if isinstance(err, (BadRequestError, MalformedResponseError)):
        # Something answered, but not as this provider's API would: a 404 or 405, a redirect, an
        # HTML page, JSON of another shape. The base URL's path is wrong.
        return "wrong_endpoint"
    # Rate limited, overloaded or failing: the right API, unable to answer now.
    return "provider_unavailable"
