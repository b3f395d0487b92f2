"""`shelfcam admin set-password` and `shelfcam admin token create`, in-process."""

from __future__ import annotations

import io
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher

from shelfcam import admin
from shelfcam.cli import main


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("SHELFCAM_DATABASE_URL", db_url)
    monkeypatch.setenv("SHELFCAM_DATA_DIR", str(tmp_path))
    return db_url


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_set_password_from_piped_stdin_stores_an_argon2_hash(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, "a long enough secret\n")
    assert main(["admin", "set-password"]) == 0
    captured = capsys.readouterr()
    assert "admin user admin created" in captured.out
    assert "a long enough secret" not in captured.out + captured.err
    with psycopg.connect(cli_env) as conn:
        row = conn.execute("SELECT username, password_hash FROM admin_users").fetchone()
    assert row is not None
    assert row[0] == "admin"
    assert str(row[1]).startswith("$argon2id$")
    assert PasswordHasher().verify(str(row[1]), "a long enough secret")

    _stdin(monkeypatch, "another secret here\n")
    assert main(["admin", "set-password", "--user", "admin"]) == 0
    assert "has a new password" in capsys.readouterr().out


def test_set_password_prompts_twice_at_a_terminal(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    answers = iter(["typed at a prompt", "typed at a prompt"])
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["admin", "set-password", "--user", "ops"]) == 0
    assert "admin user ops created" in capsys.readouterr().out

    answers = iter(["one password", "another one"])
    assert main(["admin", "set-password", "--user", "ops"]) == 1
    assert "differ" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["admin", "set-password"], "short\n", "at least 8 characters"),
        (["admin", "set-password", "--user", "Bad Name"], "long enough pw\n", "not valid"),
    ],
)
def test_set_password_refuses_bad_input(
    cli_env: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    stdin: str,
    message: str,
) -> None:
    _stdin(monkeypatch, stdin)
    assert main(args) == 1
    assert message in capsys.readouterr().err
    with psycopg.connect(cli_env) as conn:
        assert conn.execute("SELECT count(*) FROM admin_users").fetchone() == (0,)


def test_token_create_prints_the_token_once_and_stores_its_hash(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["admin", "token", "create", "--name", "backup"]) == 0
    captured = capsys.readouterr()
    token = captured.out.strip()
    assert token.startswith(admin.TOKEN_PREFIX)
    assert len(token) > 40
    assert "shown only this once" in captured.err
    with psycopg.connect(cli_env) as conn:
        row = conn.execute("SELECT name, token_hash FROM admin_tokens").fetchone()
    assert row is not None
    assert row[0] == "backup"
    assert bytes(row[1]) == admin.hash_secret("admin-token", token)
