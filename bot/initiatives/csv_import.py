"""The directory as a CSV file, in and out: what `initiative-bot initiatives import/export`
and the demo data use (parsing and writing the file itself is csv_io's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.initiatives.csv_io import RowError, parse_initiatives_csv, write_initiatives_csv
from bot.initiatives.directory import Directory
from storage.db import Database
from storage.initiatives import all_initiatives, to_row, upsert


class HasDirectory(Protocol):
    """What an import needs of the process's services: the database and the directory."""

    @property
    def db(self) -> Database: ...

    @property
    def directory(self) -> Directory: ...


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    errors: list[RowError]


async def import_csv(services: HasDirectory, data: bytes, *, skip_invalid: bool) -> ImportResult:
    """All or nothing, unless `skip_invalid`: then the good rows go in and errors are listed."""
    rows, errors = parse_initiatives_csv(data)
    if errors and not skip_invalid:
        return ImportResult(0, 0, errors)
    async with services.db.transaction() as session:
        created, updated = await upsert(
            session, [row for _, row in rows], services.directory.bundesland_of
        )
    return ImportResult(created, updated, errors)


async def export_csv(services: HasDirectory) -> str:
    async with services.db.read() as session:
        return write_initiatives_csv(to_row(i) for i in await all_initiatives(session))
