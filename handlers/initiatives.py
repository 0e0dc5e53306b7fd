"""The initiatives directory: search, profiles, matching by topic, and upkeep."""

from __future__ import annotations

from datetime import timedelta

from bot.core import render as md
from bot.core.commands import Arg, Router
from bot.core.context import Role
from bot.core.errors import UsageError, UserError
from bot.core.messages import UserId
from bot.core.transport import Transport
from bot.initiatives import handover
from bot.initiatives.csv_io import problems
from bot.initiatives.directory import WATCH_INTERVAL, Directory
from bot.initiatives.edits import EDITABLE, edited, may_edit, new_row, parse_edit
from bot.initiatives.handover import HANDOVER_VALID, needs_confirmation
from bot.initiatives.intros import introduction_round
from bot.initiatives.matcher import Hit, Matcher
from bot.services import Ctx, Services
from storage import initiatives, reports
from storage.initiatives import InitiativeRow, by_name, to_row, upsert
from storage.models import ContactHandover, Initiative

router = Router(topic="initiativen")


@router.job("directory.watch", every=timedelta(seconds=WATCH_INTERVAL))
async def watch_directory(services: Services, _: Transport) -> None:
    """Pick up what another process (the CLI import) changed."""
    await services.directory.refresh_from(services.db)


@router.job("introductions", cron=lambda settings: settings.intro_schedule)
async def introduce(services: Services, transport: Transport) -> None:
    await introduction_round(services, services.directory, transport)


@router.job("initiatives.handovers", every=timedelta(days=1))
async def expire_handovers(services: Services, _: Transport) -> None:
    """Delete the contact hand-overs that expired unconfirmed."""
    async with services.db.transaction() as session:
        await initiatives.purge_handovers(session, services.clock())


_MAX_LIST = 25


def _directory(ctx: Ctx) -> Directory:
    return ctx.services.directory


async def _matcher(ctx: Ctx) -> Matcher:
    return await ctx.services.directory.refresh(ctx.session)


def profile_line(row: InitiativeRow, bundesland: str | None) -> str:
    place = (
        f"{row.region} ({bundesland})"
        if bundesland and bundesland not in row.region
        else row.region
    )
    return f"{row.name} – {place}: {', '.join(row.topics)}"


def hit_lines(hits: list[Hit], ctx: Ctx) -> list[md.Markdown]:
    """One line per match: name, region and why it fits."""
    return [
        md.Markdown(
            f"{md.escape(hit.name)} ({md.escape(hit.region)}) – "
            f"{hit.explain(ctx.services.texts, ctx.lang) or '–'}"
        )
        for hit in hits
    ]


@router.command(
    "initiativen",
    "initiatives",
    args=(Arg("text", optional=True, rest=True),),
    featured=True,
)
async def search(ctx: Ctx, text: str | None) -> None:
    names = (await _matcher(ctx)).search(text or "", k=_MAX_LIST + 1)
    if not names:
        raise UserError(ctx.t("initiatives.none_found", query=text or ""))
    lines = []
    for name in names[:_MAX_LIST]:
        initiative = await by_name(ctx.session, name)
        if initiative is not None:
            lines.append(profile_line(to_row(initiative), initiative.bundesland))
    title = ctx.t("initiatives.found", count=len(lines)) if text else ctx.t("initiatives.all")
    more = ctx.t("initiatives.more") if len(names) > _MAX_LIST else ""
    ctx.reply(md.lines([title, md.items(lines), more]))


@router.command(
    "initiative",
    args=(Arg("name", rest=True),),
)
async def profile(ctx: Ctx, name: str) -> None:
    initiative = await _find(ctx, name)
    row = to_row(initiative)
    region = row.region + (f" ({initiative.bundesland})" if initiative.bundesland else "")
    contact = md.person(row.contact) if row.contact else ""
    lines = [
        md.bold(row.name),
        md.Markdown(f"{ctx.t('initiatives.region')}: {md.escape(region)}"),
        md.Markdown(f"{ctx.t('initiatives.topics')}: {md.escape(', '.join(row.topics))}"),
        row.description,
        md.Markdown(f"{ctx.t('initiatives.contact')}: {contact}") if contact else "",
        md.escape(row.website) if row.website else "",
    ]
    ctx.reply(md.lines(lines))


@router.command(
    "passend",
    "match",
    args=(Arg("text", rest=True),),
    featured=True,
)
async def match(ctx: Ctx, text: str) -> None:
    found, hits = (await _matcher(ctx)).match(text, k=5)
    if not hits:
        raise UserError(ctx.t("initiatives.no_match", query=text))
    now = ctx.services.clock()
    reports.record_usage(ctx.session, reports.MATCH, reports.FOUND, ctx.lang, now)
    title = (
        ctx.t("initiatives.similar_to", name=found)
        if found
        else ctx.t("initiatives.fit_topic", topic=text)
    )
    ctx.reply(md.lines([title, md.numbered(hit_lines(hits, ctx))]))


@router.command(
    "initiative",
    sub=("anlegen", "add"),
    role=Role.COORDINATOR,
    args=(Arg("spec", rest=True),),
)
async def add(ctx: Ctx, spec: str) -> None:
    row = new_row(spec)
    if row is None:
        raise UsageError()
    _refuse_if_invalid(ctx, row, topic_needed=True)
    created, _ = await upsert(ctx.session, [row], _directory(ctx).bundesland_of)
    key = "initiatives.added" if created else "initiatives.updated"
    ctx.reply(ctx.t(key, name=row.name))


@router.command(
    "initiative",
    sub=("entfernen", "remove"),
    role=Role.COORDINATOR,
    args=(Arg("name", rest=True),),
)
async def remove(ctx: Ctx, name: str) -> None:
    initiative = await by_name(ctx.session, name)
    if initiative is None:
        raise UserError(ctx.t("initiatives.not_found_exact", name=name))
    await initiatives.remove(ctx.session, initiative)
    ctx.reply(ctx.t("initiatives.removed", name=initiative.name))


@router.command(
    "initiative",
    sub=("bearbeiten", "edit"),
    args=(Arg("spec", rest=True),),
)
async def edit(ctx: Ctx, spec: str) -> None:
    parsed = parse_edit(spec)
    if parsed is None:
        raise UsageError(ctx.t("initiatives.fields", fields=", ".join(EDITABLE)))
    name, attribute, value = parsed
    initiative = await by_name(ctx.session, name)  # exact: never edit a look-alike
    if initiative is None:
        raise UserError(ctx.t("initiatives.not_found_exact", name=name))
    if not may_edit(initiative.contact, ctx.sender, coordinator=ctx.role >= Role.COORDINATOR):
        raise UserError(ctx.t("initiatives.not_yours", name=initiative.name))
    row = to_row(initiative)
    new = edited(row, attribute, value)
    _refuse_if_invalid(ctx, new)
    if needs_confirmation(new.contact, row.contact, ctx.sender):
        await _ask_new_contact(ctx, initiative, new.contact)
        return
    await initiatives.change(
        ctx.session, initiative, new, _directory(ctx).bundesland_of(new.region)
    )
    ctx.reply(ctx.t("initiatives.updated", name=initiative.name))


def _refuse_if_invalid(ctx: Ctx, row: InitiativeRow, *, topic_needed: bool = False) -> None:
    """Nothing is stored when a field is wrong: the member gets every problem at once."""
    found = [problem.text(ctx.services.texts, ctx.lang) for problem in problems(row)]
    if topic_needed and not row.topics:
        found.append(ctx.t("initiatives.topic_needed"))
    if found:
        raise UserError(ctx.t("initiatives.invalid", problems=md.items(found)))


async def _ask_new_contact(ctx: Ctx, initiative: Initiative, new_contact: str) -> None:
    """Store the hand-over as pending and ask the new contact in a direct chat."""
    await handover.ask(ctx.session, initiative, new_contact, ctx.sender, ctx.services.clock())
    days = HANDOVER_VALID.days
    lang = await ctx.language_of(UserId(new_contact))
    ask = ctx.services.texts.get(
        "initiatives.handover.ask", lang, name=initiative.name, by=ctx.sender, days=days
    )
    ctx.tell(UserId(new_contact), ask)
    old = initiative.contact or ctx.t("initiatives.handover.nobody")
    ctx.reply(
        ctx.t(
            "initiatives.handover.pending",
            name=initiative.name,
            contact=new_contact,
            old=old,
            days=days,
        )
    )


async def _pending(ctx: Ctx, name: str) -> tuple[Initiative, ContactHandover]:
    """The initiative named exactly `name` and its unexpired hand-over to the sender."""
    found = await handover.pending(ctx.session, name, ctx.sender, ctx.services.clock())
    if found is None:
        raise UserError(ctx.t("initiatives.handover.none", name=name, days=HANDOVER_VALID.days))
    return found


@router.command(
    "initiative",
    sub=("bestätigen", "confirm"),
    args=(Arg("name", rest=True),),
)
async def confirm_handover(ctx: Ctx, name: str) -> None:
    initiative, pending = await _pending(ctx, name)
    await initiatives.confirm_handover(ctx.session, initiative, pending)
    ctx.reply(ctx.t("initiatives.handover.confirmed", name=initiative.name))


@router.command(
    "initiative",
    sub=("ablehnen", "decline"),
    args=(Arg("name", rest=True),),
)
async def decline_handover(ctx: Ctx, name: str) -> None:
    initiative, pending = await _pending(ctx, name)
    await initiatives.drop_handover(ctx.session, pending)
    ctx.reply(ctx.t("initiatives.handover.declined", name=initiative.name))


async def _find(ctx: Ctx, name: str) -> Initiative:
    found = (await _matcher(ctx)).find(name)
    initiative = await by_name(ctx.session, found) if found else None
    if initiative is None:
        raise UserError(ctx.t("initiatives.not_found", name=name))
    return initiative


def on_off(text: str) -> bool:
    value = text.strip().lower()
    if value in ("an", "on", "ein", "ja", "yes"):
        return True
    if value in ("aus", "off", "nein", "no"):
        return False
    raise ValueError(text)


@router.command(
    "vorstellen",
    "intros",
    args=(Arg("enabled", on_off),),
)
async def intros(ctx: Ctx, enabled: bool) -> None:
    names = await initiatives.set_intros(ctx.session, ctx.sender, enabled)
    if not names:
        raise UserError(ctx.t("intros.no_initiative"))
    ctx.reply(ctx.t("intros.on" if enabled else "intros.off", names=", ".join(names)))
