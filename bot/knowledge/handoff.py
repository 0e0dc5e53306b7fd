"""Handoff: a question the bot cannot answer reaches the coordination team, and the answer
comes back.

The database is the source of truth, as for the event announcer. A question filed into a
group links its message (room, event, thread); a new group claims its post in the
coordination room as `pending` in the same transaction. The delivery (`Handoff.deliver`)
then posts what is pending with a transaction id derived from the group, edits posts whose
count or state changed, relays every pending answer to every asker with a transaction id
derived from (answer, question), and confirms to the coordinator. Each step is marked done
only after the homeserver confirmed it, and resending an unconfirmed one reuses its
transaction id: nothing is posted twice across a crash, nothing is lost across a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import render as md
from bot.core.i18n import Texts
from bot.core.messages import EventId, Incoming, Reply, RoomId, UserId
from bot.core.transport import Transport
from bot.knowledge.entries import Entry, entry_from_answer
from bot.knowledge.learning import Learning, answer_group, learn
from config.settings import Lang, as_lang
from storage import handoff, questions
from storage.handoff import ANSWER, CLOSED, CORRECTION, FAILED, PENDING, SENT, SKIPPED, Item
from storage.models import HandoffLink, HandoffPost
from storage.pseudonyms import pseudonym

log = logging.getLogger(__name__)

CHECK_MARKS = frozenset({"✅", "✔️", "✔", "☑️"})  # a coordinator's "save this answer"
LINKS_KEPT = timedelta(days=30)  # after the item was answered or closed
BATCH = 100  # rows handled per delivery step
MAX_TRIES = 3  # deliveries an answer gets before it counts as failed
STOP_GRACE = 10.0  # seconds a delivery in flight may take at shutdown


class HandoffServices(Learning, Protocol):
    """What the handoff needs of the process's services (bot/services.py)."""

    @property
    def texts(self) -> Texts: ...


# -- words ---------------------------------------------------------------------------------


def _rooms(texts: Texts, lang: Lang, rooms: Sequence[str | None]) -> str:
    names = Counter(
        texts.get("handoff.direct_chat", lang)
        if name is None
        else (name or texts.get("handoff.unnamed_room", lang))
        for name in rooms
    )
    return ", ".join(name if n == 1 else f"{name} ({n}×)" for name, n in names.items())


def compose_item(texts: Texts, lang: Lang, item: Item, saved: bool) -> Reply:
    """The coordination room's post of a question group: `Frage #N`, the question, where it
    was asked (room names, never who asked), what happened and how to answer."""
    lines = [texts.get("handoff.post.title", lang, number=item.group_id, count=item.count)]
    lines.append(texts.get("handoff.post.question", lang, question=item.text))
    if item.rooms:
        lines.append(texts.get("handoff.post.rooms", lang, rooms=_rooms(texts, lang, item.rooms)))
    if item.state == questions.CLOSED:
        lines.append(texts.get("handoff.post.closed", lang))
    elif saved or item.state == questions.ANSWERED:
        lines.append(texts.get("handoff.post.saved", lang))
    elif item.answers:
        lines.append(texts.get("handoff.post.answered", lang, answers=item.answers))
        lines.append(texts.get("handoff.post.how_to_save", lang))
    else:
        lines.append(texts.get("handoff.post.how_to", lang, number=item.group_id))
    return Reply(md.lines(lines))


def compose_relay(texts: Texts, lang: Lang, kind: str, answer: str) -> Reply:
    """What an asker gets: the coordination team's answer, a correction, or the closing."""
    if kind == CLOSED:
        return Reply(texts.get("handoff.relay.closed", lang))
    key = "handoff.relay.correction" if kind == CORRECTION else "handoff.relay.answer"
    return Reply(md.lines([md.bold(texts.get(key, lang)), answer]))


def post_txn(group_id: int, first_asked: datetime | None) -> str:
    stamp = int(first_asked.timestamp() * 1000) if first_asked else 0
    return f"handoff-{group_id}-{stamp}"


# -- what happens in the handlers' transactions -----------------------------------------------


async def link_question(
    session: AsyncSession,
    msg: Incoming,
    lang: str,
    room_name: str | None,
    now: datetime,
) -> int | None:
    """Link the question just filed by `msg.sender` to its message, and claim its group's post
    (once) or count it on the post; returns the group's number (None: nothing was filed)."""
    filed = await handoff.latest_question(session, await pseudonym(session, msg.sender))
    if filed is None:
        return None
    question_id, group_id = filed
    first = await handoff.first_asked(session, group_id)
    if not await handoff.claim_post(session, group_id, post_txn(group_id, first), now):
        await handoff.changed(session, group_id)
    link = HandoffLink(
        question_id=question_id,
        group_id=group_id,
        room_id=msg.room_id,
        event_id=msg.event_id,
        thread_root=msg.thread_root,
        asker=msg.sender,
        language=lang,
        room_name=room_name,
    )
    await handoff.add_link(session, link)
    return group_id


async def take_answer(
    session: AsyncSession, post: HandoffPost, msg: Incoming, now: datetime
) -> int:
    """A coordinator's answer to the item: relayed to every asker (a second one as a
    correction); returns to how many."""
    kind = CORRECTION if post.last_answer is not None else ANSWER
    where = (msg.room_id, msg.event_id, msg.thread_root)
    return await handoff.add_answer(session, post.group_id, kind, msg.body, where, msg.sender, now)


async def close_item(session: AsyncSession, group_id: int, msg: Incoming, now: datetime) -> int:
    """The item is closed without an answer: every asker is told politely."""
    if await handoff.post_of(session, group_id) is None:
        return 0
    where = (msg.room_id, msg.event_id, msg.thread_root)
    return await handoff.add_answer(session, group_id, CLOSED, "", where, msg.sender, now)


async def answered_by_command(
    session: AsyncSession, group_id: int, text: str, msg: Incoming, now: datetime
) -> bool:
    """`!faq antwort N TEXT` on a handed-off item: the askers get the answer too (unless it
    is the one relayed already); True when the item has a post."""
    post = await handoff.post_of(session, group_id)
    if post is None:
        return False
    if text != post.last_answer:
        await take_answer(session, post, msg, now)
    await handoff.mark_saved(session, group_id, None)  # the command's reply says so
    return True


async def save_answer(
    session: AsyncSession, post: HandoffPost, by: str, now: datetime
) -> Entry | None:
    """A coordinator's ✅: the last relayed answer becomes a knowledge entry (like
    `!faq antwort N TEXT`); None when there is nothing (more) to save."""
    if post.last_answer is None:
        return None
    group = await questions.get_open(session, post.group_id)
    if group is not None:
        entry = await answer_group(session, group, post.last_answer, by, now)
    elif saved := await handoff.resave(session, post.group_id, post.last_answer):
        entry = entry_from_answer(*saved, post.last_answer)  # a correction after saving
    else:
        return None
    await handoff.mark_saved(session, post.group_id, by)
    return entry


async def forget_links(services: HandoffServices) -> int:
    """Delete the links of items answered or closed more than LINKS_KEPT ago."""
    async with services.db.transaction() as session:
        removed = await handoff.forget_links(session, services.clock() - LINKS_KEPT)
    if removed:
        log.info("handoff: forgot %d link(s) to answered questions", removed)
    return removed


# -- delivery --------------------------------------------------------------------------------


class Handoff:
    """Delivers what the database says is due: posts, edits, relays, confirmations. One
    delivery at a time; `kick` starts one after a commit, a periodic job catches the rest."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self.services: HandoffServices | None = None
        self.transport: Transport | None = None

    def attach(self, services: HandoffServices, transport: Transport) -> None:
        self.services, self.transport = services, transport

    def kick(self, entry: Entry | None = None) -> None:
        """Deliver soon (after learning `entry`), in the background."""
        if self.services is None or self.transport is None:
            return
        task = asyncio.get_running_loop().create_task(self._kicked(entry))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _kicked(self, entry: Entry | None) -> None:
        assert self.services is not None and self.transport is not None
        try:
            if entry is not None:
                await learn(self.services, entry)
            await self.deliver(self.services, self.transport)
        except Exception:
            log.exception("handoff delivery failed; the next run tries again")

    async def settled(self) -> None:
        """Until every kicked delivery is done (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        """Let a delivery in flight be confirmed rather than resent at the next start."""
        try:
            async with asyncio.timeout(STOP_GRACE):
                await self.settled()
                async with self._lock:
                    pass
        except TimeoutError:
            log.warning("a handoff delivery was still in flight at shutdown")

    async def deliver(self, services: HandoffServices, transport: Transport) -> None:
        async with self._lock:
            room = transport.coordination_room()
            if room is not None:
                await self._post(services, transport, room)
            await self._relay(services, transport)  # the askers first: they wait
            await self._confirm(services, transport)
            await self._edit(services, transport)
            await self._tell_saves(services, transport)

    async def _post(self, services: HandoffServices, transport: Transport, room: RoomId) -> None:
        lang = services.settings.language
        async with services.db.read() as session:
            pending = await handoff.pending_posts(session, BATCH)
            items = [(post, await handoff.item(session, post.group_id)) for post in pending]
        for post, item in items:
            if item is None:
                continue
            reply = compose_item(services.texts, lang, item, post.saved_by is not None)
            sent = await transport.send(room, reply, txn_id=post.txn_id)
            if sent is None:
                log.error("post of question #%d unconfirmed; tried again later", post.group_id)
                continue
            async with services.db.transaction() as session:
                await handoff.mark_posted(session, post.group_id, room, sent, post.version)

    async def _edit(self, services: HandoffServices, transport: Transport) -> None:
        lang = services.settings.language
        async with services.db.read() as session:
            outdated = await handoff.outdated_posts(session, BATCH)
            items = [(post, await handoff.item(session, post.group_id)) for post in outdated]
        for post, item in items:
            if item is None or post.room_id is None or post.matrix_event_id is None:
                continue
            saved = post.saved_by is not None or post.save_told
            reply = compose_item(services.texts, lang, item, saved)
            txn = f"{post.txn_id}-v{post.version}"
            edited = await transport.edit(
                RoomId(post.room_id), EventId(post.matrix_event_id), reply, txn_id=txn
            )
            if edited is None:
                log.warning("post of question #%d not edited; tried again later", post.group_id)
                continue
            async with services.db.transaction() as session:
                await handoff.mark_shown(session, post.group_id, post.version)

    async def _relay(self, services: HandoffServices, transport: Transport) -> None:
        async with services.db.read() as session:
            due = await handoff.pending_deliveries(session, BATCH)
        left = failed = 0
        for delivery in due:
            room, asker = RoomId(delivery.room_id), UserId(delivery.asker)
            state, tries = SENT, delivery.tries + 1
            if not await transport.present(room, asker):
                state = SKIPPED
                left += 1
            else:
                lang = as_lang(delivery.language) or services.settings.language
                reply = compose_relay(services.texts, lang, delivery.kind, delivery.text)
                to = Incoming(
                    room,
                    asker,
                    EventId(delivery.event_id),
                    "",
                    services.clock(),
                    thread_root=EventId(delivery.thread_root) if delivery.thread_root else None,
                )
                txn = f"handoff-relay-{delivery.answer_id}-{delivery.question_id}"
                if await transport.send(room, reply, to=to, txn_id=txn) is None:
                    state = FAILED if tries >= MAX_TRIES else PENDING
                    failed += state == FAILED
            async with services.db.transaction() as session:
                await handoff.mark_relay(
                    session, delivery.answer_id, delivery.question_id, state, tries
                )
        if left or failed:
            log.info("handoff: %d asker(s) had left, %d not reachable", left, failed)

    async def _confirm(self, services: HandoffServices, transport: Transport) -> None:
        lang = services.settings.language
        async with services.db.read() as session:
            done = await handoff.unconfirmed(session, BATCH)
        for answer in done:
            missed = services.texts.get("handoff.confirm_missed", lang, count=answer.missed)
            sent = services.texts.get("handoff.confirm", lang, count=answer.sent)
            text = md.Markdown(f"{sent} {missed}" if answer.missed else sent)
            to = Incoming(
                RoomId(answer.room_id),
                UserId(answer.answered_by),
                EventId(answer.event_id),
                "",
                services.clock(),
                thread_root=EventId(answer.thread_root) if answer.thread_root else None,
            )
            txn = f"handoff-confirm-{answer.answer_id}-{answer.group_id}"
            if await transport.send(to.room_id, Reply(text), to=to, txn_id=txn) is None:
                continue
            async with services.db.transaction() as session:
                await handoff.mark_confirmed(session, answer.answer_id)

    async def _tell_saves(self, services: HandoffServices, transport: Transport) -> None:
        lang = services.settings.language
        async with services.db.read() as session:
            saved = await handoff.saves_to_tell(session, BATCH)
        for post in saved:
            assert post.room_id and post.matrix_event_id and post.saved_by
            text = services.texts.get("handoff.saved", lang, number=post.group_id)
            root = EventId(post.matrix_event_id)
            to = Incoming(
                RoomId(post.room_id),
                UserId(post.saved_by),
                root,
                "",
                services.clock(),
                thread_root=root,
            )
            if await transport.send(
                to.room_id, Reply(text), to=to, txn_id=f"{post.txn_id}-saved-{post.version}"
            ):
                async with services.db.transaction() as session:
                    await handoff.mark_save_told(session, post.group_id)
