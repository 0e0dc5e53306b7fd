"""!hilfe and !sprache: what this user may do, and in which language the bot answers."""

from __future__ import annotations

from datetime import timedelta

from bot.core import render as md
from bot.core.commands import Arg, Router
from bot.core.context import Described, Role
from bot.core.errors import UserError
from bot.services import Ctx
from bot.text.analyzer import fold
from config.settings import Lang
from storage import members

router = Router(topic="daten")

_LANGUAGES: dict[str, Lang] = {
    "de": "de",
    "deutsch": "de",
    "german": "de",
    "en": "en",
    "english": "en",
    "englisch": "en",
    "einfach": "de-simple",
    "leicht": "de-simple",
    "simple": "de-simple",
    "de-simple": "de-simple",
    "leichte-sprache": "de-simple",
}


def language_choice(text: str) -> Lang:
    try:
        return _LANGUAGES[text.strip().lower()]
    except KeyError:
        raise ValueError(text) from None


TOPICS = ("fragen", "initiativen", "termine", "daten")  # the order !hilfe names them in
EXAMPLE_AHEAD = timedelta(days=28)  # the date in an example that must lie in the future


@router.command("hilfe", "help", args=(Arg("about", optional=True, rest=True),))
async def show_help(ctx: Ctx, about: str | None) -> None:
    """Short by default (fits a phone screen); a topic or a command shows more."""
    if not about:
        ctx.reply(_overview(ctx))
        return
    word = fold(about.removeprefix("!").split()[0])
    topic = next((t for t in TOPICS if word in (t, fold(ctx.t(f"help.topic.{t}.name")))), None)
    if topic is not None:
        ctx.reply(_topic(ctx, topic))
        return
    family = [c for c in ctx.commands.family(word) if c.role <= ctx.role]
    if not family:
        raise UserError(ctx.t("help.unknown", name=about.split()[0], topics=_topic_names(ctx)))
    ctx.reply(md.blocks(_details(ctx, cmd) for cmd in family))


def _overview(ctx: Ctx) -> md.Markdown:
    texts = ctx.services.texts
    featured = sorted(
        (c for c in ctx.commands.visible(ctx.role) if c.featured and c.topic in TOPICS),
        key=lambda c: TOPICS.index(c.topic),
    )
    lines = [f"{c.usage(texts, ctx.lang)} – {c.describe(texts, ctx.lang)}" for c in featured]
    more = ctx.t("help.more", topics=_topic_names(ctx))
    title = md.bold(ctx.t("help.title"))
    listed = md.items(md.Markdown(line) for line in lines)
    return md.blocks([title, listed, more, _coordinator_section(ctx), ctx.t("help.footer")])


def _coordinator_section(ctx: Ctx) -> md.Markdown:
    """For coordinators only: their commands by topic, names alone (details per topic)."""
    if ctx.role < Role.COORDINATOR:
        return md.Markdown("")
    visible = [c for c in ctx.commands.visible(ctx.role) if c.role == Role.COORDINATOR]
    lines = []
    for topic in TOPICS:
        calls = [md.code(c.invocation(ctx.lang)) for c in visible if c.topic == topic]
        if calls:
            title = ctx.t(f"help.topic.{topic}")
            lines.append(md.Markdown(f"{title}: {' · '.join(calls)}"))
    heading = md.bold(ctx.t("help.coordinator_title"))
    return md.lines([heading, md.items(lines), ctx.t("help.coordinator_hint")])


def _topic(ctx: Ctx, topic: str) -> md.Markdown:
    texts = ctx.services.texts
    parts = [md.bold(ctx.t(f"help.topic.{topic}"))]
    for role in (Role.MEMBER, Role.COORDINATOR):
        commands = [
            c for c in ctx.commands.visible(ctx.role) if c.topic == topic and c.role == role
        ]
        if commands and role == Role.COORDINATOR:
            parts.append(md.bold(ctx.t("help.coordinator_title")))
        lines = [f"{c.usage(texts, ctx.lang)} – {c.describe(texts, ctx.lang)}" for c in commands]
        parts.append(md.items(md.Markdown(line) for line in lines))
    parts.append(ctx.t("help.details"))
    return md.blocks(parts)


def _details(ctx: Ctx, command: Described) -> md.Markdown:
    texts = ctx.services.texts
    line = md.Markdown(f"{command.usage(texts, ctx.lang)} – {command.describe(texts, ctx.lang)}")
    example = command.example(texts, ctx.lang)
    if example is None:
        return line
    day = (ctx.services.clock() + EXAMPLE_AHEAD).astimezone(ctx.settings.tz)
    shown = md.code(example.format(date=day.strftime("%d.%m.%Y")))
    return md.lines([line, ctx.t("help.example", example=shown)])


def _topic_names(ctx: Ctx) -> md.Markdown:
    prefix = ctx.commands.family("hilfe")[0].invocation(ctx.lang)
    names = (f"{prefix} {ctx.t(f'help.topic.{t}.name')}" for t in TOPICS)
    return md.Markdown(" · ".join(md.code(name) for name in names))


@router.command(
    "sprache",
    "language",
    args=(Arg("choice", language_choice, optional=True),),
    featured=True,
)
async def set_language(ctx: Ctx, choice: Lang | None) -> None:
    if choice is None:
        ctx.reply(ctx.t("language.current"))
        return
    await members.set_language(ctx.session, ctx.sender, choice)
    ctx.lang = choice
    ctx.reply(ctx.t("language.set"))
