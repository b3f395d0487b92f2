"""`shelfcam device ...`, `migrate`, and the commands that arrive later, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from shelfcam.cli import main
from shelfcam.devices import hash_token
from tests.jpegs import jpeg


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> str:
    monkeypatch.setenv("SHELFCAM_DATABASE_URL", db_url)
    monkeypatch.setenv("SHELFCAM_DATA_DIR", str(tmp_path))
    return db_url


def test_device_add_prints_token_once_and_stores_only_a_hash(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["device", "add", "pantry", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    created = json.loads(out[0])
    assert created["device_id"] == "pantry"
    token = created["token"]
    assert len(token) >= 40
    with psycopg.connect(cli_env) as conn:
        row = conn.execute("SELECT token_hash, row_to_json(devices)::text FROM devices").fetchone()
    assert row is not None
    assert bytes(row[0]) == hash_token(token)
    assert token not in row[1]
    # The token is never shown again.
    assert main(["device", "list", "--json"]) == 0
    listed = capsys.readouterr().out
    assert token not in listed
    assert json.loads(listed.splitlines()[0])["device_id"] == "pantry"


def test_device_add_twice_is_a_clear_error(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["device", "add", "cam1"]) == 0
    assert main(["device", "add", "cam1"]) == 1
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["device", "add", "../x"], "not valid"),
        (["device", "add", "CAM"], "not valid"),
        (["device", "add", "cam", "--inventory-roi", "0,0 1,1"], "at least 3 points"),
        (["device", "add", "cam", "--interaction-roi", "0,0 2,0 1,1"], "outside 0..1"),
        (["device", "add", "cam", "--inventory-roi", "0,0 1,1 1,0 0,0.5"], "crosses itself"),
    ],
)
def test_bad_device_input_changes_nothing(
    cli_env: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(args) == 1
    assert message in capsys.readouterr().err
    with psycopg.connect(cli_env) as conn:
        assert conn.execute("SELECT count(*) FROM devices").fetchone() == (0,)


def test_device_set_creates_a_new_roi_version(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["device", "add", "cam1", "--inventory-roi", "0,0 1,0 1,1 0,1"]) == 0
    poly = "0.1,0.5 0.9,0.5 0.9,0.9 0.1,0.9"
    assert main(["device", "set", "cam1", "--inventory-roi", poly]) == 0
    assert "roi_version 2" in capsys.readouterr().out
    assert main(["device", "list", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["roi_version"] == 2
    assert row["inventory_roi"] == [[0.1, 0.5], [0.9, 0.5], [0.9, 0.9], [0.1, 0.9]]
    assert row["interaction_roi"] == [[0, 0], [1, 0], [1, 1], [0, 1]]
    with psycopg.connect(cli_env) as conn:
        versions = conn.execute(
            "SELECT roi_version FROM device_configs WHERE device_id = 'cam1' ORDER BY 1"
        ).fetchall()
    assert versions == [(1,), (2,)]


def test_device_set_unknown_device(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["device", "set", "ghost", "--inventory-roi", "0,0 1,0 1,1"]) == 1
    assert "no device named 'ghost'" in capsys.readouterr().err


def test_db_url_prints_the_url_in_use(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "url"]) == 0
    assert capsys.readouterr().out.strip() == cli_env


def test_migrate_reports_up_to_date(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_invalid_setting_fails_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHELFCAM_PORT", "http")
    assert main(["migrate"]) == 2
    assert "SHELFCAM_PORT" in capsys.readouterr().err


def _token_hash(db_url: str, device_id: str) -> tuple[bytes, bool]:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT token_hash, revoked FROM devices WHERE device_id = %s", (device_id,)
        ).fetchone()
    assert row is not None
    return bytes(row[0]), bool(row[1])


def test_device_rotate_prints_a_new_token_once(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["device", "add", "pantry", "--json"]) == 0
    old = json.loads(capsys.readouterr().out)["token"]
    assert main(["device", "rotate", "pantry", "--json"]) == 0
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    assert len(lines) == 1
    new = json.loads(lines[0])
    assert new["device_id"] == "pantry"
    assert new["token"] != old
    assert _token_hash(cli_env, "pantry") == (hash_token(new["token"]), False)
    assert old not in out.err and new["token"] not in out.err  # never in a log line
    assert main(["device", "rotate", "pantry"]) == 0
    text = capsys.readouterr().out
    assert "old one stops working" in text
    assert text.strip().splitlines()[-1].startswith("shc_")


def test_device_revoke_then_rotate_enables_again(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["device", "add", "pantry"]) == 0
    assert main(["device", "revoke", "pantry"]) == 0
    assert "device pantry revoked" in capsys.readouterr().out
    assert _token_hash(cli_env, "pantry")[1] is True
    assert main(["device", "revoke", "pantry"]) == 0
    assert "already revoked" in capsys.readouterr().out
    assert main(["device", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["device", "rotate", "pantry", "--json"]) == 0
    token = json.loads(capsys.readouterr().out)["token"]
    assert _token_hash(cli_env, "pantry") == (hash_token(token), False)


@pytest.mark.parametrize("command", ["rotate", "revoke"])
def test_rotate_or_revoke_an_unknown_device(
    cli_env: str, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    assert main(["device", command, "ghost"]) == 1
    assert "no device named 'ghost'" in capsys.readouterr().err


def test_mark_empty_from_a_file(
    cli_env: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["device", "add", "pantry"]) == 0
    picture = tmp_path / "empty-shelf.jpg"
    picture.write_bytes(jpeg(seed=4))
    assert main(["device", "mark-empty", "pantry", "--from-file", str(picture)]) == 0
    assert f"taken from {picture}" in capsys.readouterr().out
    with psycopg.connect(cli_env) as conn:
        row = conn.execute(
            "SELECT empty_ref_jpeg IS NOT NULL, empty_ref_at IS NOT NULL FROM device_state"
            " WHERE device_id = 'pantry'"
        ).fetchone()
    assert row == (True, True)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), (b"not a jpeg", "not a readable JPEG")],
    ids=["missing-file", "not-a-jpeg"],
)
def test_mark_empty_from_a_bad_file_is_a_clear_error(
    cli_env: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    content: bytes | None,
    message: str,
) -> None:
    assert main(["device", "add", "pantry"]) == 0
    picture = tmp_path / "shelf.jpg"
    if content is not None:
        picture.write_bytes(content)
    assert main(["device", "mark-empty", "pantry", "--from-file", str(picture)]) == 1
    assert message in capsys.readouterr().err
    with psycopg.connect(cli_env) as conn:
        row = conn.execute(
            "SELECT empty_ref_at FROM device_state WHERE device_id = 'pantry'"
        ).fetchone()
    assert row is None or row[0] is None
