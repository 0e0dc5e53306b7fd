"""!hilfe and !sprache: what this user may do, and in which language the bot answers."""

from __future__ import annotations

from html import escape

from bot.core.commands import Arg, Router
from bot.core.context import Role
from bot.services import Ctx
from config.settings import Lang
from storage import members

router = Router()

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


@router.command(
    "hilfe",
    "help",
    help={
        "de": "zeigt diese Übersicht",
        "en": "shows this overview",
        "de-simple": "zeigt diese Liste",
    },
)
async def show_help(ctx: Ctx) -> None:
    lines, html = [ctx.t("help.title")], [f"<p><b>{escape(ctx.t('help.title'))}</b></p><ul>"]
    for role in (Role.MEMBER, Role.COORDINATOR):
        commands = [c for c in ctx.commands.visible(ctx.role) if c.role == role]
        if role == Role.COORDINATOR and commands:
            lines += ["", ctx.t("help.coordinator_title")]
            html.append(f"</ul><p><b>{escape(ctx.t('help.coordinator_title'))}</b></p><ul>")
        for cmd in commands:
            usage, about = cmd.usage(ctx.lang), cmd.describe(ctx.lang)
            lines.append(f"{usage} – {about}")
            html.append(f"<li><code>{escape(usage)}</code> – {escape(about)}</li>")
    lines += ["", ctx.t("help.footer")]
    html.append(f"</ul><p>{escape(ctx.t('help.footer'))}</p>")
    ctx.reply("\n".join(lines), "".join(html))


@router.command(
    "sprache",
    "language",
    help={
        "de": "Antwortsprache: de, en oder einfach (Leichte Sprache)",
        "en": "reply language: de, en or simple (Leichte Sprache)",
        "de-simple": "Sprache ändern: de, en oder einfach",
    },
    args=(Arg("choice", "de|en|einfach", language_choice, optional=True, label_en="de|en|simple"),),
)
async def set_language(ctx: Ctx, choice: Lang | None) -> None:
    if choice is None:
        ctx.reply(ctx.t("language.current"))
        return
    await members.set_language(ctx.session, ctx.sender, choice)
    ctx.lang = choice
    ctx.reply(ctx.t("language.set"))
