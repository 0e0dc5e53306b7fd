"""Accuracy of the offerings Q&A, measured as a member meets it: through the real dispatcher.

    python tests/eval_questions.py [FILE.yaml | DIR ...] [--failures]

Default: every set of tests/data/questions/{dev,regression,holdout}/. Each question goes through
the production pipeline (shipped data, production analyser, real handlers) as `!frage TEXT`
(mode `ask`, the default) or as a plain line in a direct chat (mode `plain`); `before` lines are
sent first in the same conversation (follow-ups). An item is scored by what the member sees:

- `expect: ENTRY_ID`: right when the bot answers (no fallback) with that entry (its title);
- `facts: [...]`: right when the bot answers and the reply holds every fact ("a|b": either),
  compared without case, umlauts, hyphens or line breaks (numbers as whole numbers, words
  also inside compounds);
- `expect: null` or `unknown: ...` (out of scope): right when the reply is an honest fallback:
  it says the bot does not know, or which part of the question it does not know.

The sets of regression/ are in CI with the thresholds of regression/manifest.yaml; holdout/
sets are written from the seed by someone who has not read the knowledge base, measured once,
and never tuned on (see tests/data/questions/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.adapters.shell import ShellTransport  # noqa: E402
from bot.app import build_dispatcher  # noqa: E402
from bot.core.dispatcher import Dispatcher  # noqa: E402
from bot.core.messages import EventId, Incoming, RoomId, UserId  # noqa: E402
from bot.services import Services, build_services  # noqa: E402
from bot.text.analyzer import fold  # noqa: E402
from config.settings import LANGS, Settings  # noqa: E402

QUESTIONS = ROOT / "tests" / "data" / "questions"
REGISTERS = ("de", "simple", "colloquial", "typo", "en", "long", "followup", "out")
# Replies that say honestly that the bot does not know (the part before the first placeholder):
# these, and every "offerings.missing.*" text (a detail it does not know, said first).
HONEST_KEYS = ("offerings.unknown", "offerings.did_you_mean")
MISSING = "offerings.missing."
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_CONVERSATIONS = itertools.count(1)


def normalise(text: str) -> str:
    """Folded words separated by single spaces, between spaces; hyphenated words joined."""
    text = fold(text).replace("\u00ad", "").replace("·", "")
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", "", text)
    return " " + _NOT_WORD.sub(" ", text).strip() + " "


def holds(reply: str, fact: str) -> bool:
    """Whether the reply holds one of the fact's alternatives: a number as a whole number
    ("3" is not in "2023"), words anywhere, also inside a compound ("ministerium" in
    "Bundeswirtschaftsministerium")."""
    said = normalise(reply)
    for option in str(fact).split("|"):
        wanted = normalise(option)
        if not wanted.strip():
            continue
        if wanted in said or (not wanted.strip().isdigit() and wanted.strip() in said):
            return True
    return False


def is_out_of_scope(item: dict[str, Any]) -> bool:
    return bool(item.get("unknown")) or ("expect" in item and item["expect"] is None)


def register_of(item: dict[str, Any]) -> str:
    return "out" if is_out_of_scope(item) else str(item.get("register", "de"))


@dataclass
class Outcome:
    right: bool
    reply: str


class Judge:
    def __init__(self, services: Services) -> None:
        self.services = services
        keys = [*HONEST_KEYS, *(k for k in services.texts.keys() if k.startswith(MISSING))]
        self.prefixes = [
            template.split("{", 1)[0].strip()
            for key in keys
            for lang in LANGS
            if (template := services.texts.template(key, lang))
        ]

    def honest(self, reply: str) -> bool:
        return any(reply.startswith(prefix) for prefix in self.prefixes if prefix)

    def judge(self, item: dict[str, Any], replies: list[str]) -> Outcome:
        reply = "\n".join(replies)
        honest = bool(replies) and self.honest(replies[0])
        if is_out_of_scope(item):
            return Outcome(honest, reply)
        if honest or not replies:
            return Outcome(False, reply)
        if "facts" in item:
            return Outcome(all(holds(reply, fact) for fact in item["facts"]), reply)
        entry = self.services.knowledge.get(item["expect"])
        titles = entry.title.values() if entry else ()
        return Outcome(any(reply.startswith(title) for title in titles), reply)


async def ask(dispatcher: Dispatcher[Services], item: dict[str, Any]) -> list[str]:
    """The replies to the item's question in a fresh conversation (after its `before`)."""
    number = next(_CONVERSATIONS)
    transport = ShellTransport(coordinator=False)
    user, room = UserId(f"@asker{number}:localhost"), RoomId(f"!eval{number}")
    replies: list[str] = []
    for turn, line in enumerate([*item.get("before", []), item["q"]]):
        body = line if item.get("mode") == "plain" else f"!frage {line}"
        msg = Incoming(
            room, user, EventId(f"$eval-{number}-{turn}"), body, dispatcher.services.clock(), True
        )
        replies = [reply.text for reply in await dispatcher.handle(msg, transport, record=True)]
    return replies


@dataclass
class Score:
    """Right answers per register (in scope) and honest fallbacks (register `out`)."""

    totals: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    modes: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    misses: list[str] = field(default_factory=list)

    def add(self, item: dict[str, Any], outcome: Outcome) -> None:
        register = register_of(item)
        self.totals[register][0] += outcome.right
        self.totals[register][1] += 1
        if register != "out":
            mode = self.modes[str(item.get("mode", "ask"))]
            mode[0] += outcome.right
            mode[1] += 1
        if not outcome.right:
            wanted = item.get("facts") or item.get("expect") or item.get("unknown")
            first = outcome.reply.splitlines()[0][:100] if outcome.reply else "(no reply)"
            asked = item["q"][:110]
            self.misses.append(f"  [{register}] {asked!r}\n      wanted {wanted}; got: {first}")

    @property
    def in_scope(self) -> float:
        right = sum(t[0] for r, t in self.totals.items() if r != "out")
        asked = sum(t[1] for r, t in self.totals.items() if r != "out")
        return right / asked if asked else 1.0

    @property
    def honest(self) -> float:
        right, asked = self.totals.get("out", (0, 0))
        return right / asked if asked else 1.0

    def lines(self) -> list[str]:
        out = []
        for register in [*REGISTERS, *sorted(set(self.totals) - set(REGISTERS))]:
            right, count = self.totals.get(register, (0, 0))
            if count:
                label = "out (honest)" if register == "out" else register
                out.append(f"  {label:<14}{right / count:>6.0%}  of {count}")
        for mode, (right, count) in sorted(self.modes.items()):
            out.append(f"  mode {mode:<9}{right / count:>6.0%}  of {count}")
        asked = sum(t[1] for r, t in self.totals.items() if r != "out")
        out.append(
            f"  IN SCOPE      {self.in_scope:>6.0%}  of {asked};  OUT OF SCOPE honest "
            f"{self.honest:.0%} of {self.totals.get('out', (0, 0))[1]}"
        )
        return out


async def score_set(dispatcher: Dispatcher[Services], items: Iterable[dict[str, Any]]) -> Score:
    judge = Judge(dispatcher.services)
    result = Score()
    for item in items:
        result.add(item, judge.judge(item, await ask(dispatcher, item)))
    return result


async def eval_services(directory: Path) -> Services:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{directory}/eval.db",
        store_path=directory / "store",
        user_id="@bot:localhost",
        http_port=0,
    )
    return await build_services(settings)


def question_files(paths: list[Path]) -> list[Path]:
    found = []
    for path in paths or [QUESTIONS / "dev", QUESTIONS / "regression", QUESTIONS / "holdout"]:
        found += sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    return [path for path in found if path.name != "manifest.yaml"]


async def main(paths: list[Path], failures: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        services = await eval_services(Path(tmp))
        try:
            dispatcher = build_dispatcher(services, flood=False)
            for path in question_files(paths):
                items = yaml.safe_load(path.read_text(encoding="utf-8"))
                result = await score_set(dispatcher, items)
                print(f"== {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
                print("\n".join(result.lines()))
                if failures and result.misses:
                    print("\n".join(result.misses))
        finally:
            await services.db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--failures", action="store_true", help="list every wrong reply")
    args = parser.parse_args()
    asyncio.run(main(args.paths, args.failures))
