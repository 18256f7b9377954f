"""scripts/develop's config preparation: the includes, the blueprint and the demo photo."""

from __future__ import annotations

from pathlib import Path

from homeassistant.util.yaml import load_yaml

from scripts import develop

# configuration.yaml as an older scripts/develop wrote it: no automation include.
OLD_DEVELOP_CONFIGURATION = """\
# Created by scripts/develop; edit freely, it is not overwritten.
default_config:
logger:
  default: info
"""


def test_a_fresh_config_gets_the_included_files_the_blueprint_and_the_photo(
    tmp_path: Path,
) -> None:
    develop.prepare_config(tmp_path)
    (tmp_path / "configuration.yaml").write_text(develop.CONFIGURATION_YAML)

    config = load_yaml(tmp_path / "configuration.yaml")
    assert config["automation"] == []  # the include, read from automations.yaml
    assert config["script"] == {}  # empty files, as HA writes them
    assert config["scene"] == {}
    assert (tmp_path / develop.BLUEPRINT).read_bytes() == (
        develop.REPO_ROOT / develop.BLUEPRINT
    ).read_bytes()
    photo = (tmp_path / develop.DEMO_PHOTO_IN_CONFIG).read_bytes()
    assert photo == develop.DEMO_PHOTO.read_bytes()
    assert photo.startswith(b"\xff\xd8\xff")  # a JPEG


def test_an_older_develop_config_gets_the_includes_and_the_current_blueprint(
    tmp_path: Path,
) -> None:
    (tmp_path / "configuration.yaml").write_text(OLD_DEVELOP_CONFIGURATION)
    (tmp_path / "automations.yaml").write_text("- id: mine\n  alias: Mine\n")
    stale = tmp_path / develop.BLUEPRINT
    stale.parent.mkdir(parents=True)
    stale.write_text("blueprint: {}\n")

    develop.prepare_config(tmp_path)

    config = load_yaml(tmp_path / "configuration.yaml")
    assert config["automation"] == [{"id": "mine", "alias": "Mine"}]  # kept, now loaded
    assert config["logger"] == {"default": "info"}
    assert stale.read_bytes() == (develop.REPO_ROOT / develop.BLUEPRINT).read_bytes()

    # Run again: nothing is added twice.
    develop.prepare_config(tmp_path)
    text = (tmp_path / "configuration.yaml").read_text()
    assert text.count("automation: !include automations.yaml") == 1


def test_a_configuration_the_user_wrote_is_left_alone(tmp_path: Path) -> None:
    own = "default_config:\nhomeassistant:\n  name: Mine\n"
    (tmp_path / "configuration.yaml").write_text(own)
    develop.prepare_config(tmp_path)
    assert (tmp_path / "configuration.yaml").read_text() == own
