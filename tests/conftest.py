"""Fixtures of the fast tests: settings, the real services over a SQLite file with the
migrations applied, the real dispatcher, and a conversation with it (tests/fakes.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import build_dispatcher
from bot.core.dispatcher import Dispatcher
from bot.services import Services, build_services
from config.settings import Settings
from tests.fakes import COORDINATOR, Conversation


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        store_path=tmp_path / "store",
        coordinators=[COORDINATOR],
        user_id="@bot:localhost",
        http_port=0,
    )


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    built = await build_services(settings)
    yield built
    await built.db.dispose()


@pytest.fixture
def dispatcher(services: Services) -> Dispatcher:
    return build_dispatcher(services, flood=False)


@pytest.fixture
def chat(dispatcher: Dispatcher) -> Conversation:
    return Conversation(dispatcher)
