"""Settings dataclasses: the design document's defaults and building from option mappings."""

from __future__ import annotations

from custom_components.aicleaner.router.config import (
    BreakerSettings,
    ProviderSettings,
    RouterConfig,
    RoutingRule,
    SelectionStrategy,
)


def test_defaults_follow_the_design_document() -> None:
    provider = ProviderSettings()
    assert (provider.enabled, provider.priority, provider.weight) == (True, 1, 1.0)
    # The design's 10,000 tokens a minute was below one Assist call (test_conversation.py).
    assert (
        provider.rate_limit_rpm,
        provider.rate_limit_tpm,
        provider.rate_limit_rph,
    ) == (60, 30_000, 3600)
    assert (provider.burst_allowance, provider.daily_budget) == (10, 10.0)
    assert (provider.max_retries, provider.timeout_seconds) == (3, 30.0)
    assert provider.breaker == BreakerSettings(
        failure_threshold=5, timeout_seconds=60.0, half_open_max_calls=3
    )
    router = RouterConfig()
    assert router.selection_strategy is SelectionStrategy.ADAPTIVE
    assert (router.cache_ttl, router.batch_size) == (300.0, 5)


def test_provider_settings_from_design_document_options() -> None:
    settings = ProviderSettings.from_mapping(
        {
            "enabled": False,
            "priority": 2,
            "model_name": "ignored",
            "rate_limit_rpm": 50,
            "daily_budget": 3.5,
            "failure_threshold": 2,
            "circuit_breaker_timeout": 10,
            "half_open_max_calls": 1,
        }
    )
    assert not settings.enabled
    assert settings.priority == 2
    assert settings.rate_limit_rpm == 50
    assert settings.daily_budget == 3.5
    assert settings.breaker == BreakerSettings(
        failure_threshold=2, timeout_seconds=10, half_open_max_calls=1
    )


def test_negative_burst_allowance_is_clamped_to_zero() -> None:
    assert ProviderSettings.from_mapping({"burst_allowance": -5}).burst_allowance == 0
    assert ProviderSettings.from_mapping({"burst_allowance": 0}).burst_allowance == 0
    # A number from a UI field may come as a float; a valid one is kept.
    assert ProviderSettings.from_mapping({"burst_allowance": 7.0}).burst_allowance == 7
    assert ProviderSettings.from_mapping({}).burst_allowance == 10


def test_nested_circuit_breaker_options_are_read() -> None:
    settings = ProviderSettings.from_mapping(
        {"circuit_breaker": {"failure_threshold": 9}}
    )
    assert settings.breaker.failure_threshold == 9


def test_router_config_from_mapping_parses_strategy_and_rules() -> None:
    rule = RoutingRule(condition="text", providers=("b",))
    config = RouterConfig.from_mapping(
        {
            "selection_strategy": "cost_optimal",
            "cache_ttl": 60,
            "routing_rules": [
                {"condition": "image_analysis", "provider": "openai", "priority": 1},
                {"condition": "kitchen", "providers": ["a", "b"], "enabled": False},
                {"condition": "none"},
                rule,
            ],
            "unknown": 1,
        }
    )
    assert config.selection_strategy is SelectionStrategy.COST_OPTIMAL
    assert config.cache_ttl == 60
    assert config.routing_rules == (
        RoutingRule(condition="image_analysis", providers=("openai",), priority=1),
        RoutingRule(condition="kitchen", providers=("a", "b"), enabled=False),
        RoutingRule(condition="none", providers=()),
        rule,
    )
