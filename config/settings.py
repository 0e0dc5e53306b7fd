"""Settings from `BOT_` environment variables and `.env` (pydantic-settings)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import ArgumentError

from config.recovery_key import RecoveryKeyError, decode_recovery_key

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_MXID = re.compile(r"^@[^:\s]+:[^\s]+$")
Lang = Literal["de", "en", "de-simple"]  # reply languages; de-simple is Leichte Sprache
LANGS: tuple[Lang, ...] = ("de", "en", "de-simple")


def as_lang(value: str | None) -> Lang | None:
    """A stored language code as a Lang (None when unset or unknown)."""
    return next((lang for lang in LANGS if lang == value), None)


DATABASE_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


def parse_duration(text: str) -> timedelta:
    """`90s`, `10m`, `1h`, `7d` → timedelta."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30s, 10m, 1h or 7d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


StrList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    homeserver: str | None = None
    user_id: str | None = None
    password: SecretStr | None = None
    access_token: SecretStr | None = None
    e2ee: bool = True
    store_path: Path = Path("./data/store")
    recovery_key: SecretStr | None = None
    recovery_key_file: Path | None = None
    database_url: str = "sqlite+aiosqlite:///./data/bot.db"
    coordinators: StrList = Field(default_factory=list)
    announcement_rooms: StrList = Field(default_factory=list)
    coordination_room: str | None = None  # room ID or alias; empty: no handoff
    announce_before: Annotated[list[timedelta], NoDecode] = Field(
        default_factory=lambda: [timedelta(days=7), timedelta(days=1), timedelta(hours=1)]
    )
    feedback_delay: timedelta = timedelta(0)
    feedback_window: timedelta = timedelta(days=14)
    feedback_retention: timedelta = timedelta(days=365)
    question_retention: timedelta = timedelta(days=180)
    catchup_max_age: timedelta = timedelta(minutes=10)
    timezone: str = "Europe/Berlin"
    language: Lang = "de"
    invite_allowlist: StrList = Field(default_factory=list)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = None
    intro_schedule: str = "0 9 * * mon"
    report_schedule: str = "0 8 1 * *"  # the monthly funder report; empty = off
    flood_burst: int = Field(default=60, ge=1)
    flood_per_minute: int = Field(default=120, ge=1)
    flood_global_burst: int = Field(default=600, ge=1)  # all users together
    flood_global_per_minute: int = Field(default=1200, ge=1)
    sync_timeline_limit: int = Field(default=100, ge=1, le=1000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("coordinators", "announcement_rooms", "invite_allowlist", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("announce_before", mode="before")
    @classmethod
    def _offsets(cls, value: Any) -> Any:
        items = _split_list(value)
        return [parse_duration(v) if isinstance(v, str) else v for v in items]

    @field_validator(
        "feedback_delay",
        "feedback_window",
        "feedback_retention",
        "question_retention",
        "catchup_max_age",
        mode="before",
    )
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("homeserver", "public_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if not value:
            return None  # unset, or an empty line in the environment
        if not re.fullmatch(r"https?://[^\s/]+\S*", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            driver = make_url(value).drivername
        except ArgumentError:
            driver = None  # the value is not echoed: it may hold a password
        if driver not in DATABASE_DRIVERS:
            raise ValueError(
                "not a database URL like sqlite+aiosqlite:///./data/bot.db "
                "or postgresql+asyncpg://USER:PASSWORD@HOST/DATABASE"
            )
        return value

    @field_validator("recovery_key")
    @classmethod
    def _recovery_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        try:
            decode_recovery_key(value.get_secret_value())
        except RecoveryKeyError as exc:  # the message never holds the key
            raise ValueError(f"invalid recovery key: it {exc}") from None
        return value

    @field_validator("recovery_key_file", mode="before")
    @classmethod
    def _no_empty_path(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("recovery_key_file")
    @classmethod
    def _recovery_key_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        if info.data.get("recovery_key") is not None:
            raise ValueError("set either BOT_RECOVERY_KEY or BOT_RECOVERY_KEY_FILE, not both")
        try:
            decode_recovery_key(value.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValueError(f"cannot read {value}: {exc.strerror or exc}") from None
        except (RecoveryKeyError, UnicodeDecodeError) as exc:
            raise ValueError(f"{value} holds no valid recovery key: it {exc}") from None
        return value

    @field_validator("user_id")
    @classmethod
    def _user_id(cls, value: str | None) -> str | None:
        if value is not None and not _MXID.match(value):
            raise ValueError(f"{value!r} is not a Matrix ID like @bot:example.org")
        return value

    @field_validator("coordinators")
    @classmethod
    def _coordinator_ids(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _MXID.match(v)]
        if bad:
            raise ValueError(f"not Matrix IDs: {', '.join(bad)}")
        return value

    @field_validator("announcement_rooms")
    @classmethod
    def _room_ids(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.match(r"^[!#]\S+$", v)]
        if bad:
            raise ValueError(f"not room IDs or aliases: {', '.join(bad)}")
        return value

    @field_validator("coordination_room", mode="before")
    @classmethod
    def _coordination_room(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str) or not re.match(r"^[!#]\S+$", value.strip()):
            raise ValueError(f"not a room ID or alias: {value}")
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("intro_schedule", "report_schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        if value.strip():
            try:
                CronTrigger.from_crontab(value)
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a cron expression: {exc}") from None
        return value.strip()

    @model_validator(mode="after")
    def _default_allowlist(self) -> Settings:
        if not self.invite_allowlist and self.user_id:
            self.invite_allowlist = [":" + self.user_id.split(":", 1)[1]]
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def server_name(self) -> str:
        return self.user_id.split(":", 1)[1] if self.user_id else "localhost"

    def recovery_key_bytes(self) -> bytes | None:
        """The secret storage key from BOT_RECOVERY_KEY or BOT_RECOVERY_KEY_FILE (validated on
        load), or None when neither is set. Never log it."""
        if self.recovery_key is not None:
            return decode_recovery_key(self.recovery_key.get_secret_value())
        if self.recovery_key_file is not None:
            return decode_recovery_key(self.recovery_key_file.read_text(encoding="utf-8"))
        return None

    def problems_for_run(self) -> list[str]:
        """What `run` additionally needs: where to connect and how to log in."""
        problems = []
        if not self.homeserver:
            problems.append("BOT_HOMESERVER: missing (e.g. http://127.0.0.1:8008)")
        if not self.user_id:
            problems.append("BOT_USER_ID: missing (e.g. @bot:localhost)")
        if not self.password and not self.access_token:
            problems.append("BOT_PASSWORD / BOT_ACCESS_TOKEN: one of them is needed")
        return problems


class SettingsError(Exception):
    """Every problem with the settings, one line each, naming the variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError([_describe(err) for err in exc.errors()]) from None


def _describe(err: Any) -> str:
    field = str(err["loc"][0]) if err["loc"] else "settings"
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"BOT_{field.upper()}: {message}"
