"""The initiatives directory over Matrix, with data imported by the CLI beforehand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.demo.homeserver import LocalSynapse

from .botproc import ROOT, new_bot
from .synapse import new_member
from .test_foundation import command, invite_bot, unique

pytestmark = pytest.mark.integration


async def test_import_then_search_and_match_in_a_room(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    coordinator = await new_member(synapse, unique("coord"))
    bot = await new_bot(
        synapse, tmp_path, unique("bot"), e2ee="false", coordinators=coordinator.user_id
    )
    imported = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "initiatives",
            "import",
            str(ROOT / "config/demo/initiatives.csv"),
        ],
        env=bot.env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
    await bot.start()
    try:
        room = await invite_bot(coordinator, bot, "Netzwerk")
        _, match = await command(coordinator, room, bot, "!passend Hydrogen Hub Aachen")
        lines = match.body.splitlines()[1:]
        assert 1 <= len(lines) <= 5 and "Wasserstoff" in lines[0]
        _, profile = await command(coordinator, room, bot, "!initiative hydrogen hub aachn")
        assert profile.body.splitlines()[0] == "Hydrogen Hub Aachen"
        spec = "Runder Tisch Jena | Jena | Optik; Fachkräfte | Betriebe und Hochschule"
        _, added = await command(coordinator, room, bot, f"/initiative add {spec}")
        assert "angelegt" in added.body
        _, found = await command(coordinator, room, bot, "!initiativen Thüringen")
        assert "Runder Tisch Jena" in found.body
    finally:
        await bot.stop()
        await coordinator.close()
