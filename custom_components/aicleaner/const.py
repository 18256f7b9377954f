"""Constants for the AICleaner integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "aicleaner"
LOGGER = logging.getLogger(__package__)

DEFAULT_TITLE: Final = "AICleaner"

# Router settings, kept in the main config entry's options.
CONF_SELECTION_STRATEGY: Final = "selection_strategy"
CONF_CACHE_TTL: Final = "cache_ttl"
CONF_BATCH_SIZE: Final = "batch_size"
CONF_HEALTH_CHECK_INTERVAL: Final = "health_check_interval"

SELECTION_STRATEGIES: Final = (
    "adaptive",
    "round_robin",
    "least_loaded",
    "fastest",
    "cost_optimal",
    "priority",
)
DEFAULT_SELECTION_STRATEGY: Final = "adaptive"
DEFAULT_CACHE_TTL: Final = 300
DEFAULT_BATCH_SIZE: Final = 5
DEFAULT_HEALTH_CHECK_INTERVAL: Final = 300

# Provider subentries: the subentry type is the provider kind (see providers.PROVIDER_KINDS).
CONF_BASE_URL: Final = "base_url"
CONF_MODEL: Final = "model"
CONF_ENABLED: Final = "enabled"
CONF_PRIORITY: Final = "priority"
CONF_WEIGHT: Final = "weight"
CONF_DAILY_BUDGET: Final = "daily_budget"
CONF_RATE_LIMIT_RPM: Final = "rate_limit_rpm"
CONF_RATE_LIMIT_TPM: Final = "rate_limit_tpm"

# Kinds whose API needs a key, and whose base URL the user must give.
KINDS_REQUIRING_KEY: Final = frozenset({"openai", "anthropic", "gemini"})
KINDS_WITHOUT_KEY: Final = frozenset({"ollama"})
KINDS_REQUIRING_BASE_URL: Final = frozenset({"openai_compatible"})
# Units of the rate-limit fields, translated under selector.<field>.unit_of_measurement.
UNIT_REQUESTS_PER_MINUTE: Final = "requests_per_minute"
UNIT_TOKENS_PER_MINUTE: Final = "tokens_per_minute"

# Who may use a provider: actions called by a non-admin user skip an admin-only provider.
CONF_ADMIN_ONLY: Final = "admin_only"
# A price override for the provider's model, USD per million input / output tokens.
CONF_PRICE_INPUT: Final = "price_input"
CONF_PRICE_OUTPUT: Final = "price_output"
UNIT_USD_PER_MTOK: Final = "usd_per_mtok"
# What an OpenAI-compatible server does with a request: runs the model itself (free, local) or
# forwards it to a cloud (priced, not local). The user says which; the host only suggests it.
CONF_SERVER_ROLE: Final = "server_role"
SERVER_RUNS_MODELS: Final = "runs_models"
SERVER_FORWARDS: Final = "forwards"
SERVER_ROLES: Final = (SERVER_RUNS_MODELS, SERVER_FORWARDS)

# Router settings added to the options flow (RouterConfig field names).
CONF_REQUEST_TIMEOUT: Final = "request_timeout"
CONF_GLOBAL_DAILY_BUDGET: Final = "global_daily_budget"
CONF_ROUTING_RULES: Final = "routing_rules"
DEFAULT_REQUEST_TIMEOUT: Final = 120
# Routing rule conditions besides tags: the request has images, or it has none.
RULE_CONDITIONS: Final = ("image_analysis", "text")
# Remind to rotate a provider's API key once it is this old (repair issue; can be turned off).
CONF_KEY_ROTATION_REMINDER: Final = "key_rotation_reminder"
KEY_ROTATION_DAYS: Final = 90

# Provider subentry settings added with issue 10 (ProviderSettings field names).
CONF_RATE_LIMIT_RPH: Final = "rate_limit_rph"
CONF_BURST_ALLOWANCE: Final = "burst_allowance"
CONF_TIMEOUT_SECONDS: Final = "timeout_seconds"
# Seconds a stream may take to its first token before the next provider is tried (empty: 10 s
# for a cloud provider, 30 s for a local one).
CONF_TTFT_TIMEOUT: Final = "ttft_timeout"
CONF_MAX_RETRIES: Final = "max_retries"
CONF_FAILURE_THRESHOLD: Final = "failure_threshold"
CONF_BREAKER_TIMEOUT: Final = "circuit_breaker_timeout"
CONF_HALF_OPEN_MAX_CALLS: Final = "half_open_max_calls"
UNIT_REQUESTS_PER_HOUR: Final = "requests_per_hour"
UNIT_REQUESTS: Final = "requests"
# The collapsed form section that holds the retry, timeout and breaker settings.
SECTION_ADVANCED: Final = "advanced"
# Whether an Ollama server may serve local-only requests (default: its host is private).
CONF_LOCAL: Final = "local"
# When the subentry's API key was last set (ISO 8601, UTC), for the rotation reminder.
CONF_API_KEY_SET_AT: Final = "api_key_set_at"

# Health checks and alerts: options of the main entry (seconds), with their defaults.
CONF_LATENCY_WARNING: Final = "latency_warning"
CONF_LATENCY_CRITICAL: Final = "latency_critical"
DEFAULT_LATENCY_WARNING: Final = 5.0
DEFAULT_LATENCY_CRITICAL: Final = 10.0
# Seconds one provider's health call may take before it counts as failed.
HEALTH_CHECK_TIMEOUT: Final = 10.0
EVENT_HEALTH_ALERT: Final = "aicleaner_health_alert"
