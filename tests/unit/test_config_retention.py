"""The retention settings: bounds, and the disk guard always above the ingest floor."""

from __future__ import annotations

import pytest

from shelfcam.config import load_settings
from shelfcam.errors import ConfigError


def test_defaults() -> None:
    settings = load_settings()
    assert settings.retention_hour == 3
    assert settings.capture_retention_days is None
    assert settings.retention_files_per_second == 5000
    assert (settings.min_free_disk_mb, settings.disk_guard_floor_mb) == (200, 500)


def test_a_guard_set_below_the_ingest_floor_is_refused() -> None:
    with pytest.raises(ConfigError, match="SHELFCAM_DISK_GUARD_FREE_MB") as info:
        load_settings(disk_guard_free_mb=300, min_free_disk_mb=400)
    assert "more than SHELFCAM_MIN_FREE_DISK_MB (400)" in info.value.detail
    assert load_settings(disk_guard_free_mb=401, min_free_disk_mb=400).disk_guard_floor_mb == 401


def test_the_default_guard_follows_a_raised_ingest_floor() -> None:
    settings = load_settings(min_free_disk_mb=2000)
    assert settings.disk_guard_floor_mb == 2300
    assert load_settings(min_free_disk_mb=2000, disk_guard_free_mb=0).disk_guard_floor_mb == 0


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("SHELFCAM_RETENTION_HOUR", "24"),
        ("SHELFCAM_RETENTION_FILES_PER_SECOND", "0"),
        ("SHELFCAM_CAPTURE_RETENTION_DAYS", "0"),
        ("SHELFCAM_DISK_GUARD_FREE_MB", "-1"),
    ],
)
def test_bounds(monkeypatch: pytest.MonkeyPatch, env: str, value: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError, match=env):
        load_settings()
