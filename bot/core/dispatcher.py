"""One dispatcher for every transport: parse, check role, run the handler, catch every error."""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Generic

from rapidfuzz import fuzz, process
from sqlalchemy.exc import IntegrityError

from bot.core import render as md
from bot.core.commands import Command, CommandTable
from bot.core.context import Context, Role, S
from bot.core.errors import UsageError, UserError
from bot.core.flood import FloodLimiter
from bot.core.messages import Incoming, Reaction, Redaction, Reply, RoomId, UserId, server_of
from bot.core.transport import Transport
from bot.text.analyzer import clean_text
from config.settings import Lang, as_lang
from storage import members
from storage.db import is_transient
from storage.models import HandledEvent

log = logging.getLogger(__name__)

_COMMAND = re.compile(r"^[!/]([^\W\d_][\w-]*)\s*(.*)$", re.DOTALL)
QUESTION_COMMAND = "frage"
MAX_MESSAGE = 4_000  # characters: a longer command is refused before anything reads it


@dataclass
class Outcome:
    """What handling one message produced, before anything is sent."""

    replies: list[Reply]
    recorded: bool = False  # the handled mark went in with the handler's changes
    private: bool = False  # the replies belong in the sender's direct chat
    notices: list[tuple[UserId, Reply]] = field(default_factory=list)  # direct messages
    lang: Lang | None = None


class Dispatcher(Generic[S]):
    """Handles every incoming event of every transport; `services` are the process's."""

    def __init__(self, services: S, table: CommandTable, flood: FloodLimiter | None = None) -> None:
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
            outcome = await db.retrying(lambda: self._run(msg, transport, record, late), what)
            if record and not outcome.recorded:
                await db.retrying(lambda: self._record(msg.event_id), what)
        except Exception:  # the database stayed faulty through every retry
            outcome = Outcome([self._apology(msg, None, self.services.settings.language)])
        if late:
            return []
        sent = await self._deliver(msg, transport, outcome)
        if sent:
            self.services.metrics.latency.observe(time.perf_counter() - started)
        return sent

    async def _deliver(self, msg: Incoming, transport: Transport, outcome: Outcome) -> list[Reply]:
        """Send the replies where they belong; returns what was sent, in order.

        A private command's replies go to the sender's direct chat with the bot (opened if
        needed) and the room gets a short note; if no direct chat can be had, only a polite
        note, never the private content."""
        sent: list[Reply] = []
        room, replies = msg.room_id, outcome.replies
        to: Incoming | None = msg
        lang = outcome.lang or self.services.settings.language
        if outcome.private and replies and not msg.direct_chat:
            direct = await self._direct_room(transport, msg.sender)
            if direct != msg.room_id:  # asked in the direct chat after all
                delivered = direct is not None and await _send_all(transport, direct, replies, sent)
                note = self._text("private.sent" if delivered else "private.unreachable", lang)
                await transport.send(msg.room_id, note, to=msg)
                sent.append(note)
                if direct is None or not delivered:
                    return sent
                room, to, replies = direct, None, []
        for reply in replies:
            if await transport.send(room, reply, to=to) is None:
                # refused (too large, no right to post) or undeliverable: say so, once
                notice = self._text("error.not_sent", lang)
                await transport.send(room, notice, to=to)
                sent.append(notice)
                break
            sent.append(reply)
        for user, notice in outcome.notices:
            direct = await self._direct_room(transport, user)
            if direct is None or await transport.send(direct, notice) is None:
                failed = self._text("private.notice_failed", lang, user=user)
                await transport.send(room, failed, to=to)
                sent.append(failed)
        return sent

    async def _direct_room(self, transport: Transport, user: UserId) -> RoomId | None:
        try:
            return await transport.direct_room(user)
        except Exception:  # a network fault or a refusal: the content stays unsent
            log.exception("no direct chat with %s", server_of(user))
            return None

    async def handle_reaction(self, reaction: Reaction) -> None:
        await self._run_hooks(self.table.reaction_hooks, reaction)

    async def handle_redaction(self, redaction: Redaction) -> None:
        await self._run_hooks(self.table.redaction_hooks, redaction)

    async def _run_hooks(self, hooks: list[Any], event: Reaction | Redaction) -> None:
        """All hooks and the handled mark in one transaction; retried once on a conflict
        (two rooms' tasks writing the same row at once) and on transient database faults,
        so nothing is lost or doubled."""

        async def run_all() -> None:
            async with self.services.db.transaction() as session:
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

    async def _run(self, msg: Incoming, transport: Transport, record: bool, late: bool) -> Outcome:
        """The replies, and whether the event was recorded with the handler's changes."""
        flood = self.flood if not late else None
        now = time.monotonic()
        command_match = _COMMAND.match(msg.body.strip())
        replying = command_match is None and (msg.reply_to or msg.thread_root)
        # A flooding member's replies do not reach the hooks (nor are they answered); a reply
        # a hook takes costs a token like a command.
        if replying and self.table.reply_hooks and not (flood and flood.exhausted(msg.sender, now)):
            taken = await self._reply_hooks(msg, transport, record)
            if taken is not None:
                if flood is not None:
                    flood.allow(msg.sender, now)
                return taken
        parsed = self._parse(msg)
        if parsed is None:
            return Outcome([])
        name, rest = parsed
        if flood is not None:
            verdict = flood.allow(msg.sender, now)
            if verdict is not True:
                lang = await self._language(msg, name)
                return Outcome([] if verdict is None else [self._text("error.flood", lang)])
        lang = await self._language(msg, name)
        if len(msg.body) > MAX_MESSAGE:
            return Outcome(
                [self._text("error.too_long", lang, length=len(msg.body), limit=MAX_MESSAGE)]
            )
        resolved = self.table.resolve(name, rest)
        if resolved is None:
            family = self.table.family(name)
            if family:  # a known command without a fitting sub-command: show them all
                usages = md.lines(c.usage(self.services.texts, lang) for c in family)
                return Outcome([self._text("error.usage", lang, usage=usages)])
            unknown = self._unknown(name, lang, suggest_only=not msg.direct)
            return Outcome([unknown] if unknown else [])
        command, args_text = resolved
        if late and not command.late:
            return Outcome([])
        self.services.metrics.commands.labels(command=command.name).inc()
        role = await self._role(msg.sender, transport)
        if role < command.role:
            return Outcome([self._text("error.coordinator_only", lang)])
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
    ) -> Outcome:
        try:
            async with self.services.db.transaction() as session:
                ctx = Context(self.services, msg, session, lang, role, transport, self.table)
                await command.handler(ctx, **command.parse(args_text))
                if record:
                    session.add(HandledEvent(event_id=msg.event_id))
            await self._after_commit(ctx)
            return Outcome(ctx.replies, record, command.private, ctx.notices, ctx.lang)
        except UserError as exc:
            return Outcome([Reply(md.escape(exc.text))], private=command.private, lang=lang)
        except UsageError as exc:
            usage = self._text("error.usage", lang, usage=command.usage(self.services.texts, lang))
            reply = Reply(md.lines([exc.detail, usage.markdown]) if exc.detail else usage.markdown)
        except Exception as exc:
            if is_transient(exc):
                raise  # handle() tries the whole event again
            reply = self._apology(msg, command, lang)
        return Outcome([reply], lang=lang)

    async def _after_commit(self, ctx: Context[S]) -> None:
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
        """The stored choice; else the language of the alias used; else the default."""
        async with self.services.db.read() as session:
            stored = as_lang(await members.language(session, msg.sender))
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
    ) -> Outcome | None:
        """Replies to the bot's own posts (e.g. a comment on a feedback prompt); None when no
        hook took the message, so it can still be a question."""
        lang = await self._language(msg, "")
        try:
            async with self.services.db.transaction() as session:
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
            return Outcome(ctx.replies, record, notices=ctx.notices, lang=ctx.lang)
        except UserError as exc:
            return Outcome([Reply(md.escape(exc.text))], lang=lang)
        except Exception as exc:
            if is_transient(exc):
                raise
            self.services.metrics.errors.inc()
            log.exception("reply hooks failed on event %s", msg.event_id)
            return Outcome([])

    async def _record(self, event_id: str) -> None:
        async with self.services.db.transaction() as session:
            await session.merge(HandledEvent(event_id=event_id))


async def _send_all(
    transport: Transport,
    room: RoomId,
    replies: list[Reply],
    sent: list[Reply],
) -> bool:
    """Send `replies` in order, adding each to `sent`; False at the first one refused."""
    for reply in replies:
        if await transport.send(room, reply) is None:
            return False
        sent.append(reply)
    return True
