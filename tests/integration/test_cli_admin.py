"""`shelfcam admin set-password` and `shelfcam admin token create|list|revoke`, in-process."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher

from shelfcam.accounts import admins
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
    assert token.startswith(admins.TOKEN_PREFIX)
    assert len(token) > 40
    assert "shown only this once" in captured.err
    with psycopg.connect(cli_env) as conn:
        row = conn.execute("SELECT name, token_hash FROM admin_tokens").fetchone()
    assert row is not None
    assert row[0] == "backup"
    assert bytes(row[1]) == admins.hash_secret("admin-token", token)


def _create(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["admin", "token", "create", *args]) == 0
    return capsys.readouterr().out.strip()


def _listed(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    assert main(["admin", "token", "list", "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def _works(db_url: str, token: str) -> bool:
    async def owner() -> str | None:
        from shelfcam.db.connect import connection

        async with connection(db_url) as conn:
            return await admins.token_owner(conn, token)

    return asyncio.run(owner()) is not None


def test_tokens_are_listed_without_their_values_and_revoked_by_name(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = _create(capsys, "--name", "backup")
    first, second = _create(capsys), _create(capsys)  # default names: api, api-2
    listed = _listed(capsys)
    assert [t["name"] for t in listed] == ["api-2", "api", "backup"]
    assert {t["state"] for t in listed} == {"active"}
    assert set(listed[0]) == {
        "name",
        "state",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    }
    text = json.dumps(listed)
    assert backup not in text and first not in text and second not in text
    assert _works(cli_env, backup)
    assert main(["admin", "token", "revoke", "backup"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert not _works(cli_env, backup)
    assert _works(cli_env, first) and _works(cli_env, second)
    assert main(["admin", "token", "revoke", "backup"]) == 0
    assert "already revoked" in capsys.readouterr().out
    states = {t["name"]: t["state"] for t in _listed(capsys)}
    assert states == {"api": "active", "api-2": "active", "backup": "revoked"}
    assert main(["admin", "token", "list"]) == 0
    table = capsys.readouterr().out
    assert "backup" in table and "revoked" in table and backup not in table
    # The name of a revoked token is free again.
    assert _works(cli_env, _create(capsys, "--name", "backup"))


def test_a_token_with_an_expiry_stops_working_then(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    token = _create(capsys, "--name", "short", "--expires-in", "12h")
    (entry,) = _listed(capsys)
    assert entry["state"] == "active" and entry["expires_at"] is not None
    assert _works(cli_env, token)
    with psycopg.connect(cli_env, autocommit=True) as conn:
        conn.execute("UPDATE admin_tokens SET expires_at = now() - interval '1 s'")
    assert not _works(cli_env, token)
    assert _listed(capsys)[0]["state"] == "expired"
    # An expired token's name can be given to a new one.
    assert _works(cli_env, _create(capsys, "--name", "short"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "--name", "backup", "--expires-in", "soon"], "not a duration"),
        (["create", "--name", "backup", "--expires-in", "0m"], "between 1 minute"),
        (["create", "--name", "backup", "--expires-in", "99999w"], "between 1 minute"),
        (["create", "--name", " "], "1-100 printable"),
        (["revoke", "nobody"], "no admin token is named"),
    ],
)
def test_bad_token_commands_are_clear_errors_and_change_nothing(
    cli_env: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["admin", "token", *args]) == 1
    assert message in capsys.readouterr().err
    with psycopg.connect(cli_env) as conn:
        assert conn.execute("SELECT count(*) FROM admin_tokens").fetchone() == (0,)


def test_a_live_name_is_not_given_twice(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    token = _create(capsys, "--name", "backup")
    assert main(["admin", "token", "create", "--name", "backup"]) == 1
    assert "already named 'backup'" in capsys.readouterr().err
    assert [t["name"] for t in _listed(capsys)] == ["backup"]
    assert _works(cli_env, token)
