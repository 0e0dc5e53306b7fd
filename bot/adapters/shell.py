"""The terminal adapter: the same dispatcher and handlers, no homeserver needed."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from bot.core.dispatcher import Dispatcher
from bot.core.messages import Attachment, EventId, Incoming, Reply, RoomId, UserId
from bot.text.analyzer import clean_text

SHELL_ROOM = RoomId("!shell")


class ShellTransport:
    def __init__(self, coordinator: bool) -> None:
        self.coordinator = coordinator
        self.sent: list[tuple[RoomId, Reply]] = []

    async def send(
        self,
        room_id: RoomId,
        reply: Reply,
        *,
        to: Incoming | None = None,
        txn_id: str | None = None,
    ) -> EventId | None:
        self.sent.append((room_id, reply))
        return EventId(f"$shell-out-{len(self.sent)}")

    async def react(self, room_id: RoomId, event_id: EventId, key: str) -> None:
        return None

    async def edit(
        self, room_id: RoomId, event_id: EventId, reply: Reply, *, txn_id: str | None = None
    ) -> EventId | None:
        return await self.send(room_id, reply)

    def coordination_room(self) -> RoomId | None:
        """No coordination room in the terminal: unanswered questions are only noted."""
        return None

    def room_name(self, room_id: RoomId) -> str | None:
        return None

    async def present(self, room_id: RoomId, user_id: UserId) -> bool:
        return True

    def announcement_rooms(self) -> list[RoomId]:
        return []

    async def announcement_power(self, user_id: UserId) -> int:
        return 100 if self.coordinator else 0

    def may_mention_room(self, room_id: RoomId) -> bool:
        return False  # the terminal has no room to notify

    async def direct_room(self, user_id: UserId) -> RoomId | None:
        """The terminal is the shell user's direct chat (their messages say so); messages
        for anyone else are kept in `sent` under a room of their own, never printed."""
        return RoomId(f"!shell-direct:{user_id}")


class ShellFiles:
    """Where the shell writes the files a reply would attach (a new folder, made when the
    first file comes): the terminal cannot show them, so the reply names them."""

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder

    def save(self, file: Attachment) -> Path:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="initiative-bot-files-"))
        self._folder.mkdir(parents=True, exist_ok=True)
        path = self._folder / Path(file.filename).name
        path.write_bytes(file.data)
        return path

    def text_of(self, reply: Reply) -> str:
        """The reply's text, with one line per attached file: its name, kind and path."""
        lines = [reply.text]
        for file in reply.attachments:
            about = f" – {file.description}" if file.description else ""
            lines.append(f"📎 {file.filename} ({file.mimetype}): {self.save(file)}{about}")
        return "\n".join(lines)


async def run_shell(
    dispatcher: Dispatcher[Any],
    user: UserId,
    *,
    coordinator: bool,
    as_json: bool,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    files: ShellFiles | None = None,
) -> None:
    transport = ShellTransport(coordinator)
    files = files or ShellFiles()
    loop = asyncio.get_running_loop()
    interactive = not as_json and stdin.isatty()
    if interactive:
        services = dispatcher.services
        stdout.write(services.texts.plain("shell.welcome", services.settings.language) + "\n")
    for number in range(1, 10**9):
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            break
        text = line.rstrip("\r\n")
        msg = Incoming(
            room_id=SHELL_ROOM,
            sender=user,
            event_id=EventId(f"$shell-{number}"),
            body=text,
            sent_at=dispatcher.services.clock(),
            direct=True,
            direct_chat=True,
        )
        replies = await dispatcher.handle(msg, transport) if text.strip() else []
        bodies = [clean_text(files.text_of(r)) for r in replies]  # nothing steers the terminal
        if as_json:
            stdout.write(json.dumps({"input": text, "replies": bodies}, ensure_ascii=False) + "\n")
        else:
            for body in bodies:
                stdout.write(body + "\n\n")
        stdout.flush()
