"""Run Home Assistant for development with aicleaner and the provider simulator (see scripts/develop)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
import json
import os
from pathlib import Path
import re
import shutil
import signal
import subprocess
import sys
import time
from typing import Any
import urllib.request

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from homeassistant.const import RESTART_EXIT_CODE  # noqa: E402

from scripts import develop_assist  # noqa: E402
from tests.e2e.hass_process import (  # noqa: E402
    LOOPBACK,
    HassProcess,
    HttpError,
    http_store_path,
    port_is_free,
    write_http_store,
)

CONFIG_DIR = REPO_ROOT / "config"
USERNAME = "dev"
PASSWORD = "dev"
# No `http:` block: HA 2026.10 keeps the listen address in .storage/http (see ensure_loopback_only).
# No `homeassistant:` block either: it would lock the location settings in the UI, and without a
# country HA raises a repair of its own. The name and country are set as onboarding sets them.
# The automation, script and scene lines are those of a default HA config: without them an
# automation saved in the UI (from the blueprint, say) is written to automations.yaml but never loaded.
CONFIGURATION_YAML = """\
# Created by scripts/develop; edit freely, it is not overwritten.
default_config:
automation: !include automations.yaml
script: !include scripts.yaml
scene: !include scenes.yaml
logger:
  default: info
  logs:
    custom_components.aicleaner: debug
"""
CREATED_BY_US = CONFIGURATION_YAML.splitlines()[0]
# What HA itself writes for a new config: the files the includes above read.
INCLUDED_FILES = {"automations.yaml": "[]\n", "scripts.yaml": "", "scenes.yaml": ""}
INCLUDES = "automation: !include automations.yaml\nscript: !include scripts.yaml\nscene: !include scenes.yaml\n"

# The demo room: a camera on a drawn kitchen (scripts/demo/kitchen.jpg), in <config>/www, the folder
# HA allows `image_path` to read by default, and the cleaning-tasks blueprint, installed.
DEMO_PHOTO = REPO_ROOT / "scripts" / "demo" / "kitchen.jpg"
DEMO_PHOTO_IN_CONFIG = Path("www") / "kitchen.jpg"
BLUEPRINT = Path("blueprints") / "automation" / "aicleaner" / "cleaning_tasks.yaml"
CAMERA_NAME = "Kitchen"
CAMERA_ENTITY = "camera.kitchen"
TODO_ENTITY = "todo.shopping_list"
# What the simulated providers answer to the blueprint's request (recognised by these words of its
# prompt): the tasks a model would see in the demo photo. Any other request gets the simulator's
# default reply.
BLUEPRINT_PROMPT_WORDS = "List the cleaning tasks"
DEMO_TASKS = (
    "Wash the dishes in the sink",
    "Wipe the spill and the crumbs off the counter",
    "Clean the frying pan",
    "Sweep the floor",
    "Empty the bin",
)


def log(message: str) -> None:
    """Say what is happening."""
    print(f"[develop] {message}", file=sys.stderr, flush=True)


# What scripts/develop wrote into configuration.yaml before HA kept the HTTP settings in storage.
LEGACY_HTTP_BLOCK = "http:\n  server_host: 127.0.0.1\n  server_port: {port}\n"


def ensure_loopback_only(port: int) -> None:
    """Make the HA in ./config listen on 127.0.0.1:`port` only, as this script promises.

    The owner's password is the well-known "dev", so HA must never listen beyond loopback. A fresh
    config gets its HTTP store before the first start (`HassProcess.start`); a config made by an
    older scripts/develop has an `http:` block in configuration.yaml, which HA 2026.10 imports as an
    unconfirmed trial and reverts five minutes later to 0.0.0.0 and [::] on 8123. The block is
    removed and the store reset to loopback on `port` (also when HASS_PORT changed).
    """
    configuration = CONFIG_DIR / "configuration.yaml"
    if configuration.exists():
        text = configuration.read_text(encoding="utf-8")
        cleaned = re.sub(
            re.escape(LEGACY_HTTP_BLOCK).replace(r"\{port\}", r"\d+"), "", text
        )
        if cleaned != text:
            configuration.write_text(cleaned, encoding="utf-8")
            log(
                "removed the http: block from configuration.yaml (HA keeps it in .storage/http now)"
            )
    store_path = http_store_path(CONFIG_DIR)
    if not store_path.exists():
        return  # a fresh config: HassProcess.start writes it
    data = json.loads(store_path.read_text(encoding="utf-8")).get("data", {})
    stable = data.get("stable", {})
    if (
        stable.get("server_host") != [LOOPBACK]
        or stable.get("server_port") != port
        or data.get("pending") is not None
        or not data.get("yaml_migration_done")
    ):
        hosts = ", ".join(stable.get("server_host") or ["all interfaces"])
        trial = " and an unconfirmed change" if data.get("pending") is not None else ""
        log(
            f"HA's HTTP config had {hosts} port {stable.get('server_port')}{trial};"
            f" setting {LOOPBACK}:{port} only"
        )
        write_http_store(CONFIG_DIR, port)


def prepare_config(config_dir: Path) -> None:
    """Give the config what the demo needs before HA starts: the included files, the blueprint and photo.

    A configuration.yaml written by an older scripts/develop lacks the automation, script and scene
    lines; they are added (only to one this script wrote, and only when it has no `automation:`).
    The blueprint is copied again when the repository's differs, so the demo runs the current one.
    """
    configuration = config_dir / "configuration.yaml"
    if configuration.exists():
        text = configuration.read_text(encoding="utf-8")
        if text.startswith(CREATED_BY_US) and not re.search(
            r"^automation\b", text, re.MULTILINE
        ):
            configuration.write_text(
                text.replace("default_config:\n", "default_config:\n" + INCLUDES, 1),
                encoding="utf-8",
            )
            log("added automation, script and scene to configuration.yaml")
    for name, content in INCLUDED_FILES.items():
        if not (config_dir / name).exists():
            (config_dir / name).write_text(content, encoding="utf-8")
    for source, target in (
        (REPO_ROOT / BLUEPRINT, config_dir / BLUEPRINT),
        (DEMO_PHOTO, config_dir / DEMO_PHOTO_IN_CONFIG),
    ):
        if target.exists() and target.read_bytes() == source.read_bytes():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        log(f"installed {target.relative_to(config_dir)}")


def start_simulator(port: int) -> subprocess.Popen[bytes] | None:
    """Start the provider simulator, the demo providers' upstream."""
    if not (REPO_ROOT / "tests" / "simulator" / "__main__.py").exists():
        log("provider simulator not found: aicleaner starts with no providers")
        return None
    log(f"provider simulator on http://127.0.0.1:{port}")
    return subprocess.Popen(
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
    )


# The simulator speaks each provider's wire protocol under a path prefix; any key not starting with
# "bad" is accepted, so the demo needs no real API key.
DEMO_PROVIDERS = (
    # (subentry type, name, path, model, key, priority): current models, so no retired-model repair.
    ("openai", "OpenAI (simulated)", "/openai/v1", "gpt-5.4-mini", "sk-demo", 1),
    (
        "anthropic",
        "Anthropic (simulated)",
        "/anthropic",
        "claude-haiku-5-5",
        "sk-ant-demo",
        2,
    ),
    ("gemini", "Gemini (simulated)", "/gemini", "gemini-3.5-flash", "demo-key", 3),
    ("ollama", "Ollama (simulated)", "/ollama", "llava", None, 4),
)


def add_demo_providers(hass: HassProcess, entry_id: str, sim_port: int) -> None:
    """Add the simulator's providers through the same subentry flow a user goes through."""
    for kind, name, path, model, key, priority in DEMO_PROVIDERS:
        flow = hass.request(
            "POST",
            "/api/config/config_entries/subentries/flow",
            {"handler": [entry_id, kind]},
        )
        connection: dict[str, object] = {
            "name": name,
            "base_url": f"http://127.0.0.1:{sim_port}{path}",
        }
        if key is not None:
            connection["api_key"] = key
        step = hass.request(
            "POST",
            f"/api/config/config_entries/subentries/flow/{flow['flow_id']}",
            connection,
        )
        if step.get("step_id") != "settings":
            log(f"could not add {name}: {step.get('errors')}")
            continue
        hass.request(
            "POST",
            f"/api/config/config_entries/subentries/flow/{flow['flow_id']}",
            {
                "model": model,
                "enabled": True,
                "priority": priority,
                "weight": 1,
                "daily_budget": 1.0,
            },
        )
        log(f"demo provider {name} -> simulator {path}")


def add_demo_room(hass: HassProcess) -> None:
    """Add the kitchen camera (Local file, on the demo photo) and a to-do list, once each."""
    domains = {
        entry["domain"]
        for entry in hass.request("GET", "/api/config/config_entries/entry")
    }
    photo = str((hass.config_dir / DEMO_PHOTO_IN_CONFIG).resolve())
    for domain, answer in (
        ("local_file", {"name": CAMERA_NAME, "file_path": photo}),
        ("shopping_list", {}),
    ):
        if domain in domains:
            continue
        flow = hass.request(
            "POST", "/api/config/config_entries/flow", {"handler": domain}
        )
        try:
            result = hass.request(
                "POST", f"/api/config/config_entries/flow/{flow['flow_id']}", answer
            )
        except HttpError as err:
            if "name" not in answer or "'name'" not in str(err):
                raise
            # HA 2026.11's Local file form has no name: the camera is renamed below.
            result = hass.request(
                "POST",
                f"/api/config/config_entries/flow/{flow['flow_id']}",
                {k: v for k, v in answer.items() if k != "name"},
            )
        if result.get("type") != "create_entry":
            log(f"could not add {domain}: {result.get('errors') or result}")
            continue
        log(f"demo {domain} added")
    registry = hass.websocket_command({"type": "config/entity_registry/list"})
    named = any(e["entity_id"] == CAMERA_ENTITY for e in registry)
    unnamed = next(
        (
            e
            for e in registry
            if e["platform"] == "local_file" and e["entity_id"].startswith("camera.")
        ),
        None,
    )
    if not named and unnamed is not None:
        # Added without a name (HA 2026.11): the demo's camera is still camera.kitchen.
        hass.websocket_command(
            {
                "type": "config/entity_registry/update",
                "entity_id": unnamed["entity_id"],
                "new_entity_id": CAMERA_ENTITY,
                "name": CAMERA_NAME,
            }
        )
        registry = hass.websocket_command({"type": "config/entity_registry/list"})
    # The camera in the Kitchen area (onboarding makes it): the blueprint names the room after it.
    areas = hass.websocket_command({"type": "config/area_registry/list"})
    kitchen = next((a["area_id"] for a in areas if a["name"] == CAMERA_NAME), None)
    camera = next((e for e in registry if e["entity_id"] == CAMERA_ENTITY), None)
    if camera is not None and kitchen is not None and camera["area_id"] is None:
        hass.websocket_command(
            {
                "type": "config/entity_registry/update",
                "entity_id": CAMERA_ENTITY,
                "area_id": kitchen,
            }
        )


def script_simulator_replies(sim_port: int) -> None:
    """Make every simulated provider answer the blueprint's request with the demo photo's tasks.

    The simulator keeps replies in memory, so this runs at every start. Other requests keep the
    simulator's default reply.
    """
    text = json.dumps({"tasks": list(DEMO_TASKS)})
    for kind, *_rest in DEMO_PROVIDERS:
        request = urllib.request.Request(
            f"http://127.0.0.1:{sim_port}/_sim/reply",
            data=json.dumps(
                {"provider": kind, "text": text, "when": BLUEPRINT_PROMPT_WORDS}
            ).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(request, timeout=10):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)  # the simulator is still starting


# The dashboard of the README's "Dashboard" section, made for the providers configured. Rows are
# named short: the card's title says whose they are, so "AICleaner Total cost today" or
# "OpenAI (simulated) Success rate" (device name + entity name, cut in a narrow card) need not show.
DASHBOARD_URL = "ai-providers"
ROUTER_ROWS = (
    ("total_cost_today", "Cost today"),
    ("total_requests_today", "Requests today"),
    ("healthy_providers", "Healthy providers"),
    ("cache_hit_rate", "Cache hit rate"),
    ("selection_strategy", "Strategy"),
)
PROVIDER_ROWS = (
    ("status", "Status"),
    ("problem", "Problem"),
    ("latency", "Latency"),
    ("success_rate", "Success rate"),
    ("requests_today", "Requests today"),
    ("cost_today", "Cost today"),
)


def dashboard_config(
    router: dict[str, str], providers: list[tuple[str, dict[str, str], float | None]]
) -> dict[str, Any]:
    """Return the Lovelace config: router figures, cost per day, budget left, then a card per provider.

    `router` maps an entity key (`total_cost_today`...) to its entity id; `providers` holds each
    provider's name, its entity ids by key, and its daily budget (None: no gauge).
    """
    cards: list[dict[str, Any]] = [
        {
            "type": "entities",
            "title": "Router",
            "entities": [
                {"entity": router[key], "name": name}
                for key, name in ROUTER_ROWS
                if key in router
            ],
        },
        {
            "type": "statistics-graph",
            "title": "Cost per day",
            "entities": [
                {"entity": ids["cost_today"], "name": name}
                for name, ids, _ in providers
            ],
            "stat_types": ["change"],
            "period": "day",
            "days_to_show": 30,
            "chart_type": "bar",
        },
    ]
    gauges = [
        {
            "type": "gauge",
            "name": name,
            "entity": ids["budget_remaining"],
            "min": 0,
            "max": budget,
            "severity": {"green": budget / 2, "yellow": budget / 5, "red": 0},
        }
        for name, ids, budget in providers
        if budget
    ]
    if gauges:
        cards.append(
            {
                "type": "grid",
                "title": "Budget left today",
                "columns": 2,
                "cards": gauges,
            }
        )
    cards += [
        {
            "type": "entities",
            "title": name,
            "state_color": True,
            "entities": [
                {"entity": ids[key], "name": row}
                for key, row in PROVIDER_ROWS
                if key in ids
            ],
        }
        for name, ids, _ in providers
    ]
    return {
        "title": "AICleaner",
        "views": [
            {
                "title": "AI providers",
                "path": "providers",
                "icon": "mdi:robot-outline",
                "cards": cards,
            }
        ],
    }


def ensure_dashboard(hass: HassProcess) -> None:
    """Make the AICleaner dashboard show the providers there are now (at every start).

    It is rebuilt each time, so a provider added or removed since shows up; edits made to it in
    the UI are replaced (copy it to a dashboard of your own to keep them). It waits for HA to have
    finished starting: the HTTP API answers before the providers' entities have states.
    """
    hass.wait_until_running(timeout=300)
    (entry,) = hass.request("GET", "/api/config/config_entries/entry?domain=aicleaner")
    subentries = hass.websocket_command(
        {"type": "config_entries/subentries/list", "entry_id": entry["entry_id"]}
    )
    wanted = {sub["subentry_id"] for sub in subentries}
    # Entities of a subentry added a moment ago may still be on their way.
    deadline = time.monotonic() + 30
    while True:
        registry = hass.websocket_command({"type": "config/entity_registry/list"})
        ours = [e for e in registry if e["platform"] == "aicleaner"]
        if {
            e["config_subentry_id"] for e in ours
        } >= wanted or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    by_owner: dict[str, dict[str, str]] = {}
    for item in ours:
        owner = item["config_subentry_id"] or entry["entry_id"]
        key = item["unique_id"].removeprefix(f"{owner}_")
        by_owner.setdefault(owner, {})[key] = item["entity_id"]
    providers: list[tuple[str, dict[str, str], float | None]] = []
    for sub in subentries:
        ids = by_owner.get(sub["subentry_id"])
        # An Assist agent is a subentry too, with entities of its own but no provider's.
        if not ids or sub["subentry_type"] == "conversation":
            continue
        budget = hass.request("GET", f"/api/states/{ids['budget_remaining']}")[
            "attributes"
        ].get("daily_budget")
        providers.append((sub["title"], ids, budget))
    if not providers:
        log("no provider yet: the dashboard is made once one is added (next start)")
        return
    dashboards = hass.websocket_command({"type": "lovelace/dashboards/list"})
    if not any(board["url_path"] == DASHBOARD_URL for board in dashboards):
        hass.websocket_command(
            {
                "type": "lovelace/dashboards/create",
                "url_path": DASHBOARD_URL,
                "title": "AICleaner",
                "icon": "mdi:robot-outline",
                "mode": "storage",
                "show_in_sidebar": True,
                "require_admin": False,
            }
        )
    hass.websocket_command(
        {
            "type": "lovelace/config/save",
            "url_path": DASHBOARD_URL,
            "config": dashboard_config(by_owner.get(entry["entry_id"], {}), providers),
        }
    )
    log(
        f"dashboard (rebuilt at every start, for {len(providers)} providers): {hass.url}/{DASHBOARD_URL}"
    )


@contextmanager
def demo_hass(
    config_dir: Path,
    sim_port: int | None,
    *,
    python: str | None = None,
    timeout: float = 180,
) -> Iterator[HassProcess]:
    """Run a hass in `config_dir` set up as this script sets it up; stop it at the end.

    For the end-to-end tests: `sim_port` None adds no demo provider; `python` runs another
    release's hass.
    """
    prepare_config(config_dir)
    hass = HassProcess(
        config_dir=config_dir,
        configuration=CONFIGURATION_YAML,
        python=python or sys.executable,
    )
    try:
        hass.start(timeout=timeout)
        set_up(hass, sim_port)
        hass.wait_until_running(timeout=timeout)
        yield hass
    finally:
        hass.stop()


def set_up(hass: HassProcess, sim_port: int | None) -> None:
    """Onboard once, then make sure the aicleaner entry (and its demo providers) exist."""
    if hass.onboarded():
        hass.login(USERNAME, PASSWORD)
    else:
        log(f"onboarding: creating user {USERNAME!r} with password {PASSWORD!r}")
        hass.onboard(USERNAME, PASSWORD)
        hass.finish_onboarding()
        # What the onboarding's location step saves; costs are in USD, hence the US.
        hass.websocket_command(
            {
                "type": "config/core/update",
                "location_name": "AICleaner dev",
                "country": "US",
                "currency": "USD",
            }
        )
    entries = hass.request("GET", "/api/config/config_entries/entry?domain=aicleaner")
    if not entries:
        log("adding the aicleaner entry through its config flow")
        flow = hass.request(
            "POST", "/api/config/config_entries/flow", {"handler": "aicleaner"}
        )
        result = hass.request(
            "POST", f"/api/config/config_entries/flow/{flow['flow_id']}", {}
        )
        if sim_port is not None:
            add_demo_providers(hass, result["result"]["entry_id"], sim_port)
    add_demo_room(hass)
    if sim_port is not None:
        script_simulator_replies(sim_port)
    ensure_dashboard(hass)
    # The Assist agent over the simulated providers, as the default Assist pipeline's agent.
    entry_id = hass.request("GET", "/api/config/config_entries/entry?domain=aicleaner")[
        0
    ]
    develop_assist.set_up_assist(hass, entry_id["entry_id"], sim_port)


def main() -> int:
    """Start everything, keep it running until Ctrl-C."""
    hass_port = int(os.environ.get("HASS_PORT", "8123"))
    sim_port = int(os.environ.get("SIM_PORT", "8900"))
    CONFIG_DIR.mkdir(exist_ok=True)
    for port in (hass_port, sim_port):
        if not port_is_free(port):
            log(
                f"port {port} on 127.0.0.1 is in use; stop what uses it or set HASS_PORT / SIM_PORT"
            )
            return 1
    ensure_loopback_only(hass_port)
    prepare_config(CONFIG_DIR)
    simulator = start_simulator(sim_port)
    hass = HassProcess(
        config_dir=CONFIG_DIR,
        port=hass_port,
        configuration=CONFIGURATION_YAML,
        show_output=True,
    )

    def _stop(signum: int, _frame: object) -> None:
        # Raised wherever the main thread is (startup included), so `finally` always cleans up.
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        log(f"starting Home Assistant with config in {CONFIG_DIR}")
        hass.start(timeout=300)
        set_up(hass, sim_port if simulator is not None else None)
        log(
            f"ready: http://127.0.0.1:{hass_port}  (user {USERNAME}, password {PASSWORD}); Ctrl-C stops"
        )
        while True:
            while hass.process is not None and hass.process.poll() is None:
                time.sleep(0.5)
            # HA restarts (from the UI, or to apply a new HTTP config) by exiting with this code and
            # leaving the start to its service manager: here, that is this script.
            if hass.process is None or hass.process.returncode != RESTART_EXIT_CODE:
                break
            log("Home Assistant asked for a restart; starting it again")
            hass.start(timeout=300)
        if hass.process is not None:
            log(f"Home Assistant exited with code {hass.process.returncode}")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        log("stopping")
        hass.stop()
        if simulator is not None:
            simulator.terminate()
            try:
                simulator.wait(timeout=10)
            except subprocess.TimeoutExpired:
                simulator.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
