"""A throwaway PostgreSQL server for integration tests.

It runs from the distribution's server binaries in its own temporary directory on a free
port of 127.0.0.1 with trust authentication. PostgreSQL refuses to run as root, so as root
every command runs as the `postgres` system user.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

from bot.demo.homeserver import free_port

DEBIAN_ROOT = Path("/usr/lib/postgresql")
SERVER_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries (or, as root, the postgres user) are missing."""


def _version_key(bindir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))


def find_bindir() -> Path:
    """The directory with initdb and pg_ctl: Debian's newest version, else the one on PATH."""
    candidates = sorted(DEBIAN_ROOT.glob("*/bin"), key=_version_key, reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found (no initdb/pg_ctl/postgres under "
        f"{DEBIAN_ROOT}/*/bin or on PATH); install them, e.g. apt-get install postgresql"
    )


class LocalPostgres:
    """One PostgreSQL server; `url` is an SQLAlchemy asyncpg URL of the database `database`."""

    def __init__(self, database: str = "initiative_bot") -> None:
        self.database = database
        self.port = free_port()
        self.bindir = find_bindir()
        self._as_root = os.geteuid() == 0
        if self._as_root and shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root needs runuser to start PostgreSQL")
        self.directory: Path | None = None

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return f"postgresql+asyncpg://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Create the cluster, start the server and create the database."""
        self.directory = Path(tempfile.mkdtemp(prefix="initiative-bot-pg-"))
        if self._as_root:
            try:
                shutil.chown(self.directory, SERVER_USER, SERVER_USER)
            except LookupError as error:
                raise PostgresUnavailable(f"no {SERVER_USER!r} system user: {error}") from error
        data = self.directory / "data"
        self._run(
            "initdb",
            f"--pgdata={data}",
            f"--username={SERVER_USER}",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.directory} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = self.directory / "postgres.log"
        self._run("pg_ctl", "start", f"--pgdata={data}", f"--log={log}", "--wait", "-o", options)
        self.create_database(self.database)

    def create_database(self, name: str) -> str:
        """Create another database on this server and return its URL."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", SERVER_USER, name)
        return self.url_for(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its directory."""
        directory, self.directory = self.directory, None
        if directory is None:
            return
        try:
            if (directory / "data" / "postmaster.pid").exists():
                self._run("pg_ctl", "stop", f"--pgdata={directory / 'data'}", "-m", "fast")
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self._as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(
            command,
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            log = self.directory / "postgres.log" if self.directory else None
            details = log.read_text(errors="replace") if log and log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}{details[-2000:]}"
            )
