"""Fixtures for end-to-end tests against a real `hass` process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pytest_socket

from .hass_process import HassProcess, provider_simulator


@pytest.fixture(scope="module")
def hass_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HassProcess]:
    """One onboarded Home Assistant process for the tests of a module."""
    # pytest-homeassistant-custom-component blocks sockets per test; this module-wide fixture talks to
    # the process on 127.0.0.1 only, so it lifts the block while it runs.
    pytest_socket.enable_socket()
    process = HassProcess(config_dir=tmp_path_factory.mktemp("hass-config"))
    try:
        process.start()
        process.onboard()
        yield process
    finally:
        process.stop()


@pytest.fixture
def hass_api(hass_process: HassProcess, socket_enabled: None) -> HassProcess:
    """The running process, in a test allowed to open loopback sockets."""
    return hass_process


@pytest.fixture
def simulator_port() -> Iterator[int]:
    """The provider simulator in its own process, as `scripts/develop` runs it."""
    pytest_socket.enable_socket()
    with provider_simulator() as port:
        yield port
