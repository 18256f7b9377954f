"""The HTTP server of a real `hass` started like the tests and scripts/develop start it.

HA 2026.10 keeps its listen address in `.storage/http`. A config that is only on trial (`pending`,
e.g. an `http:` block imported from configuration.yaml) shows "Confirm new HTTP server
configuration" on every page and is reverted, with a restart onto 0.0.0.0 and [::], five minutes
later unless confirmed. What decides that revert is the slot HA started from: it is scheduled only
when that slot is `pending` (homeassistant/components/http/config.py, `async_load_config`), and
`http/config` reports it as `active_config_type` and `revert_at`. So these tests assert on that
state, before and after a restart, instead of waiting five minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from homeassistant.util.yaml import load_yaml
import pytest
import pytest_socket

from scripts import develop

from .hass_process import CONFIGURATION_YAML, LOOPBACK, HassProcess, listening_addresses


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(CONFIGURATION_YAML, id="e2e-config"),
        pytest.param(develop.CONFIGURATION_YAML, id="develop-config"),
    ],
)
def hass_process(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HassProcess]:
    """A fresh, onboarded hass with the configuration.yaml of the e2e tests or of scripts/develop."""
    pytest_socket.enable_socket()
    config_dir = tmp_path_factory.mktemp("hass-http")
    if request.param == develop.CONFIGURATION_YAML:
        develop.prepare_config(
            config_dir
        )  # the files its includes read, as scripts/develop writes them
    process = HassProcess(config_dir=config_dir, configuration=request.param)
    try:
        process.start(timeout=180)
        process.onboard()
        process.wait_until_running(timeout=180)
        yield process
    finally:
        process.stop()


def assert_http_server_as_configured(hass: HassProcess) -> None:
    """Loopback only, from the confirmed config, with nothing on trial and no revert scheduled."""
    assert listening_addresses(hass.port) == {LOOPBACK}

    config: dict[str, Any] = hass.websocket_command({"type": "http/config"})
    # What the frontend's confirmation dialog and HA's auto-revert hang on.
    assert config["active_config_type"] == "stable", config
    assert config["pending"] is None, config
    assert config["revert_at"] is None, config
    assert config["stable"]["server_host"] == [LOOPBACK], config
    assert config["stable"]["server_port"] == hass.port, config
    assert config["stable"]["error"] is None, config

    issues = hass.websocket_command({"type": "repairs/list_issues"})["issues"]
    assert [issue for issue in issues if issue["domain"] == "http"] == []


def test_configuration_yaml_leaves_http_to_the_store(hass_api: HassProcess) -> None:
    # An `http:` block would be imported as a trial config and then ignored with a repair.
    configuration = load_yaml(hass_api.config_dir / "configuration.yaml")
    assert isinstance(configuration, dict)
    assert "http" not in configuration


def test_http_server_listens_on_loopback_with_a_confirmed_config(
    hass_api: HassProcess,
) -> None:
    assert_http_server_as_configured(hass_api)


def test_http_config_survives_a_restart(hass_api: HassProcess) -> None:
    hass_api.restart(timeout=180)
    assert_http_server_as_configured(hass_api)
