"""Shared test fixtures."""

# Imported before Home Assistant starts: otherwise HA's test config dir shadows the package
# and setup fails with "Integration not found".
import custom_components.aicleaner  # noqa: F401


pytest_plugins = ["tests.simulator.fixtures"]
