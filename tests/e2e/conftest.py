"""Fixtures for end-to-end tests against a real `hass` process."""

from __future__ import annotations

from collections.abc import Iterator
import socket
import subprocess
import sys
import time

import pytest
import pytest_socket

from .hass_process import REPO_ROOT, HassProcess, free_port


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
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.simulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
