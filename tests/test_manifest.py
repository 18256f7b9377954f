"""Checks that hassfest and the HACS action would make, run locally on every test run."""

from __future__ import annotations

import ast
import json
from pathlib import Path
import re
from typing import Any

from homeassistant.const import __version__ as HA_VERSION
import yaml

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / "aicleaner"

REQUIRED_MANIFEST_KEYS = {
    "domain",
    "name",
    "codeowners",
    "config_flow",
    "documentation",
    "integration_type",
    "iot_class",
    "issue_tracker",
    "version",
}
# https://hacs.xyz/docs/publish/start/#hacsjson
HACS_KEYS = {
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "hacs",
    "persistent_directory",
    "render_readme",
}


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _strings() -> dict[str, Any]:
    return _json(INTEGRATION / "strings.json")


def test_manifest_has_required_keys_in_hassfest_order() -> None:
    manifest = _json(INTEGRATION / "manifest.json")
    assert manifest.keys() >= REQUIRED_MANIFEST_KEYS
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert manifest["domain"] == "aicleaner"
    assert manifest["config_flow"] is True
    assert manifest["integration_type"] == "service"
    # HA core ships aiohttp, voluptuous/probatio, cryptography and Pillow: nothing to install.
    assert manifest.get("requirements", []) == []


def test_english_translation_is_a_copy_of_strings_json() -> None:
    assert _json(INTEGRATION / "translations" / "en.json") == _strings()


def test_brand_images_exist() -> None:
    for name in ("icon.png", "logo.png"):
        data = (INTEGRATION / "brand" / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n"), name


def test_every_action_is_translated_and_has_an_icon() -> None:
    services_file = INTEGRATION / "services.yaml"
    services: dict[str, Any] = (
        yaml.safe_load(services_file.read_text(encoding="utf-8")) or {}
        if services_file.exists()
        else {}
    )
    strings = _strings().get("services", {})
    icons = _json(INTEGRATION / "icons.json").get("services", {})
    assert set(services) == set(strings), "services.yaml and strings.json disagree"
    for service, spec in services.items():
        assert strings[service].get("name"), service
        assert strings[service].get("description"), service
        assert service in icons, f"{service} has no icon in icons.json"
        for field in (spec or {}).get("fields", {}):
            assert field in strings[service].get("fields", {}), f"{service}.{field}"


def _translation_keys_in_code() -> list[tuple[str, str, str]]:
    """(section, key, where) for each literal translation_key passed in the integration's code."""
    found: list[tuple[str, str, str]] = []
    for path in sorted(INTEGRATION.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            kwargs = {kw.arg: kw.value for kw in node.keywords if kw.arg}
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            value = kwargs.get("translation_key")
            # `_invalid(key, ...)`: the modules' shorthand for a translated ServiceValidationError.
            if name == "_invalid" and node.args:
                value, kwargs["translation_domain"] = node.args[0], node.args[0]
            if not isinstance(value, ast.Constant) or not isinstance(value.value, str):
                continue
            # `number_box` and `whole_box` are the flows' number-box helpers; they pass the key
            # to a selector.
            if name.endswith("SelectorConfig") or name in ("number_box", "whole_box"):
                section = "selector"
            elif name == "async_create_issue":
                section = "issues"
            elif name.endswith("EntityDescription"):
                section = f"entity.{path.stem}"
            elif "translation_domain" in kwargs:
                section = "exceptions"
            else:
                section = "?"
            found.append((section, value.value, f"{path.name}:{node.lineno}"))
    return found


def test_every_translation_key_used_in_code_exists_in_strings() -> None:
    strings = _strings()
    keys = _translation_keys_in_code()
    assert keys, "expected at least the config flow's selector translation key"
    for section, key, where in keys:
        node: Any = strings
        for part in section.split("."):
            assert part in node, f"{where}: section {section!r} missing for {key!r}"
            node = node[part]
        assert key in node, f"{where}: {section}.{key} is not in strings.json"
        if section == "exceptions":
            # HA reads exceptions.<key>.message; hassfest wants no final period.
            message = node[key].get("message") if isinstance(node[key], dict) else None
            assert message, f"{where}: exceptions.{key} needs a 'message'"
            assert not message.endswith("."), (
                f"exceptions.{key}.message ends with a period"
            )


def test_hacs_json_has_only_known_keys_and_matches_tested_ha() -> None:
    hacs = _json(ROOT / "hacs.json")
    assert set(hacs) <= HACS_KEYS
    assert hacs["name"]
    # The minimum HA version HACS enforces is the one this test suite runs against.
    assert hacs["homeassistant"] == HA_VERSION


# The rules of HA's integration quality scale, as core's script/hassfest/quality_scale.py lists them
# (docs-conditions and docs-triggers joined Bronze in 2025).
QUALITY_SCALE_RULES = {
    "bronze": {
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow-test-coverage",
        "config-flow",
        "dependency-transparency",
        "docs-actions",
        "docs-conditions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "docs-triggers",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
    },
    "silver": {
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
    },
    "gold": {
        "devices",
        "diagnostics",
        "discovery-update-info",
        "discovery",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
    },
    "platinum": {"async-dependency", "inject-websession", "strict-typing"},
}


def test_quality_scale_lists_every_rule_once_with_a_status() -> None:
    rules = yaml.safe_load(
        (INTEGRATION / "quality_scale.yaml").read_text(encoding="utf-8")
    )["rules"]
    assert set(rules) == set().union(*QUALITY_SCALE_RULES.values())
    for name, rule in rules.items():
        status = rule if isinstance(rule, str) else rule["status"]
        assert status in ("done", "todo", "exempt"), name
        if status == "exempt":
            # An exemption says why.
            assert isinstance(rule, dict), name
            assert rule.get("comment"), name


# hassfest's own pattern (script/hassfest/translations.py RE_URL): strings name addresses through
# description placeholders.
HASSFEST_URL = re.compile(
    r"(((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5):\/\/|www\.)"
    r"[a-z0-9]+([\-\.]{1}[a-z0-9]+)*\.[a-z]{2,5}(:[0-9]{1,5})?(\/.*)?)",
    re.IGNORECASE,
)


def _strings_leaves(node: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(node, dict):
        return [
            leaf
            for key, value in node.items()
            for leaf in _strings_leaves(value, f"{path}.{key}".lstrip("."))
        ]
    return [(path, node)]


def test_strings_pass_hassfests_url_and_fixable_issue_rules() -> None:
    strings = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))
    with_url = [
        path for path, text in _strings_leaves(strings) if HASSFEST_URL.search(text)
    ]
    assert with_url == []
    # An issue has either a description or a fix flow (whose step describes it), not both.
    both = [
        key
        for key, issue in strings["issues"].items()
        if "description" in issue and "fix_flow" in issue
    ]
    assert both == []
