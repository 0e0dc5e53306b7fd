"""What a capability declares on its router: commands (their help texts, argument labels and
examples are in the catalogue under `cmd.<name>[.<sub>]`), hooks on reactions, redactions and
replies, periodic jobs and HTTP routes."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.context import Context, Role
from bot.core.errors import UsageError
from bot.core.i18n import Texts
from bot.core.messages import Reaction, Redaction
from bot.core.render import Markdown, code
from bot.core.transport import Transport
from bot.text.analyzer import fold
from config.settings import Lang, Settings

# The first argument of hooks, jobs and routes is the process's Services (bot/services.py).
Handler = Callable[..., Awaitable[None]]
ReactionHook = Callable[[Any, AsyncSession, Reaction], Awaitable[None]]
RedactionHook = Callable[[Any, AsyncSession, Redaction], Awaitable[None]]
ReplyHook = Callable[[Context[Any]], Awaitable[bool]]  # True when it took the message
JobRun = Callable[[Any, Transport], Awaitable[None]]
RouteHandler = Callable[[Any], Awaitable["Page"]]


@dataclass(frozen=True)
class Arg:
    """One typed argument (its label is part of the catalogue's `cmd.….args`). `rest` takes
    the remainder of the line."""

    name: str
    convert: Callable[[str], Any] = str
    optional: bool = False
    rest: bool = False


@dataclass(frozen=True)
class Command:
    names: tuple[str, ...]  # German name first, English alias second
    handler: Handler
    args: tuple[Arg, ...] = ()
    role: Role = Role.MEMBER
    sub: tuple[str, ...] = ()  # sub-command names, e.g. ("add",) for "!webinar add"
    late: bool = False  # still acted on (silently) when seen late after downtime
    private: bool = False  # answered in the sender's direct chat, with a short note in a group
    topic: str = ""  # the help topic: the router's
    featured: bool = False  # shown in the short !hilfe

    @property
    def name(self) -> str:
        return self.names[0]

    @property
    def key(self) -> str:
        """The catalogue key of its texts: `cmd.webinar.add` (`.args`, `.example` below it)."""
        return "cmd." + fold(self.names[0]) + ("." + fold(self.sub[0]) if self.sub else "")

    def invocation(self, lang: Lang) -> str:
        """`!webinar add`, `!question`: how it is called in the language."""
        english = lang == "en"
        name = self.names[1] if english and len(self.names) > 1 else self.names[0]
        sub = self.sub[1] if english and len(self.sub) > 1 else (self.sub[0] if self.sub else "")
        return f"!{name} {sub}".strip()

    def usage(self, texts: Texts, lang: Lang) -> Markdown:
        """The call with its arguments, to be typed: `!feedback ID 1-5 [KOMMENTAR]`."""
        labels = texts.template(self.key + ".args", lang) if self.args else None
        return code(f"{self.invocation(lang)} {labels or ''}".strip())

    def describe(self, texts: Texts, lang: Lang) -> Markdown:
        return texts.get(self.key, lang)

    def example(self, texts: Texts, lang: Lang) -> str | None:
        """A call that works when copied (None for a command without arguments)."""
        return texts.template(self.key + ".example", lang)

    def parse(self, text: str) -> dict[str, Any]:
        """Split `text` into this command's arguments; UsageError when it does not fit."""
        values: dict[str, Any] = {}
        remaining = text.strip()
        for arg in self.args:
            if arg.rest:
                token, remaining = remaining, ""
            else:
                token, remaining = split_word(remaining)
            if not token:
                if not arg.optional:
                    raise UsageError()
                values[arg.name] = None
                continue
            try:
                values[arg.name] = arg.convert(token)
            except (ValueError, TypeError):
                raise UsageError() from None
        if remaining:
            raise UsageError()
        return values


@dataclass(frozen=True)
class Job:
    """A periodic job: every `every`, or on the cron line `cron(settings)` gives (none: off)."""

    id: str
    run: JobRun
    every: timedelta | None = None
    cron: Callable[[Settings], str] | None = None
    overlap: bool = False  # run_soon may start a second run while one is going


@dataclass(frozen=True)
class Page:
    """What a route serves over HTTP (the web adapter sends it)."""

    body: bytes
    content_type: str  # with its charset where it is text
    filename: str | None = None  # shown inline under this name


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: RouteHandler


@dataclass
class Router:
    """What one capability (one handlers/ module) declares; `topic` groups its commands in
    the help (`!hilfe termine`)."""

    topic: str = ""
    commands: list[Command] = field(default_factory=list)
    reaction_hooks: list[ReactionHook] = field(default_factory=list)
    redaction_hooks: list[RedactionHook] = field(default_factory=list)
    reply_hooks: list[ReplyHook] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)

    def job(
        self,
        job_id: str,
        *,
        every: timedelta | None = None,
        cron: Callable[[Settings], str] | None = None,
        overlap: bool = False,
    ) -> Callable[[JobRun], JobRun]:
        def register(run: JobRun) -> JobRun:
            self.jobs.append(Job(job_id, run, every, cron, overlap))
            return run

        return register

    def route(self, method: str, path: str) -> Callable[[RouteHandler], RouteHandler]:
        def register(handler: RouteHandler) -> RouteHandler:
            self.routes.append(Route(method, path, handler))
            return handler

        return register

    def on_reaction(self, hook: ReactionHook) -> ReactionHook:
        self.reaction_hooks.append(hook)
        return hook

    def on_redaction(self, hook: RedactionHook) -> RedactionHook:
        self.redaction_hooks.append(hook)
        return hook

    def on_reply(self, hook: ReplyHook) -> ReplyHook:
        """Called for a plain (non-command) message that replies to another message."""
        self.reply_hooks.append(hook)
        return hook

    def command(
        self,
        *names: str,
        args: tuple[Arg, ...] = (),
        role: Role = Role.MEMBER,
        sub: tuple[str, ...] = (),
        late: bool = False,
        private: bool = False,
        featured: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            _check_arguments(handler, args)
            command = Command(names, handler, args, role, sub, late, private, self.topic, featured)
            self.commands.append(command)
            return handler

        return register


def _check_arguments(handler: Handler, args: tuple[Arg, ...]) -> None:
    """A handler takes the context and exactly the declared arguments, by name: checked when
    the command is declared, so a mismatch fails at import, not when a member types it."""
    names = list(inspect.signature(handler).parameters)[1:]
    declared = [arg.name for arg in args]
    if names != declared:
        raise TypeError(f"{handler.__qualname__}({', '.join(names)}) does not take {declared}")


class CommandTable:
    """All commands, looked up by any name (folded: `daten-löschen` = `daten-loeschen`), and
    everything else the routers declared."""

    def __init__(self, routers: list[Router]) -> None:
        self.commands = [c for r in routers for c in r.commands]
        self.reaction_hooks = [h for r in routers for h in r.reaction_hooks]
        self.redaction_hooks = [h for r in routers for h in r.redaction_hooks]
        self.reply_hooks = [h for r in routers for h in r.reply_hooks]
        self.jobs = [j for r in routers for j in r.jobs]
        self.routes = [route for r in routers for route in r.routes]
        self._by_name: dict[str, list[Command]] = {}
        for cmd in self.commands:
            for name in cmd.names:
                self._by_name.setdefault(fold(name), []).append(cmd)

    def names(self) -> list[str]:
        return list(self._by_name)

    def resolve(self, name: str, rest: str) -> tuple[Command, str] | None:
        """The command for `name` and its argument text; sub-commands take priority."""
        candidates = self._by_name.get(fold(name))
        if not candidates:
            return None
        word, tail = split_word(rest)
        for cmd in candidates:
            if cmd.sub and fold(word) in {fold(s) for s in cmd.sub}:
                return cmd, tail
        plain = [c for c in candidates if not c.sub]
        return (plain[0], rest.strip()) if plain else None

    def family(self, name: str) -> list[Command]:
        return self._by_name.get(fold(name), [])

    def visible(self, role: Role) -> Iterator[Command]:
        return (c for c in self.commands if c.role <= role)


_ID = re.compile(r"#?([0-9]{1,9})")


def int_arg(text: str) -> int:
    """An id or count as people type it: `12` or `#12` (ASCII digits, at most nine)."""
    match = _ID.fullmatch(text.strip())
    if match is None:
        raise ValueError(text)
    return int(match.group(1))


def split_word(text: str) -> tuple[str, str]:
    """The first word and the rest, split at any whitespace (also a line break)."""
    parts = text.strip().split(None, 1)
    return (
        (parts[0], parts[1].strip()) if len(parts) == 2 else ((parts[0], "") if parts else ("", ""))
    )
