"""One dispatcher for every transport: parse, check role, run the handler, catch every error."""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import Command, CommandTable
from bot.context import Context, Services
from bot.text import clean_text, detect_language
from bot.types import (
    Incoming,
    Lang,
    Reaction,
    Redaction,
    Reply,
    Role,
    Transport,
    UsageError,
    UserError,
    UserId,
)
from storage.db import is_transient
from storage.models import HandledEvent, UserPrefs

log = logging.getLogger(__name__)

_COMMAND = re.compile(r"^[!/]([^\W\d_][\w-]*)\s*(.*)$", re.DOTALL)
QUESTION_COMMAND = "frage"
MAX_MESSAGE = 4_000  # characters: a longer command is refused before anything reads it


@dataclass
class FloodLimiter:
    """Token bucket per user: `burst` commands at once, then `per_minute`."""

    burst: int
    per_minute: int

    def __post_init__(self) -> None:
        self._buckets: dict[UserId, tuple[float, float, bool]] = {}

    def allow(self, user: UserId, now: float) -> bool | None:
        """True: go ahead. False: over the limit, warn once. None: over, stay silent."""
        tokens, last, warned = self._buckets.get(user, (float(self.burst), now, False))
        tokens = min(self.burst, tokens + (now - last) * self.per_minute / 60)
        if tokens >= 1:
            self._buckets[user] = (tokens - 1, now, False)
            return True
        self._buckets[user] = (tokens, now, True)
        return None if warned else False


class Dispatcher:
    def __init__(
        self, services: Services, table: CommandTable, flood: FloodLimiter | None = None
    ) -> None:
        self.services = services
        self.table = table
        self.flood = flood

    async def handle(
        self, msg: Incoming, transport: Transport, *, record: bool = False, late: bool = False
    ) -> list[Reply]:
        """Handle one message; send and return the replies. Never raises.

        `record` stores the event id as handled (with the handler's changes, in one
        transaction). `late` messages, seen after downtime, are not answered: only commands
        declared `late=True` (feedback still counts) and reply hooks run, silently.
        """
        started = time.perf_counter()
        msg = replace(msg, body=clean_text(msg.body))
        db = self.services.db
        what = f"event {msg.event_id}"
        try:
            replies, recorded = await db.retrying(
                lambda: self._run(msg, transport, record, late), what
            )
            if record and not recorded:
                await db.retrying(lambda: self._record(msg.event_id), what)
        except Exception:  # the database stayed faulty through every retry
            replies = [self._apology(msg, None, self.services.settings.language)]
        if late:
            return []
        for reply in replies:
            if await transport.send(msg.room_id, reply, to=msg) is None:
                # refused (too large, no right to post) or undeliverable: say so, once
                lang = await self._language(msg, "")
                await transport.send(msg.room_id, self._text("error.not_sent", lang), to=msg)
                break
        if replies:
            self.services.metrics.latency.observe(time.perf_counter() - started)
        return replies

    async def handle_reaction(self, reaction: Reaction) -> None:
        await self._run_hooks(self.table.reaction_hooks, reaction)

    async def handle_redaction(self, redaction: Redaction) -> None:
        await self._run_hooks(self.table.redaction_hooks, redaction)

    async def _run_hooks(self, hooks: list[Any], event: Reaction | Redaction) -> None:
        """All hooks and the handled mark in one transaction; retried once on a conflict
        (two rooms' tasks writing the same row at once) and on transient database faults,
        so nothing is lost or doubled."""

        async def run_all() -> None:
            async with self.services.db.session() as session:
                for hook in hooks:
                    await hook(self.services, session, event)
                session.add(HandledEvent(event_id=event.event_id))

        for attempt in (1, 2):
            try:
                await self.services.db.retrying(run_all, f"event {event.event_id}")
                return
            except IntegrityError:
                if attempt == 2:
                    log.warning("event %s conflicts with stored data; skipped", event.event_id)
            except Exception:
                self.services.metrics.errors.inc()
                log.exception("hooks failed on event %s", event.event_id)
                return

    async def notify_undecryptable(self, msg: Incoming, transport: Transport) -> None:
        lang = await self._language(msg, "")
        await transport.send(msg.room_id, self._text("error.encrypted", lang), to=msg)

    async def _run(
        self, msg: Incoming, transport: Transport, record: bool, late: bool
    ) -> tuple[list[Reply], bool]:
        """The replies, and whether the event was recorded with the handler's changes."""
        command_match = _COMMAND.match(msg.body.strip())
        if command_match is None and (msg.reply_to or msg.thread_root) and self.table.reply_hooks:
            taken = await self._reply_hooks(msg, transport, record)
            if taken is not None:
                return taken
        parsed = self._parse(msg)
        if parsed is None:
            return [], False
        name, rest = parsed
        if self.flood is not None and not late:
            verdict = self.flood.allow(msg.sender, time.monotonic())
            if verdict is not True:
                lang = await self._language(msg, name)
                return ([] if verdict is None else [self._text("error.flood", lang)]), False
        lang = await self._language(msg, name)
        if len(msg.body) > MAX_MESSAGE:
            return [
                self._text("error.too_long", lang, length=len(msg.body), limit=MAX_MESSAGE)
            ], False
        resolved = self.table.resolve(name, rest)
        if resolved is None:
            family = self.table.family(name)
            if family:  # a known command without a fitting sub-command: show them all
                usages = "\n".join(c.usage(lang) for c in family)
                return [self._text("error.usage", lang, usage=usages)], False
            unknown = self._unknown(name, lang, suggest_only=not msg.direct)
            return ([unknown] if unknown else []), False
        command, args_text = resolved
        if late and not command.late:
            return [], False
        self.services.metrics.commands.labels(command=command.name).inc()
        role = await self._role(msg.sender, transport)
        if role < command.role:
            return [self._text("error.coordinator_only", lang)], False
        return await self._call(command, args_text, msg, transport, lang, role, record)

    async def _call(
        self,
        command: Command,
        args_text: str,
        msg: Incoming,
        transport: Transport,
        lang: Lang,
        role: Role,
        record: bool,
    ) -> tuple[list[Reply], bool]:
        try:
            async with self.services.db.session() as session:
                ctx = Context(self.services, msg, session, lang, role, transport, self.table)
                await command.handler(ctx, **command.parse(args_text))
                if record:
                    session.add(HandledEvent(event_id=msg.event_id))
            await self._after_commit(ctx)
            return ctx.replies, record
        except UserError as exc:
            reply = Reply(exc.text)
        except UsageError as exc:
            usage = self._text("error.usage", lang, usage=command.usage(lang)).text
            reply = Reply(f"{exc.detail}\n{usage}" if exc.detail else usage)
        except Exception as exc:
            if is_transient(exc):
                raise  # handle() tries the whole event again
            reply = self._apology(msg, command, lang)
        return [reply], False

    async def _after_commit(self, ctx: Context) -> None:
        """The handler's work after its commit; a failure there is logged (what was
        committed stays, and the replies still go out)."""
        for work in ctx.after_commit:
            try:
                await work()
            except Exception:
                self.services.metrics.errors.inc()
                log.exception("work after the commit of event %s failed", ctx.msg.event_id)

    def _apology(self, msg: Incoming, command: Command | None, lang: Lang) -> Reply:
        """Log the failure with the traceback under a reference the user is shown."""
        ref = uuid.uuid4().hex[:8]
        self.services.metrics.errors.inc()
        name = command.name if command else "dispatch"
        log.exception("handler %s failed on event %s (ref %s)", name, msg.event_id, ref)
        return self._text("error.internal", lang, ref=ref)

    def _parse(self, msg: Incoming) -> tuple[str, str] | None:
        body = msg.body.strip()
        match = _COMMAND.match(body)
        if match:
            return match.group(1), match.group(2)
        if msg.direct and body and self.table.family(QUESTION_COMMAND):
            return QUESTION_COMMAND, body
        return None

    async def _role(self, user: UserId, transport: Transport) -> Role:
        if user in self.services.settings.coordinators:
            return Role.COORDINATOR
        power = await transport.announcement_power(user)
        return Role.COORDINATOR if power >= 50 else Role.MEMBER

    async def _language(self, msg: Incoming, name: str) -> Lang:
        """English questions get English; else the stored choice; else the alias used."""
        if name == QUESTION_COMMAND and detect_language(msg.body) == "en":
            return "en"
        async with self.services.db.sessions() as session:
            stored = await stored_language(session, msg.sender)
        if stored:
            return stored
        english_alias = any(
            len(c.names) > 1 and c.names[1] == name.lower() for c in self.table.family(name)
        )
        return "en" if english_alias else self.services.settings.language

    def _unknown(self, name: str, lang: Lang, *, suggest_only: bool) -> Reply | None:
        """A hint for an unknown command; in group rooms only when one is close (another
        bot's command or a pasted path is none of our business)."""
        best = process.extractOne(
            name.lower(), self.table.names(), scorer=fuzz.ratio, score_cutoff=70
        )
        if best:
            return self._text("error.unknown_suggest", lang, name=name, suggestion=best[0])
        return None if suggest_only else self._text("error.unknown", lang, name=name)

    def _text(self, key: str, lang: Lang, **values: object) -> Reply:
        return Reply(self.services.texts.get(key, lang, **values))

    async def _reply_hooks(
        self, msg: Incoming, transport: Transport, record: bool
    ) -> tuple[list[Reply], bool] | None:
        """Replies to the bot's own posts (e.g. a comment on a feedback prompt); None when no
        hook took the message, so it can still be a question."""
        lang = await self._language(msg, "")
        try:
            async with self.services.db.session() as session:
                ctx = Context(self.services, msg, session, lang, Role.MEMBER, transport, self.table)
                taken = False
                for hook in self.table.reply_hooks:
                    if await hook(ctx):
                        taken = True
                        break
                if not taken:
                    return None
                if record:
                    session.add(HandledEvent(event_id=msg.event_id))
            await self._after_commit(ctx)
            return ctx.replies, record
        except UserError as exc:
            return [Reply(exc.text)], False
        except Exception as exc:
            if is_transient(exc):
                raise
            self.services.metrics.errors.inc()
            log.exception("reply hooks failed on event %s", msg.event_id)
            return [], False

    async def _record(self, event_id: str) -> None:
        async with self.services.db.session() as session:
            await session.merge(HandledEvent(event_id=event_id))


async def stored_language(session: AsyncSession, user: UserId) -> Lang | None:
    lang = await session.scalar(select(UserPrefs.language).where(UserPrefs.user_id == user))
    return lang  # type: ignore[return-value]
