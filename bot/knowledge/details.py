"""Which kind of detail a question asks for (a winner, a person, a phone number, a headcount,
where or when something took place, what is current, money, jobs), from the patterns of
config/lexicon/details.yaml. An entry that does not hold that kind of detail must not be passed
off as the answer: the bot says first what it does not know."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.knowledge.entries import ANY_DETAIL, Entry
from bot.text.analyzer import fold
from config import read_yaml

# Where a member says who they are ("Als Mitarbeiter einer Stadtverwaltung …", "Ich bin
# Autorin", "As a staff member …"), the role is no detail they ask for.
_ABOUT_ME = re.compile(
    r"(?:(?:^|[.!?,;:]|\bich (?:arbeite|bin|komme)|\bwir (?:arbeiten|sind)) ?als"
    r"|\b(?:ich bin|bin ich|wir sind|i am|i'm|we are|we're|as)) (?:(?:ein|eine|einer|a|an) )?[\w-]+"
)


@dataclass(frozen=True)
class DetailKinds:
    patterns: dict[str, re.Pattern[str]]  # what asks for each kind
    evidence: dict[str, re.Pattern[str]] = field(default_factory=dict)  # an answer giving it

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self.patterns)

    def asked(self, question: str) -> tuple[str, ...]:
        """The kinds of detail the question asks for, in the file's order."""
        text = _ABOUT_ME.sub(" ", " ".join(fold(question).split()))
        return tuple(kind for kind, pattern in self.patterns.items() if pattern.search(text))

    def held(self, entry: Entry, kind: str) -> bool:
        """Whether the entry gives that kind of detail: it says so (`holds:`) or its answer
        reads like it (the kind's `held_by` patterns, e.g. "Die Ergebnisse bestätigen …")."""
        evidence = self.evidence.get(kind)
        return kind in entry.holds or (
            evidence is not None and any(evidence.search(answer) for answer in entry.folded_answers)
        )


def unknown_kinds(entries: Iterable[Entry], details: DetailKinds) -> list[str]:
    """Problems: entries that say they hold a kind of detail the lexicon does not know."""
    return [
        f"knowledge entry {entry.id}: holds unknown kind {kind!r}"
        for entry in entries
        for kind in sorted(entry.holds - details.kinds - {ANY_DETAIL})
    ]


def load_details(path: Path) -> DetailKinds:
    """Read the detail kinds; ValueError names the file, the kind and what is wrong."""
    try:
        data = read_yaml(path)
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"{path}: cannot read: {error}") from error
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of kinds to lists of patterns")
    patterns, evidence = {}, {}
    for kind, items in data.items():
        asks, held_by = (
            (items.get("asks"), items.get("held_by")) if isinstance(items, dict) else (items, [])
        )
        patterns[str(kind)] = _compile(path, kind, asks)
        if held_by:
            evidence[str(kind)] = _compile(path, kind, held_by)
    return DetailKinds(patterns, evidence)


def _compile(path: Path, kind: object, items: object) -> re.Pattern[str]:
    if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
        raise ValueError(f"{path}: {kind}: expected a list of patterns")
    try:
        return re.compile(r"(?<!\w)(?:" + "|".join(items) + r")(?!\w)")  # whole words
    except re.error as error:
        raise ValueError(f"{path}: {kind}: bad pattern: {error}") from None
