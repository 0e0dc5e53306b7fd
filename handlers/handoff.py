"""Handoff in chat: questions the bot cannot answer go to the coordination room
(BOT_COORDINATION_ROOM); a coordinator's reply to the item's post there (or in its thread) is
relayed to every asker, a coordinator's ✅ on the post saves the answer as a knowledge entry."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.commands import Router
from bot.core.messages import Reaction, UserId
from bot.core.transport import Transport
from bot.knowledge import handoff
from bot.knowledge.questions import Filed
from bot.services import Ctx, Services
from storage import handoff as records

router = Router()

COORDINATOR_POWER = 50  # as for coordinator commands: this power in an announcement room
DELIVERY = "handoff.deliver"


def enabled(ctx: Ctx) -> bool:
    """A coordination room is set and joined (never in the shell), and this is not it."""
    room = ctx.transport.coordination_room()
    return bool(ctx.settings.coordination_room) and room is not None and ctx.msg.room_id != room


async def is_coordinator(services: Services, transport: Transport | None, user: UserId) -> bool:
    """Coordinators as for coordinator commands: listed, or powerful in an announcement room."""
    if user in services.settings.coordinators:
        return True
    return transport is not None and await transport.announcement_power(user) >= COORDINATOR_POWER


async def hand_off(ctx: Ctx, filed: Filed) -> bool:
    """After the Q&A filed a question it could not answer: pass it to the coordination team;
    True when it did (or did before: the member asked it already)."""
    if not enabled(ctx) or filed not in (Filed.NEW, Filed.JOINED, Filed.DUPLICATE):
        return False
    if filed is Filed.DUPLICATE:
        return True
    msg = ctx.msg
    name = None if msg.direct_chat else (ctx.transport.room_name(msg.room_id) or "")
    number = await handoff.link_question(ctx.session, msg, ctx.lang, name, ctx.services.clock())
    _deliver_after_commit(ctx)
    return number is not None


async def close(ctx: Ctx, number: int) -> None:
    """`!faq schließen N`: the askers of a handed-off item are told politely."""
    if await handoff.close_item(ctx.session, number, ctx.msg, ctx.services.clock()):
        _deliver_after_commit(ctx)


async def answered(ctx: Ctx, number: int, text: str) -> None:
    """`!faq antwort N TEXT`: the askers of a handed-off item get the answer too."""
    if await handoff.answered_by_command(ctx.session, number, text, ctx.msg, ctx.services.clock()):
        _deliver_after_commit(ctx)


def _deliver_after_commit(ctx: Ctx) -> None:
    async def kick() -> None:
        ctx.services.handoff.kick()

    ctx.after_commit.append(kick)


@router.on_reply
async def coordinator_answer(ctx: Ctx) -> bool:
    """A reply to an item's post, or a message in its thread: a coordinator's answer is
    relayed; anyone else's is ignored (and not taken for a question)."""
    room = ctx.transport.coordination_room()
    if room is None or ctx.msg.room_id != room:
        return False
    related = [e for e in (ctx.msg.thread_root, ctx.msg.reply_to) if e]
    post = await records.post_by_event(ctx.session, room, related)
    if post is None:
        return False
    if ctx.msg.body.strip() and await is_coordinator(ctx.services, ctx.transport, ctx.sender):
        await handoff.take_answer(ctx.session, post, ctx.msg, ctx.services.clock())
        _deliver_after_commit(ctx)
    return True


@router.on_reaction
async def save_on_check(services: Services, session: AsyncSession, reaction: Reaction) -> None:
    """A coordinator's ✅ on an item's post saves its last relayed answer."""
    if reaction.key not in handoff.CHECK_MARKS:
        return
    post = await records.post_by_event(session, reaction.room_id, [reaction.reacts_to])
    if post is None or not await is_coordinator(
        services, services.handoff.transport, reaction.sender
    ):
        return
    entry = await handoff.save_answer(session, post, reaction.sender, services.clock())
    if entry is not None:
        records.after_commit(session, lambda: services.handoff.kick(entry))


@router.job(DELIVERY, every=timedelta(seconds=30), overlap=True)
async def deliver(services: Services, transport: Transport) -> None:
    """What is due and was not delivered at once (e.g. after a restart)."""
    if services.handoff.transport is None:
        services.handoff.attach(services, transport)
    await services.handoff.deliver(services, transport)


@router.job("handoff.retention", every=timedelta(days=1))
async def retention(services: Services, _: Transport) -> None:
    await handoff.forget_links(services)
