"""The systemd units and the env file example under deploy/ stay consistent with shelfcam:
the service user, the hardening, the stop that leaves the embedded PostgreSQL to shelfcam,
and only settings that exist; and systemd's own verifier accepts every unit."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from shelfcam.config import documented_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
INSTALLED_AT = "/opt/shelfcam/.venv/bin/shelfcam"
SERVICES = sorted(DEPLOY.glob("*.service"))
LONG_RUNNING = [p for p in SERVICES if "retention" not in p.name]


def _settings(path: Path) -> dict[str, list[str]]:
    """key -> values of a unit file (a key may repeat)."""
    found: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_units_exist() -> None:
    names = {p.name for p in DEPLOY.iterdir()}
    assert {
        "shelfcam.service",
        "shelfcam-api.service",
        "shelfcam-worker@.service",
        "shelfcam-puller.service",
        "shelfcam-retention.service",
        "shelfcam-retention.timer",
        "shelfcam.env.example",
    } <= names
    assert (DEPLOY / "journald.conf.d" / "shelfcam.conf").is_file()


@pytest.mark.parametrize("unit", SERVICES, ids=lambda p: p.name)
def test_every_service_runs_hardened_as_the_service_user(unit: Path) -> None:
    keys = _settings(unit)
    assert keys["User"] == ["shelfcam"]
    assert keys["NoNewPrivileges"] == ["true"]
    assert keys["ProtectSystem"] == ["strict"]
    assert "/var/lib/shelfcam" in keys["ReadWritePaths"]
    assert keys["EnvironmentFile"][0].lstrip("-") == "/etc/shelfcam/shelfcam.env"
    assert keys["ExecStart"][0].startswith("/opt/shelfcam/.venv/bin/shelfcam ")
    # SIGTERM to shelfcam only: it stops the embedded PostgreSQL it started itself.
    assert keys["KillMode"] == ["mixed"]


@pytest.mark.parametrize("unit", LONG_RUNNING, ids=lambda p: p.name)
def test_an_orderly_stop_is_a_success(unit: Path) -> None:
    """`shelfcam serve` exits 143 after SIGTERM (runtime.py: 128 + the signal)."""
    statuses = " ".join(_settings(unit)["SuccessExitStatus"]).split()
    assert "143" in statuses


@pytest.mark.parametrize("unit", LONG_RUNNING, ids=lambda p: p.name)
def test_the_open_files_limit_fits_the_connection_cap(unit: Path) -> None:
    """The default soft limit (1024) is about what a slow-client attack needs to lock
    every camera out; the units raise it well above SHELFCAM_MAX_CONNECTIONS."""
    from shelfcam.config import Settings
    from shelfcam.web.server import FD_RESERVE

    (limit,) = _settings(unit)["LimitNOFILE"]
    cap = Settings.model_fields["max_connections"].default
    assert int(limit) >= 4 * (cap + FD_RESERVE)


def test_the_env_example_names_only_real_settings() -> None:
    text = (DEPLOY / "shelfcam.env.example").read_text()
    named = set(re.findall(r"^#?(SHELFCAM_[A-Z0-9_]+)=", text, flags=re.MULTILINE))
    assert named, "the example sets something"
    assert named <= set(documented_settings())


def test_the_system_user_is_declared() -> None:
    text = (DEPLOY / "sysusers.d" / "shelfcam.conf").read_text()
    assert re.search(r"^u shelfcam - .* /var/lib/shelfcam ", text, flags=re.MULTILINE)


def test_systemd_accepts_every_unit(tmp_path: Path) -> None:
    """`systemd-analyze verify` reads the units as systemd would: an unknown key, a bad
    value or a timer without its service is a warning there, a failure here. The units
    run shelfcam from where docs/raspberry-pi.md installs it; here that is /bin/true."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing (.ci/run installs the systemd package)")
        pytest.skip("systemd-analyze is not installed")
    units = [*SERVICES, *sorted(DEPLOY.glob("*.timer"))]
    for unit in units:
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED_AT, "/bin/true"))
    # a template is verified as one of its instances
    names = [f"./{u.name.replace('@.service', '@1.service')}" for u in units]
    run = subprocess.run(
        [analyze, "verify", "--man=no", *names],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (run.returncode, run.stdout + run.stderr) == (0, "")
