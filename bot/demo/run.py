"""`initiative-bot demo`: a throwaway homeserver, demo data, the bot, a chat as a member."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import sys
from pathlib import Path

from nio import AsyncClient, RoomCreateResponse, RoomMessageNotice, SyncResponse

from bot.app import serve
from bot.demo.data import load_demo_data
from bot.demo.homeserver import LocalSynapse, Registration, free_port
from bot.services import build_services
from config.settings import Settings, load_settings

DEMO_DIR = Path(".demo")
PASSWORDS = {"bot": "bot-demo", "koordination": "koordination-demo", "mitglied": "mitglied-demo"}


def _fresh_directory() -> Path:
    """Empty .demo/ and send the logs there, so the terminal stays a chat."""
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    DEMO_DIR.mkdir()
    root = logging.getLogger()
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    handler = logging.FileHandler(DEMO_DIR / "bot.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    return DEMO_DIR.resolve()


async def demo() -> None:
    directory = _fresh_directory()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("Starte einen lokalen Matrix-Homeserver (Synapse) …", flush=True)
    async with LocalSynapse(directory / "synapse") as synapse:
        users = {name: await synapse.register(name, pw) for name, pw in PASSWORDS.items()}
        coordinator = await _client(synapse.url, users["koordination"])
        member = await _client(synapse.url, users["mitglied"])
        lobby = await _room(coordinator, "Lobby", "lobby", [users["bot"], users["mitglied"]])
        news = await _room(
            coordinator, "Ankündigungen", "ankuendigungen", [users["bot"], users["mitglied"]]
        )
        for room in (lobby, news):
            await member.join(room)
        settings = load_settings(
            homeserver=synapse.url,
            user_id=users["bot"].user_id,
            password=PASSWORDS["bot"],
            database_url=f"sqlite+aiosqlite:///{directory}/bot.db",
            store_path=directory / "store",
            announcement_rooms=[news],
            announce_before="5m,1m",
            coordinators=[users["koordination"].user_id],
            http_port=free_port(),
        )
        await _load_demo_data(settings)
        bot = asyncio.create_task(serve(settings, stop))
        _welcome(synapse, settings)
        try:
            await _chat(member, lobby, stop)
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await bot
            await coordinator.close()
            await member.close()
    print(f"Demo beendet; alles gestoppt. Protokoll: {DEMO_DIR}/bot.log")


async def _client(url: str, account: Registration) -> AsyncClient:
    client = AsyncClient(url, account.user_id, device_id=account.device_id)
    client.access_token = account.access_token
    return client


async def _room(owner: AsyncClient, name: str, alias: str, invite: list[Registration]) -> str:
    resp = await owner.room_create(name=name, alias=alias, invite=[u.user_id for u in invite])
    if not isinstance(resp, RoomCreateResponse):
        raise RuntimeError(f"could not create room {name}: {resp}")
    return str(resp.room_id)


async def _load_demo_data(settings: Settings) -> None:
    services = await build_services(settings)
    try:
        await load_demo_data(services)
    finally:
        await services.db.dispose()


def _welcome(synapse: LocalSynapse, settings: Settings) -> None:
    print(
        f"""
Die Demo läuft.
  Homeserver:   {synapse.url}   (Server-Name: {synapse.server_name})
  Element o. a.: anmelden am Homeserver {synapse.url} mit
      koordination / {PASSWORDS["koordination"]}   (Koordination)
      mitglied / {PASSWORDS["mitglied"]}           (Mitglied)
  Räume: #lobby:{synapse.server_name} und #ankuendigungen:{synapse.server_name}
  Gesundheit und Kalender: http://127.0.0.1:{settings.http_port}/healthz ,
      http://127.0.0.1:{settings.http_port}/webinars.ics

Sie schreiben jetzt als @mitglied in der Lobby. Probieren Sie:
  !hilfe · !frage Was ist das BZdI? · !passend Wasserstoff · !webinare
  (Ein Demo-Webinar beginnt in wenigen Minuten; die Erinnerungen kommen in #ankuendigungen.)
Strg-C beendet alles.
""",
        flush=True,
    )


async def _chat(member: AsyncClient, room: str, stop: asyncio.Event) -> None:
    """Lines from the terminal go to the lobby; the bot's notices are printed."""
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    first = await member.sync(timeout=0)
    since = first.next_batch if isinstance(first, SyncResponse) else None

    async def printer() -> None:
        nonlocal since
        while not stop.is_set():
            resp = await member.sync(timeout=10_000, since=since)
            if not isinstance(resp, SyncResponse):
                await asyncio.sleep(1)
                continue
            since = resp.next_batch
            joined = resp.rooms.join.get(room)
            for event in joined.timeline.events if joined else []:
                if isinstance(event, RoomMessageNotice):
                    print(f"\n🤖 {event.body}\n", flush=True)

    async def typer() -> None:
        while not stop.is_set():
            line = await reader.readline()
            if not line:
                stop.set()
                return
            text = line.decode(errors="replace").strip()
            if text:
                await member.room_send(room, "m.room.message", {"msgtype": "m.text", "body": text})

    tasks = [asyncio.create_task(printer()), asyncio.create_task(typer())]
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
