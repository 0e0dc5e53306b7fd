"""Engine, sessions, migrations and the small key/value state."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Result, delete, event, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.models import BotState, HandledEvent

if TYPE_CHECKING:  # alembic is imported only when there is something to migrate
    from alembic.config import Config

log = logging.getLogger(__name__)
T = TypeVar("T")

MIGRATIONS = Path(__file__).parent / "migrations"
TRANSIENT_TRIES = 5  # attempts while the database answers pings; unlimited while it does not
HANDLED_KEPT = timedelta(days=30)  # far longer than any sync replay or catch-up reaches back


class Database:
    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            _private_file(Path(parsed.database))
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            url, pool_pre_ping=True, hide_parameters=True
        )
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed on success, rolled back on error."""
        async with self._sessions() as session, session.begin():
            yield session

    def read(self) -> AsyncSession:
        """A session to read with (`async with db.read() as session`); it commits nothing."""
        return self._sessions()

    async def retrying(self, work: Callable[[], Awaitable[T]], what: str) -> T:
        """Run `work`; after a transient fault (a lock, a dropped connection) run it again:
        for as long as the database is unreachable, and up to TRANSIENT_TRIES times while it
        answers (then the fault is no passing one and is raised)."""
        attempt = 0
        while True:
            try:
                return await work()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if await self.ping():
                    attempt += 1
                if attempt >= TRANSIENT_TRIES:
                    raise
                delay = min(2.0**attempt, 30.0)
                log.warning(
                    "%s: database fault (%s); trying again in %.0fs", what, fault(exc), delay
                )
                await asyncio.sleep(delay)

    async def upgrade(self, extra_versions: Sequence[Path] = ()) -> None:
        """Apply every migration (and those in `extra_versions`, a test's own); a database
        already at the newest shipped revision is left as it is, without loading alembic."""
        async with self.engine.connect() as conn:
            if not extra_versions and await conn.run_sync(_revision) == shipped_head():
                return
            await conn.run_sync(_upgrade, tuple(extra_versions))

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def get_state(self, key: str) -> str | None:
        async with self.read() as session:
            return await session.scalar(select(BotState.value).where(BotState.key == key))

    async def set_state(self, key: str, value: str) -> None:
        await self.set_states(**{key: value})

    async def set_states(self, **values: str) -> None:
        async with self.transaction() as session:
            for key, value in values.items():
                await session.merge(BotState(key=key, value=value))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _private_file(path: Path) -> None:
    """The database file (and a directory made for it) readable by the bot's user only;
    SQLite gives its -wal and -shm files the mode of the database file."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    path.touch(mode=0o600)
    path.chmod(0o600)


def is_transient(exc: BaseException) -> bool:
    """A fault that may pass by itself: a locked database, a lost or refused connection."""
    if isinstance(exc, sa_exc.DBAPIError):
        return exc.connection_invalidated or isinstance(
            exc, (sa_exc.OperationalError, sa_exc.InterfaceError)
        )
    return isinstance(exc, (sa_exc.TimeoutError, ConnectionError, TimeoutError))


def fault(exc: BaseException) -> str:
    """A database error in one line, without the statement or its parameters."""
    origin = getattr(exc, "orig", None) or exc
    first_line = (str(origin).splitlines() or [""])[0]
    return f"{type(origin).__name__}: {first_line}"[:200]


def affected(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed."""
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_handled(session: AsyncSession, now: datetime) -> int:
    """Forget events handled more than HANDLED_KEPT ago; returns how many rows went."""
    result = await session.execute(
        delete(HandledEvent).where(HandledEvent.handled_at < now - HANDLED_KEPT)
    )
    return affected(result)


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class MigrationError(RuntimeError):
    """The migrations left the database inconsistent; nothing of them was kept."""


def shipped_head() -> str:
    """The newest shipped revision: each migration's file is named after its revision
    (`0009_event_room_mention.py` is revision "0009"), a test holds alembic to that."""
    return max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def _revision(connection: Connection) -> str | None:
    """The database's revision (None: never migrated)."""
    try:
        revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except sa_exc.DBAPIError:
        revision = None
    connection.rollback()  # the upgrade begins its own transaction
    return None if revision is None else str(revision)


def alembic_config(
    connection: Connection | None = None, extra_versions: Sequence[Path] = ()
) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if extra_versions:
        cfg.set_main_option("path_separator", "os")  # alembic < 1.16 splits at spaces
        folders = [MIGRATIONS / "versions", *extra_versions]
        cfg.set_main_option("version_locations", os.pathsep.join(str(f) for f in folders))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection, extra_versions: Sequence[Path] = ()) -> None:
    """The migrations in one transaction. On SQLite foreign keys are off meanwhile: a
    migration that rebuilds a table (batch mode: copy, drop, rename) would otherwise delete
    every row referring to it through ON DELETE CASCADE. Afterwards the references are
    checked, and any broken one rolls the whole upgrade back."""
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:  # a no-op inside a transaction: set before the migrations' transaction begins
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        if connection.exec_driver_sql("PRAGMA foreign_keys").scalar() != 0:
            raise MigrationError("could not turn foreign keys off for the migrations")
        connection.commit()
    try:
        with connection.begin():
            if sqlite:  # pysqlite would begin only at the first DML, leaving DDL before it
                connection.exec_driver_sql("BEGIN")  # outside the transaction
            from alembic import command

            command.upgrade(alembic_config(connection, extra_versions), "head")
            if sqlite:
                _check_foreign_keys(connection)
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        shown = "; ".join(
            f"{table} row {rowid} refers to a missing {parent} row"
            for table, rowid, parent, _ in broken[:5]
        )
        raise MigrationError(
            f"the migrations would leave {len(broken)} broken reference(s), so none was "
            f"applied: {shown}"
        )
