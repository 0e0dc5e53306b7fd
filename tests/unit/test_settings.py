"""Settings: defaults, list and duration parsing, one clear line per wrong variable."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from config.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    for name in list(__import__("os").environ):
        if name.startswith("BOT_"):
            monkeypatch.delenv(name)


def test_defaults_follow_the_interface() -> None:
    s = load_settings()
    assert s.announce_before == [timedelta(days=7), timedelta(days=1), timedelta(hours=1)]
    assert s.e2ee and s.language == "de" and s.timezone == "Europe/Berlin"
    assert s.database_url == "sqlite+aiosqlite:///./data/bot.db"
    assert (s.http_host, s.http_port) == ("127.0.0.1", 8080)
    assert s.catchup_max_age == timedelta(minutes=10)
    assert s.feedback_retention == timedelta(days=365)


def test_lists_accept_commas_and_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_COORDINATORS", "@a:x.org, @b:y.org")
    monkeypatch.setenv("BOT_ANNOUNCEMENT_ROOMS", '["!abc", "#news:x.org"]')
    monkeypatch.setenv("BOT_USER_ID", "@bot:x.org")
    s = load_settings()
    assert s.coordinators == ["@a:x.org", "@b:y.org"]
    assert s.announcement_rooms == ["!abc", "#news:x.org"]
    assert s.invite_allowlist == [":x.org"]  # default: the bot's own server


def test_every_wrong_value_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("BOT_ANNOUNCE_BEFORE", "7d,soon")
    monkeypatch.setenv("BOT_HOMESERVER", "matrix.example.org")
    monkeypatch.setenv("BOT_INTRO_SCHEDULE", "every monday")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    named = sorted(p.split(":")[0] for p in caught.value.problems)
    assert named == ["BOT_ANNOUNCE_BEFORE", "BOT_HOMESERVER", "BOT_INTRO_SCHEDULE", "BOT_TIMEZONE"]


def test_run_without_homeserver_stops_with_one_line(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "BOT_HOMESERVER: missing (e.g. http://127.0.0.1:8008)"
    assert "Traceback" not in result.stderr


def test_wrong_setting_stops_start_with_one_line(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "BOT_HTTP_PORT": "eighty"},
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("BOT_HTTP_PORT:")


@pytest.mark.parametrize(
    "url", ["postgres://u:secret@h/db", "sqlite:///bot.db", "not a url", "mysql+aiomysql://h/d"]
)
def test_a_bad_database_url_stops_start_with_one_line_without_the_password(
    tmp_path, url: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "BOT_DATABASE_URL": url},
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("BOT_DATABASE_URL:")
    assert "secret" not in result.stderr
