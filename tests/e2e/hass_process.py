"""Start a real Home Assistant process (`python -m homeassistant`) with aicleaner linked in.

Used by the end-to-end tests and by scripts/develop: the process is the same `hass` a user runs, in a
temporary config dir, bound to 127.0.0.1 on a free port, talking REST like the frontend does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import socket
import subprocess
import sys
import time
from typing import Any
import urllib.error
import urllib.parse
import urllib.request

import aiohttp
from homeassistant.components.http import config as http_config

REPO_ROOT = Path(__file__).resolve().parents[2]
INTEGRATION_DIR = REPO_ROOT / "custom_components" / "aicleaner"

CONFIGURATION_YAML = """\
homeassistant:
  name: AICleaner e2e
  time_zone: UTC
  country: US
  unit_system: metric
api:
config:
onboarding:
logger:
  default: warning
  logs:
    custom_components.aicleaner: debug
"""


LOOPBACK = "127.0.0.1"


def http_store_path(config_dir: Path) -> Path:
    """Where Home Assistant keeps its HTTP server settings (listen address and port)."""
    return config_dir / ".storage" / http_config.STORAGE_KEY


def http_store_data(port: int, host: str = LOOPBACK) -> dict[str, Any]:
    """The HTTP store of an HA whose user set `host`:`port` and confirmed it.

    Since 2026.10 HA keeps the HTTP settings in `.storage/http`, not in configuration.yaml: an
    `http:` block is imported once as an unconfirmed trial (a "Confirm new HTTP server configuration"
    dialog, a deprecation repair), reverted and restarted after five minutes unless confirmed,
    leaving HA on the default 0.0.0.0 and [::]. Settings → System → Network followed by the confirm
    step stores the config as `stable` with nothing `pending`; this is that end state, written before
    the first start so HA listens on `host` only from the start.
    """
    stable = http_config.HTTP_STORAGE_SCHEMA(
        {"server_host": [host], "server_port": port}
    )
    return {
        "version": http_config.STORAGE_VERSION,
        "minor_version": http_config.STORAGE_MINOR_VERSION,
        "key": http_config.STORAGE_KEY,
        "data": {
            http_config.KEY_STABLE: {
                **stable,
                http_config.HTTP_CONFIG_CREATED_AT: datetime.now(UTC).isoformat(),
                http_config.HTTP_CONFIG_ERROR: None,
                http_config.HTTP_CONFIG_ERROR_MESSAGE: None,
            },
            http_config.KEY_PENDING: None,
            http_config.KEY_YAML_MIGRATION_DONE: True,
        },
    }


def write_http_store(config_dir: Path, port: int, host: str = LOOPBACK) -> None:
    """Write `http_store_data` where HA reads it, private to its owner as HA writes it."""
    path = http_store_path(config_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(http_store_data(port, host), file, indent=2)


def listening_addresses(port: int) -> set[str]:
    """Every local address a TCP socket listens on for `port`, IPv4 and IPv6 (from /proc/net)."""
    addresses: set[str] = set()
    for table in ("tcp", "tcp6"):
        path = Path("/proc/net") / table
        if not path.exists():
            continue
        for line in path.read_text(encoding="ascii").splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word of the address in host byte order.
            packed = (
                b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                if sys.byteorder == "little"
                else raw
            )
            family = socket.AF_INET if len(packed) == 4 else socket.AF_INET6
            addresses.add(socket.inet_ntop(family, packed))
    return addresses


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def provider_simulator(*, record: bool = True) -> Iterator[int]:
    """Run the provider simulator in its own process, as `scripts/develop` does; yield its port.

    `record=False` keeps no record of the requests, for tests that send thousands of them.
    """
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.simulator",
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            *(() if record else ("--no-record",)),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((LOOPBACK, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As HA binds: connections of a server that just stopped (TIME_WAIT) do not hold the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class HttpError(Exception):
    """A non-2xx answer from Home Assistant."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body


@dataclass
class HassProcess:
    """A running `hass` process and a small REST client for it."""

    config_dir: Path
    port: int = field(default_factory=free_port)
    # configuration.yaml, formatted with {port}; written only when the config dir has none. The
    # listen address is not in it: `start` writes it to HA's HTTP store (`write_http_store`).
    configuration: str = CONFIGURATION_YAML
    # Where hass's own console output goes: discarded for tests (the log file has it all).
    show_output: bool = False
    token: str | None = None
    process: subprocess.Popen[bytes] | None = None
    # The interpreter whose `python -m homeassistant` runs: the project venv's (the pinned release), or
    # another venv's, such as the newest release's (tests/e2e/test_newest_release.py).
    python: str = sys.executable

    @property
    def url(self) -> str:
        """Base URL of the HTTP server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """HA's log file."""
        return self.config_dir / "home-assistant.log"

    def start(self, timeout: float = 90.0) -> None:
        """Write the config, link the integration in, start hass and wait for its HTTP API."""
        custom = self.config_dir / "custom_components"
        custom.mkdir(parents=True, exist_ok=True)
        link = custom / "aicleaner"
        if not link.exists():
            link.symlink_to(INTEGRATION_DIR, target_is_directory=True)
        configuration = self.config_dir / "configuration.yaml"
        if not configuration.exists():
            configuration.write_text(
                self.configuration.format(port=self.port), encoding="utf-8"
            )
        if not http_store_path(self.config_dir).exists():
            write_http_store(self.config_dir, self.port)
        # --skip-pip: every requirement is preinstalled from requirements_test.txt; a run-time install
        # would also downgrade the test-only openai SDK to the version HA's cloud pins.
        output = None if self.show_output else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [
                self.python,
                "-m",
                "homeassistant",
                "--config",
                str(self.config_dir),
                "--skip-pip",
            ],
            stdout=output,
            stderr=output,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"hass exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                self.request("GET", "/api/", auth=False)
            except HttpError:
                return  # 401: the HTTP API answers; that is all "up" means here
            except OSError:
                time.sleep(0.5)
                continue
            return
        raise TimeoutError(f"hass did not answer within {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop hass the way a service manager does (SIGTERM), then make sure it is gone."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def wait_until_running(self, timeout: float = 90.0) -> None:
        """Wait until hass has finished starting (needs a token).

        The HTTP API answers before that; until then hass has no SIGTERM handler, so `stop` kills it
        without the final writes of its stores.
        """
        deadline = time.monotonic() + timeout
        while self.request("GET", "/api/config")["state"] != "RUNNING":
            if time.monotonic() > deadline:
                raise TimeoutError(f"hass did not finish starting within {timeout}s")
            time.sleep(0.5)

    def restart(self, timeout: float = 90.0) -> None:
        """Restart a started hass on the same config dir, as a restart from the UI does."""
        self.wait_until_running(timeout)
        if self.token:
            # HA's auth store saves a new token a second after it is made. A stop within that
            # second should write it too (the final write), but once in CI the restarted hass had
            # no auth store and refused the token: wait for the file rather than rely on that.
            self.wait_for_storage("auth", timeout)
        self.stop()
        self.start(timeout=timeout)
        self.wait_until_running(timeout)

    def wait_for_storage(self, key: str, timeout: float = 30.0) -> None:
        """Wait until hass has written its `.storage/<key>` file."""
        path = self.config_dir / ".storage" / key
        deadline = time.monotonic() + timeout
        while not path.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"hass did not write {path} within {timeout}s")
            time.sleep(0.2)

    def log_tail(self, lines: int = 60) -> str:
        """The end of HA's log, for failure messages."""
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(
            self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[
                -lines:
            ]
        )

    def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        form: dict[str, str] | None = None,
        auth: bool = True,
    ) -> Any:
        """Send one request; return the decoded JSON answer."""
        headers = {}
        data: bytes | None = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif payload is not None:
            data = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(
            self.url + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                body = resp.read().decode()
        except urllib.error.HTTPError as err:
            raise HttpError(err.code, err.read().decode(errors="replace")) from None
        return json.loads(body) if body else None

    def websocket_command(self, command: dict[str, Any]) -> Any:
        """Send one command over the websocket API, as the frontend does; return its result."""

        async def _run() -> Any:
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(f"{self.url}/api/websocket") as ws,
            ):
                assert (await ws.receive_json())["type"] == "auth_required"
                await ws.send_json({"type": "auth", "access_token": self.token})
                assert (await ws.receive_json())["type"] == "auth_ok"
                await ws.send_json({"id": 1, **command})
                reply = await ws.receive_json()
                if not reply.get("success"):
                    raise HttpError(400, json.dumps(reply))
                return reply["result"]

        return asyncio.run(_run())

    def onboarded(self) -> bool:
        """Whether the owner account exists already."""
        try:
            steps = self.request("GET", "/api/onboarding", auth=False)
        except HttpError as err:
            if err.status == 404:  # onboarding is over: HA no longer serves its views
                return True
            raise
        return any(step["step"] == "user" and step["done"] for step in steps)

    def onboard(
        self, username: str = "owner", password: str = "e2e-password-123"
    ) -> None:
        """Create the owner through the onboarding API and log in with an access token."""
        client_id = f"{self.url}/"
        created = self.request(
            "POST",
            "/api/onboarding/users",
            {
                "client_id": client_id,
                "name": "Owner",
                "username": username,
                "password": password,
                "language": "en",
            },
            auth=False,
        )
        self._take_token(created["auth_code"])

    def finish_onboarding(self) -> None:
        """Complete the onboarding steps after the owner, so the frontend shows its login page."""
        self.request("POST", "/api/onboarding/core_config", {})
        self.request("POST", "/api/onboarding/analytics", {})
        self.request(
            "POST",
            "/api/onboarding/integration",
            {
                "client_id": f"{self.url}/",
                "redirect_uri": f"{self.url}/?auth_callback=1",
            },
        )

    def login(self, username: str, password: str) -> None:
        """Log in through the login flow the frontend uses and keep the access token."""
        client_id = f"{self.url}/"
        flow = self.request(
            "POST",
            "/auth/login_flow",
            {
                "client_id": client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": client_id,
            },
            auth=False,
        )
        result = self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": client_id, "username": username, "password": password},
            auth=False,
        )
        self._take_token(result["result"])

    def _take_token(self, code: str) -> None:
        """Exchange an authorization code for an access token, as the frontend does."""
        tokens = self.request(
            "POST",
            "/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": f"{self.url}/",
            },
            auth=False,
        )
        self.token = tokens["access_token"]
