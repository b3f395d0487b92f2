from __future__ import annotations

from pathlib import Path

import pytest

from shelfcam.config import Settings, documented_settings, load_settings
from shelfcam.errors import ConfigError


def test_defaults_work_without_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("SHELFCAM_"):
            monkeypatch.delenv(key)
    settings = load_settings()
    assert settings.port == 8000
    assert settings.database_url is None
    assert settings.event_retention_days == 7
    assert settings.staging_retention_hours == 24


def test_env_overrides_file_and_arguments_override_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "shelfcam.toml"
    config.write_text('port = 9000\ndata_dir = "/srv/shelfcam"\n')
    assert load_settings(config).port == 9000
    assert load_settings(config).data_dir == Path("/srv/shelfcam")
    monkeypatch.setenv("SHELFCAM_PORT", "9100")
    assert load_settings(config).port == 9100
    assert load_settings(config, port=9200).port == 9200


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text("event_retention_days = 3\n")
    monkeypatch.setenv("SHELFCAM_CONFIG", str(config))
    assert load_settings().event_retention_days == 3


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        ("SHELFCAM_PORT", "eighty", "SHELFCAM_PORT"),
        ("SHELFCAM_PORT", "70000", "less than or equal to 65535"),
        ("SHELFCAM_EVENT_RETENTION_DAYS", "0", "SHELFCAM_EVENT_RETENTION_DAYS"),
        ("SHELFCAM_DATABASE_URL", "mysql://x", "postgresql://"),
        ("SHELFCAM_LOG_LEVEL", "LOUD", "SHELFCAM_LOG_LEVEL"),
    ],
)
def test_invalid_settings_name_the_setting_and_the_form(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError, match=expected) as info:
        load_settings()
    assert env in info.value.detail


def test_unknown_key_in_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("prot = 1\n")
    with pytest.raises(ConfigError, match="unknown setting 'prot'"):
        load_settings(config)


def test_broken_toml_is_explained(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("port = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(config)
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_every_setting_has_a_description() -> None:
    described = documented_settings()
    assert set(described) == {f"SHELFCAM_{name.upper()}" for name in Settings.model_fields}
    assert all(text.strip() for text in described.values())
