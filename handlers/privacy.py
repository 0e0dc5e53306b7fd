"""!meine-daten and !daten-loeschen: what the bot stores about a member, and erasing it.

Both answer in the member's direct chat with the bot (`private=True`), never in a group."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.core import render as md
from bot.core.commands import Arg, Router
from bot.core.errors import UsageError
from bot.core.i18n import local_day
from bot.core.transport import Transport
from bot.knowledge.questions import terms_of
from bot.services import Ctx, Services
from bot.text.analyzer import fold
from storage import privacy
from storage.privacy import Stored, stored_about
from storage.pseudonyms import pseudonym

log = logging.getLogger(__name__)
router = Router(topic="daten")

CONFIRM_MINUTES = 5
LISTED = 10  # created records named one by one; the rest are counted
_CONFIRM_WORDS = {"bestaetigen", "confirm", "ja", "yes"}


@router.job("privacy.requests", every=timedelta(days=1))
async def purge_requests(services: Services, _: Transport) -> None:
    """Delete the deletion requests that expired unconfirmed."""
    async with services.db.transaction() as session:
        removed = await privacy.purge_forget_requests(session, services.clock())
    if removed:
        log.info("retention: deleted %d unconfirmed deletion request(s)", removed)


def _with_kept_notes(ctx: Ctx, text: md.Markdown, stored: Stored) -> md.Markdown:
    """`text`, plus what is not erased: directory entries naming the member and the public
    records they created as a coordinator."""
    lines: list[md.Markdown] = [text]
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
    return md.lines(lines)


def _day(ctx: Ctx, when: datetime) -> str:
    return local_day(ctx.lang, when, ctx.settings.tz)


def _some(ctx: Ctx, items: list[md.Markdown]) -> md.Markdown:
    """The first LISTED items, and how many more there are."""
    shown = ", ".join(items[:LISTED])
    rest = len(items) - LISTED
    return md.Markdown(shown + (" " + ctx.t("privacy.more", count=rest) if rest > 0 else ""))


def _describe(ctx: Ctx, stored: Stored) -> list[md.Markdown]:
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
    return lines + _describe_records(ctx, stored)


def _describe_records(ctx: Ctx, stored: Stored) -> list[md.Markdown]:
    """The directory entries and hand-overs naming the member, and what they created."""
    lines = []
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
    private=True,
)
async def my_data(ctx: Ctx) -> None:
    stored = await stored_about(ctx.session, ctx.sender, ctx.services.clock())
    if stored.empty:
        ctx.reply(ctx.t("privacy.nothing"))
        return
    listed = md.items(_describe(ctx, stored))
    ctx.reply(md.lines([ctx.t("privacy.title"), listed, ctx.t("privacy.footer")]))


@router.command(
    "daten-loeschen",
    "forget-me",
    args=(Arg("confirm", optional=True),),
    private=True,
)
async def forget_me(ctx: Ctx, confirm: str | None) -> None:
    who = await pseudonym(ctx.session, ctx.sender)
    now = ctx.services.clock()
    if confirm is None:
        await _ask_to_confirm(ctx, who, now)
        return
    if fold(confirm) not in _CONFIRM_WORDS:
        raise UsageError()
    if not await privacy.take_forget_request(ctx.session, who, now):
        ctx.reply(ctx.t("privacy.no_request", minutes=CONFIRM_MINUTES))
        return
    await privacy.forget(ctx.session, ctx.sender, terms_of(ctx.services.knowledge))
    kept = await stored_about(ctx.session, ctx.sender, now)
    ctx.reply(_with_kept_notes(ctx, ctx.t("privacy.deleted"), kept))


async def _ask_to_confirm(ctx: Ctx, who: str, now: datetime) -> None:
    """Note the request (valid CONFIRM_MINUTES) and say what will go and what stays."""
    stored = await stored_about(ctx.session, ctx.sender, now)
    if stored.empty:
        ctx.reply(ctx.t("privacy.nothing"))
        return
    await privacy.request_forget(ctx.session, who, now + timedelta(minutes=CONFIRM_MINUTES))
    confirm_text = ctx.t("privacy.confirm", minutes=CONFIRM_MINUTES)
    ctx.reply(_with_kept_notes(ctx, confirm_text, stored))
