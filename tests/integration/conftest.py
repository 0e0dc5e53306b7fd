"""Session-wide Synapse and PostgreSQL servers and per-test Matrix users.

With pytest-xdist every worker starts its own servers. Run with `--dist loadfile`: the tests
of one file share module-scoped fixtures and build on each other's state.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from bot.demo.homeserver import LocalSynapse

from .postgres import LocalPostgres, PostgresUnavailable
from .synapse import MemberClient, MemberFactory, new_member

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


def missing(reason: str) -> NoReturn:
    """Skip when BOT_TEST_ALLOW_SKIP=1, otherwise fail: CI must provide every server."""
    if os.environ.get("BOT_TEST_ALLOW_SKIP") == "1":
        pytest.skip(reason)
    pytest.fail(f"{reason} (set BOT_TEST_ALLOW_SKIP=1 to skip instead)", pytrace=False)


@pytest.fixture(scope="session")
async def synapse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalSynapse]:
    """One Synapse for the whole test session, with relaxed rate limits."""
    if importlib.util.find_spec("synapse") is None:
        missing("matrix-synapse is not installed")
    async with LocalSynapse(tmp_path_factory.mktemp("synapse")) as server:
        yield server


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    """One PostgreSQL server for the whole test session."""
    try:
        server = LocalPostgres()
    except PostgresUnavailable as error:
        reason = str(error)
    else:
        with server:
            yield server
        return
    missing(reason)


@pytest.fixture(scope="session")
def postgres_url(postgres: LocalPostgres) -> str:
    """SQLAlchemy URL (postgresql+asyncpg) of the session's PostgreSQL database."""
    return postgres.url


@pytest.fixture
async def matrix_user(synapse: LocalSynapse, tmp_path: Path) -> AsyncIterator[MemberFactory]:
    """Factory: `await matrix_user("alice")` registers a fresh user and returns its client."""
    clients: list[MemberClient] = []

    async def create(
        name: str = "member", *, password: str | None = None, encrypted: bool = False
    ) -> MemberClient:
        store_path = tmp_path / f"store-{len(clients)}" if encrypted else None
        client = await new_member(synapse, name, password=password, store_path=store_path)
        clients.append(client)
        return client

    yield create
    for client in clients:
        await client.close()
