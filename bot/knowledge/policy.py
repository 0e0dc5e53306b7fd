"""When the bot answers, when it asks which entry was meant, and when it says it does not know.

The index ranks entries and says how much of the question each covers; the numbers that decide
live in config/answering.yaml (chosen on the dev sets, reported on the holdout sets):

- the best entry covers enough of the question and no rival comes close: answer it, and name up
  to two entries that came near as alternatives ("Falls Sie etwas anderes meinten: …");
- a rival scores as high as the best (a real tie), or the best covers only a part: ask which one,
  numbered (`!frage 2` picks one); a rival that scores as high and covers clearly more of the
  question leads instead;
- too little is covered: say so honestly.

A message that asks two questions gets the answers to the others too (`further`, see
KnowledgeIndex.search). A question that asks for a kind of detail the answered entry does not
hold (who won, a phone number, where something took place, ...) gets that said first
(`missing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.knowledge.entries import Entry
from config import read_yaml


class Thresholds(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    answer: float = Field(gt=0, le=1)  # coverage needed when two or more words agree
    answer_single: float = Field(gt=0, le=1)  # ... when only one word of the question matches
    answer_leading: float = Field(gt=0, le=1)  # ... when the best also clearly leads
    lead: float = Field(gt=0, le=1)  # runner-up below this share of the best: a clear lead
    tie: float = Field(gt=0, le=1)  # runner-up at or above this share of the best: ask
    tie_coverage: float = Field(ge=0, le=1)  # ... unless it covers this much less of the question
    overtake: float = Field(ge=0, le=1)  # a runner-up that ties and covers this much more leads
    suggest: float = Field(gt=0, le=1)  # coverage an entry needs to be offered at all
    alternative: float = Field(gt=0, le=1)  # share of the best's score to be named beside it


def load_thresholds(path: Path) -> Thresholds:
    try:
        return Thresholds(**(read_yaml(path) or {}))
    except (OSError, yaml.YAMLError, TypeError) as error:
        raise ValueError(f"{path}: cannot read: {error}") from error
    except ValidationError as error:
        problem = error.errors()[0]
        raise ValueError(f"{path}: {problem['loc'][0]}: {problem['msg']}") from None


class Outcome(StrEnum):
    ANSWER = "answer"
    ASK = "ask"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Candidate:
    entry: Entry
    score: float  # the ranking score
    coverage: float  # the idf-weighted share of the question the entry covers
    agreed: bool  # two or more words of the question agree on the entry


@dataclass(frozen=True)
class Match:
    outcome: Outcome
    entry: Entry | None  # the answer (ANSWER only)
    score: float  # the coverage of the best entry
    suggestions: tuple[Entry, ...] = ()  # ASK: the entries to choose from
    alternatives: tuple[Entry, ...] = ()  # ANSWER: entries that came near
    missing: tuple[str, ...] = ()  # detail kinds asked for the answer (ASK: no offer) lacks
    further: tuple[Entry, ...] = ()  # ANSWER: the answers to the message's other questions


def decide(ranked: list[Candidate], *, aspect: bool, thresholds: Thresholds) -> Match:
    """The outcome for the ranked candidates (best first; at most a few). `aspect`: the best was
    chosen for what the question asks (its title asks it, or it alone gives the number, date or
    name asked for), so the others are no rivals; nor is one that only one word of the question
    agrees on when several agree on the best."""
    if not ranked:
        return Match(Outcome.UNKNOWN, None, 0.0)
    t = thresholds
    if not aspect and len(ranked) > 1:
        first, second = ranked[0], ranked[1]
        if second.score >= t.tie * first.score and second.coverage >= first.coverage + t.overtake:
            ranked = [second, first, *ranked[2:]]
    best = ranked[0]
    agreed = best.agreed
    # a rival that covers too little of the question to be offered is none
    rivals = [] if aspect else [c for c in ranked[1:] if c.coverage >= t.suggest]
    runner_up = rivals[0].score if rivals else 0.0
    clear = agreed and not aspect and runner_up < t.lead * best.score
    needed = t.answer_leading if clear else t.answer if agreed else t.answer_single
    # a tie needs a rival as well founded: several words agree on it if they do on the best
    rival = next((c for c in rivals if c.agreed or not agreed), None)
    tied = (
        rival is not None
        and rival.score >= t.tie * best.score
        and rival.coverage >= best.coverage - t.tie_coverage
    )
    if best.coverage >= needed and not tied:
        near = tuple(c.entry for c in rivals if c.score >= t.alternative * best.score)[:2]
        return Match(Outcome.ANSWER, best.entry, best.coverage, alternatives=near)
    if best.coverage < t.suggest:
        return Match(Outcome.UNKNOWN, None, best.coverage)
    offered = [best, *(c for c in ranked[1:] if c.coverage >= t.suggest)]
    close = tuple(c.entry for c in offered if c.score >= 0.5 * best.score)
    return Match(Outcome.ASK, None, best.coverage, suggestions=close)
