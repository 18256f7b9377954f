"""The options flow of the AICleaner entry: router settings and routing rules, applied without a reload."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
from homeassistant.helpers.translation import async_get_translations
import probatio

from .const import (
    CONF_GLOBAL_DAILY_BUDGET,
    CONF_LATENCY_CRITICAL,
    CONF_LATENCY_WARNING,
    CONF_ROUTING_RULES,
    DOMAIN,
    RULE_CONDITIONS,
)
from .flow_schema import router_settings_schema, whole_box
from .subentries import provider_subentries

# The condition choice whose rule matches a tag (the tag field names it).
RULE_TAG = "tag"


class RouterOptionsFlow(OptionsFlow):
    """The router settings of the existing entry, and its routing rules.

    Every step ends by saving the options; the entry's update listener applies them to the running
    router without a reload.
    """

    def __init__(self) -> None:
        """Start with no rule chosen."""
        # Index in the stored rules of the rule being edited; None while adding one.
        self._rule_index: int | None = None
        # The rule being made, while its tag is asked.
        self._rule: dict[str, Any] = {}

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
                router_settings_schema(),
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
        """Ask for a rule's condition, its providers in order and its priority; or delete it.

        A rule on a tag asks for the tag on a step of its own ("rule_tag"), so the form of a rule on
        images shows no tag field.
        """
        rules = self._rules()
        editing = self._editing(rules)
        errors: dict[str, str] = {}
        if user_input is not None:
            if editing and user_input.get("delete"):
                del rules[self._rule_index or 0]
                return self._save({CONF_ROUTING_RULES: rules})
            condition = str(user_input.get("condition") or "")
            providers = [
                provider
                for provider in user_input.get("providers") or ()
                if provider in self.config_entry.subentries
            ]
            if not providers:
                errors["providers"] = "providers_required"
            elif condition != RULE_TAG and self._condition_taken(rules, condition):
                errors["condition"] = "condition_exists"
            else:
                self._rule = {
                    "condition": condition,
                    "providers": providers,
                    "priority": int(user_input.get("priority", 1)),
                    "enabled": bool(user_input.get("enabled", True)),
                }
                if condition == RULE_TAG:
                    return await self.async_step_rule_tag()
                return self._save_rule(rules)
        suggested = self._stored_rule(rules) if editing else {}
        if suggested.get("condition") not in (None, *RULE_CONDITIONS):
            suggested["condition"] = RULE_TAG
        if user_input is not None:
            suggested = user_input
        return self.async_show_form(
            step_id="rule",
            data_schema=self.add_suggested_values_to_schema(
                self._rule_schema(editing=editing), suggested
            ),
            errors=errors,
        )

    async def async_step_rule_tag(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the tag a rule applies to: the request's `tags` carry it."""
        rules = self._rules()
        errors: dict[str, str] = {}
        if user_input is not None:
            tag = str(user_input.get("tag") or "").strip()
            if not tag:
                errors["tag"] = "condition_required"
            elif tag in (*RULE_CONDITIONS, RULE_TAG) or self._condition_taken(
                rules, tag
            ):
                errors["tag"] = "condition_exists"
            else:
                self._rule["condition"] = tag
                return self._save_rule(rules)
        stored = self._stored_rule(rules) if self._editing(rules) else {}
        suggested = (
            {"tag": stored["condition"]}
            if stored.get("condition") not in (None, *RULE_CONDITIONS)
            else {}
        )
        return self.async_show_form(
            step_id="rule_tag",
            data_schema=self.add_suggested_values_to_schema(
                probatio.Schema({probatio.Required("tag"): TextSelector()}),
                user_input or suggested,
            ),
            errors=errors,
        )

    def _editing(self, rules: list[dict[str, Any]]) -> bool:
        return self._rule_index is not None and self._rule_index < len(rules)

    def _stored_rule(self, rules: list[dict[str, Any]]) -> dict[str, Any]:
        """Return the rule being edited as its form shows it (without providers deleted since)."""
        rule = dict(rules[self._rule_index or 0])
        rule["providers"] = [
            provider
            for provider in rule.get("providers", ())
            if provider in self.config_entry.subentries
        ]
        return rule

    def _condition_taken(self, rules: list[dict[str, Any]], condition: str) -> bool:
        """Whether another rule (not the one being edited) has this condition."""
        editing = self._editing(rules)
        return any(
            rule["condition"] == condition
            for index, rule in enumerate(rules)
            if not (editing and index == self._rule_index)
        )

    def _save_rule(self, rules: list[dict[str, Any]]) -> ConfigFlowResult:
        if self._editing(rules):
            rules[self._rule_index or 0] = self._rule
        else:
            rules.append(self._rule)
        return self._save({CONF_ROUTING_RULES: rules})

    def _rule_schema(self, *, editing: bool) -> probatio.Schema:
        fields: dict[Any, Any] = {
            # Requests with images, without images, or carrying a tag (asked on the next step).
            probatio.Required("condition"): SelectSelector(
                SelectSelectorConfig(
                    options=[*RULE_CONDITIONS, RULE_TAG],
                    mode=SelectSelectorMode.DROPDOWN,
                    translation_key="rule_condition",
                )
            ),
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
            probatio.Required("priority", default=1): whole_box(1, 100),
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
