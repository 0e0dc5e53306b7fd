"""!meine-daten and !daten-loeschen: what the bot stores about a member, and erasing it.

Both answer in the member's direct chat with the bot (`private=True`), never in a group."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.commands import Arg, Router
from bot.core.errors import UsageError
from bot.core.i18n import local_day
from bot.core.messages import UserId
from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.questions import terms_of
from bot.services import Ctx
from bot.text.analyzer import fold
from storage import questions
from storage.initiatives import forget_handovers, handovers_of
from storage.models import (
    BotState,
    CalendarEvent,
    DirectRoom,
    FeedbackComment,
    FeedbackRating,
    Initiative,
    KnowledgeEntry,
    UserPrefs,
)
from storage.pseudonyms import pseudonym
from storage.questions import MemberQuestion

router = Router()

CONFIRM_MINUTES = 5
LISTED = 10  # created records named one by one; the rest are counted
_CONFIRM_WORDS = {"bestaetigen", "confirm", "ja", "yes"}


@dataclass
class Stored:
    """Everything kept about one member (found by Matrix ID or by their pseudonym)."""

    language: str | None = None
    direct_rooms: list[str] = field(default_factory=list)
    ratings: list[tuple[str, int, datetime]] = field(default_factory=list)  # title, stars, when
    comments: list[tuple[str, str, datetime]] = field(default_factory=list)  # title, text, when
    contact_of: list[str] = field(default_factory=list)  # initiatives naming them as contact
    questions: list[MemberQuestion] = field(default_factory=list)  # ones I could not answer
    handovers: list[tuple[str, str, str]] = field(default_factory=list)  # name, to, asked by
    events_created: list[tuple[int, str]] = field(default_factory=list)  # as a coordinator
    entries_created: list[str] = field(default_factory=list)  # knowledge entries' questions

    @property
    def empty(self) -> bool:
        return not (
            self.language
            or self.direct_rooms
            or self.ratings
            or self.comments
            or self.contact_of
            or self.questions
            or self.handovers
            or self.events_created
            or self.entries_created
        )


async def stored_about(session: AsyncSession, user: UserId, now: datetime) -> Stored:
    who = await pseudonym(session, user)
    ratings = await session.execute(
        select(CalendarEvent.title, FeedbackRating.stars, FeedbackRating.updated_at)
        .join(CalendarEvent, CalendarEvent.id == FeedbackRating.event_id)
        .where(FeedbackRating.pseudonym == who)
        .order_by(FeedbackRating.updated_at)
    )
    comments = await session.execute(
        select(CalendarEvent.title, FeedbackComment.text, FeedbackComment.created_at)
        .join(CalendarEvent, CalendarEvent.id == FeedbackComment.event_id)
        .where(FeedbackComment.pseudonym == who)
        .order_by(FeedbackComment.created_at)
    )
    events = await session.execute(
        select(CalendarEvent.id, CalendarEvent.title)
        .where(CalendarEvent.created_by == user)
        .order_by(CalendarEvent.id)
    )
    entries = await session.scalars(
        select(KnowledgeEntry.question)
        .where(KnowledgeEntry.created_by == user)
        .order_by(KnowledgeEntry.created_at)
    )
    return Stored(
        language=await session.scalar(select(UserPrefs.language).where(UserPrefs.user_id == user)),
        direct_rooms=list(
            await session.scalars(select(DirectRoom.room_id).where(DirectRoom.user_id == user))
        ),
        ratings=[tuple(row) for row in ratings],  # type: ignore[misc]
        comments=[tuple(row) for row in comments],  # type: ignore[misc]
        contact_of=await contact_of(session, user),
        questions=await questions.questions_of(session, who),
        handovers=await handovers_of(session, user, now),
        events_created=[tuple(row) for row in events],  # type: ignore[misc]
        entries_created=list(entries),
    )


async def contact_of(session: AsyncSession, user: UserId) -> list[str]:
    """The initiatives whose public directory entry names `user` as the contact."""
    return list(await session.scalars(select(Initiative.name).where(Initiative.contact == user)))


async def forget(session: AsyncSession, user: UserId, index: KnowledgeIndex) -> None:
    """Delete the member's language choice, direct-room records, ratings, comments, questions
    (a question group left empty goes too) and pending contact hand-overs. Public records
    (directory entries naming them, events and knowledge entries they created as a
    coordinator) stay; the member is told so."""
    who = await pseudonym(session, user)
    await session.execute(delete(UserPrefs).where(UserPrefs.user_id == user))
    await session.execute(delete(DirectRoom).where(DirectRoom.user_id == user))
    await session.execute(delete(FeedbackRating).where(FeedbackRating.pseudonym == who))
    await session.execute(delete(FeedbackComment).where(FeedbackComment.pseudonym == who))
    await questions.forget(session, who, terms_of(index))
    await forget_handovers(session, user)


def _with_kept_notes(ctx: Ctx, text: str, stored: Stored) -> str:
    """`text`, plus what is not erased: directory entries naming the member and the public
    records they created as a coordinator."""
    lines = [text]
    if stored.contact_of:
        lines.append(ctx.t("privacy.contact_kept", names=", ".join(stored.contact_of)))
    if stored.events_created or stored.entries_created:
        lines.append(
            ctx.t(
                "privacy.created_kept",
                events=len(stored.events_created),
                entries=len(stored.entries_created),
            )
        )
    return "\n".join(lines)


def _day(ctx: Ctx, when: datetime) -> str:
    return local_day(ctx.services.texts, ctx.lang, when, ctx.settings.tz)


def _some(ctx: Ctx, items: list[str]) -> str:
    """The first LISTED items, and how many more there are."""
    shown = ", ".join(items[:LISTED])
    rest = len(items) - LISTED
    return shown + (" " + ctx.t("privacy.more", count=rest) if rest > 0 else "")


def _describe(ctx: Ctx, stored: Stored) -> list[str]:
    lines = []
    if stored.language:
        lines.append(ctx.t("privacy.language", language=stored.language))
    if stored.direct_rooms:
        lines.append(ctx.t("privacy.direct_rooms", count=len(stored.direct_rooms)))
    for title, stars, when in stored.ratings:
        lines.append(ctx.t("privacy.rating", title=title, stars=stars, date=_day(ctx, when)))
    for title, text, when in stored.comments:
        lines.append(ctx.t("privacy.comment", title=title, text=text, date=_day(ctx, when)))
    for question in stored.questions:
        date = _day(ctx, question.asked_at)
        lines.append(ctx.t("privacy.question", text=question.text, date=date))
    if stored.contact_of:
        lines.append(ctx.t("privacy.contact", names=", ".join(stored.contact_of)))
    for name, to, by in stored.handovers:
        if to == ctx.sender:
            lines.append(ctx.t("privacy.handover_to_you", name=name, by=by))
        else:
            lines.append(ctx.t("privacy.handover_by_you", name=name, to=to))
    if stored.events_created:
        items = [ctx.t("privacy.event_item", id=i, title=t) for i, t in stored.events_created]
        lines.append(ctx.t("privacy.events_created", count=len(items), items=_some(ctx, items)))
    if stored.entries_created:
        items = [
            ctx.t("privacy.entry_item", question=" ".join(q.split())[:60])
            for q in stored.entries_created
        ]
        lines.append(ctx.t("privacy.entries_created", count=len(items), items=_some(ctx, items)))
    return lines


@router.command(
    "meine-daten",
    "my-data",
    help={
        "de": "zeigt, was ich über Sie gespeichert habe (im Direktchat)",
        "en": "shows what I have stored about you (in a direct chat)",
        "de-simple": "zeigt: Das weiß der Bot über Sie",
    },
    private=True,
)
async def my_data(ctx: Ctx) -> None:
    stored = await stored_about(ctx.session, ctx.sender, ctx.services.clock())
    if stored.empty:
        ctx.reply(ctx.t("privacy.nothing"))
        return
    lines = [ctx.t("privacy.title"), *("• " + line for line in _describe(ctx, stored))]
    lines.append(ctx.t("privacy.footer"))
    ctx.reply("\n".join(lines))


def _request_key(who: str) -> str:
    return f"forget-{who[:32]}"


@router.command(
    "daten-loeschen",
    "forget-me",
    help={
        "de": "löscht, was ich über Sie gespeichert habe (mit Bestätigung, im Direktchat)",
        "en": "deletes what I have stored about you (asks for confirmation, in a direct chat)",
        "de-simple": "löscht Ihre Daten beim Bot",
    },
    args=(Arg("confirm", "bestätigen", optional=True, label_en="confirm"),),
    private=True,
)
async def forget_me(ctx: Ctx, confirm: str | None) -> None:
    who = await pseudonym(ctx.session, ctx.sender)
    now = ctx.services.clock()
    key = _request_key(who)
    if confirm is None:
        stored = await stored_about(ctx.session, ctx.sender, now)
        if stored.empty:
            ctx.reply(ctx.t("privacy.nothing"))
            return
        expires = (now + timedelta(minutes=CONFIRM_MINUTES)).isoformat(timespec="seconds")
        await ctx.session.merge(BotState(key=key, value=expires))
        confirm_text = ctx.t("privacy.confirm", minutes=CONFIRM_MINUTES)
        ctx.reply(_with_kept_notes(ctx, confirm_text, stored))
        return
    if fold(confirm) not in _CONFIRM_WORDS:
        raise UsageError()
    request = await ctx.session.get(BotState, key)
    if request is None or request.value < now.isoformat(timespec="seconds"):
        ctx.reply(ctx.t("privacy.no_request", minutes=CONFIRM_MINUTES))
        return
    await ctx.session.delete(request)
    await forget(ctx.session, ctx.sender, ctx.services.knowledge)
    kept = await stored_about(ctx.session, ctx.sender, now)
    ctx.reply(_with_kept_notes(ctx, ctx.t("privacy.deleted"), kept))
