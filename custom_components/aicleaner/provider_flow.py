"""Add or reconfigure one provider (a config subentry): its connection, tested, then its model, limits and price."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_API_KEY, CONF_NAME
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    SelectOptionDict,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util
import probatio
from yarl import URL

from .connection_test import URL_ERRORS, async_test_provider
from .const import (
    CONF_API_KEY_SET_AT,
    CONF_BASE_URL,
    CONF_DAILY_BUDGET,
    CONF_MODEL,
    CONF_PRICE_INPUT,
    CONF_PRICE_OUTPUT,
    CONF_RATE_LIMIT_RPH,
    CONF_RATE_LIMIT_RPM,
    CONF_RATE_LIMIT_TPM,
    CONF_SERVER_ROLE,
    CONF_TTFT_TIMEOUT,
    DOMAIN,
    KINDS_REQUIRING_BASE_URL,
    KINDS_REQUIRING_KEY,
    KINDS_WITHOUT_KEY,
    SECTION_ADVANCED,
    SERVER_FORWARDS,
)
from .credentials import CredentialError, async_get_vault
from .flow_schema import (
    advanced_fields,
    is_http_url,
    price_fields,
    price_incomplete,
    usd,
)
from .provider_form import settings_fields, suggested_local, suggested_settings
from .provider_options import client_options, price_override
from .providers import PROVIDER_CLASSES, create_provider
from .providers.catalog import model_choices
from .providers.gateway import GatewayFinding, async_probe_gateway
from .router.models import ModelPrice


class ProviderSubentryFlow(ConfigSubentryFlow):
    """Add or reconfigure one provider: connection first (tested), then model and limits."""

    def __init__(self) -> None:
        """Start with nothing entered."""
        self._connection: dict[str, Any] = {}
        self._name = ""
        self._models: tuple[str, ...] = ()
        # What the settings step gathered, kept while the price step asks for an override.
        self._settings: dict[str, Any] = {}
        # What the connection test found out about an OpenAI-compatible server.
        self._gateway = GatewayFinding()

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
        # "OpenAI" and "openai" are the same name to people (and to the analyze action).
        if any(
            subentry.title.casefold() == name.casefold()
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
            description_placeholders={
                "name": current_name,
                # The provider's own address, named by the wrong-path error.
                "default_url": PROVIDER_CLASSES[self._kind].default_base_url or "",
            },
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
        if base_url is not None and not is_http_url(base_url):
            return {CONF_BASE_URL: "invalid_base_url"}
        error, models = await async_test_provider(
            self.hass,
            self._kind,
            api_key=api_key,
            base_url=base_url,
            model=current.get(CONF_MODEL, ""),
        )
        if error is not None:
            return {CONF_BASE_URL if error in URL_ERRORS else "base": error}
        self._models = models
        if self._kind == "openai_compatible" and base_url is not None:
            # Which gateway (if any) the server is, and the prices it publishes.
            self._gateway = await async_probe_gateway(
                async_get_clientsession(self.hass),
                base_url,
                api_key=api_key,
                models=models,
            )
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
            if price_incomplete(user_input):
                errors["base"] = "price_incomplete"
            else:
                # The advanced section's settings are stored flat, as ProviderSettings reads them.
                # A form posted without the section (the flow API) keeps the current values.
                advanced = {
                    **self._suggested_settings()[SECTION_ADVANCED],
                    **(user_input.get(SECTION_ADVANCED) or {}),
                }
                if SECTION_ADVANCED in user_input:
                    # A first-token deadline left empty means the default by locality.
                    advanced[CONF_TTFT_TIMEOUT] = user_input[SECTION_ADVANCED].get(
                        CONF_TTFT_TIMEOUT
                    )
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
                if self._gateway_price(self._settings) is not None:
                    return await self.async_step_gateway_price()
                if not self._price_listed(self._settings):
                    return await self.async_step_price()
                return self._async_save(self._settings)
        schema = probatio.Schema(
            {
                **settings_fields(
                    self._kind,
                    await self._async_model_options(),
                    local=suggested_local(
                        self._kind,
                        self._current(),
                        self._connection.get(CONF_BASE_URL),
                    ),
                ),
                **price_fields(),
                # No default on the section itself: the frontend would pre-fill the section with
                # that empty default instead of the fields' own values (see _advanced_fields).
                probatio.Optional(SECTION_ADVANCED): section(
                    probatio.Schema(advanced_fields()), {"collapsed": True}
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
        # Today's price in HA's time zone, the day the router prices a request on.
        price = self._client(self._settings).price(on=dt_util.now().date())
        return self._async_price_step("price", price, user_input, {})

    def _gateway_price(self, data: dict[str, Any]) -> ModelPrice | None:
        """Return the price a gateway publishes for the chosen model, unless a price was typed."""
        if data.get(CONF_SERVER_ROLE) != SERVER_FORWARDS or price_override(data):
            return None
        return self._gateway.prices.get(str(data.get(CONF_MODEL) or ""))

    async def async_step_gateway_price(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Show the price the gateway publishes for the model, pre-filled as the price override."""
        price = self._gateway_price(self._settings)
        assert price is not None
        published = {
            CONF_PRICE_INPUT: price.input_per_mtok,
            CONF_PRICE_OUTPUT: price.output_per_mtok,
        }
        return self._async_price_step("gateway_price", price, user_input, published)

    def _async_price_step(
        self,
        step_id: str,
        price: ModelPrice,
        user_input: dict[str, Any] | None,
        suggested: dict[str, Any],
    ) -> SubentryFlowResult:
        """Save the provider with the price override given, or show `price` and ask for one."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if price_incomplete(user_input):
                errors["base"] = "price_incomplete"
            else:
                return self._async_save({**self._settings, **user_input})
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                probatio.Schema(price_fields()), user_input or suggested
            ),
            errors=errors,
            description_placeholders={
                "name": self._name,
                "model": str(self._settings.get(CONF_MODEL, "")),
                "input": usd(price.input_per_mtok),
                "output": usd(price.output_per_mtok),
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

    def _suggested_settings(self) -> dict[str, Any]:
        return suggested_settings(
            self._kind,
            self._current(),
            models=self._models,
            base_url=self._connection.get(CONF_BASE_URL),
            gateway=self._gateway,
            today=dt_util.now().date(),
        )

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
