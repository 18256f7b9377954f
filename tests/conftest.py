"""Shared test fixtures."""

import pytest

# Imported before Home Assistant starts: otherwise HA's test config dir shadows the package
# and setup fails with "Integration not found".
import custom_components.aicleaner  # noqa: F401


@pytest.fixture(autouse=True)
def _enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """Let Home Assistant load custom_components/aicleaner in every test that starts HA.

    Tests that never start HA (router, providers, simulator) do not pay for an HA instance.
    """
    if "hass" in request.fixturenames:
        request.getfixturevalue("enable_custom_integrations")


pytest_plugins = ["tests.simulator.fixtures", "tests.secrets_collector"]
