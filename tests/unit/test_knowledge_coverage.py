"""Seed coverage: every fact of the final report's summary is in some entry, in all languages.

tests/data/seed_coverage.yaml maps each fact-bearing paragraph of the seed document to the
entry that holds it and lists the facts (numbers, names, key nouns; "a|b|c" are alternatives)
that must appear in that entry's answer in de, en and de-simple.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.knowledge.entries import LANGUAGES, Entry, load_knowledge
from bot.text.analyzer import fold

ROOT = Path(__file__).resolve().parents[2]
COVERAGE = ROOT / "tests" / "data" / "seed_coverage.yaml"
_HYPHENS = re.compile("[-\u00ad\u2010\u2011]")  # hyphen, soft hyphen, Unicode hyphens
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Folded case and umlauts, hyphens removed ("Fach-beirat" = "Fachbeirat"), one space."""
    return _SPACE.sub(" ", _HYPHENS.sub("", fold(text))).strip()


def contains(text: str, fact: str) -> bool:
    """Whether one of the fact's alternatives occurs in text as whole words."""
    haystack = normalise(text)
    return any(
        re.search(rf"(?<!\w){re.escape(normalise(option))}(?!\w)", haystack)
        for option in fact.split("|")
        if option.strip()
    )


def _items() -> list[dict[str, Any]]:
    items = yaml.safe_load(COVERAGE.read_text(encoding="utf-8"))
    assert isinstance(items, list) and items, f"{COVERAGE}: expected a list of items"
    return items


ITEMS = _items()


@pytest.fixture(scope="module")
def entries() -> dict[str, Entry]:
    loaded, problems = load_knowledge(ROOT / "config" / "knowledge")
    assert not problems, problems
    return {entry.id: entry for entry in loaded}


def test_normalise_and_whole_words() -> None:
    assert contains("Der Fach-beirat hilft.", "Fachbeirat")
    assert contains("Die Servicestelle", "Service-stelle")
    assert contains("Größere Pläne", "groessere plaene")
    assert contains("am 18. Januar 2024", "Januar 2024")
    assert not contains("Berichterstattung", "Bericht")
    assert not contains("Teilaufgabe 12", "Teilaufgabe 1")
    assert contains("only the second", "first|second")


def test_items_are_well_formed() -> None:
    for number, item in enumerate(ITEMS, start=1):
        where = f"{COVERAGE.name} item {number}"
        assert isinstance(item, dict), where
        assert {"section", "says", "facts", "entry"} <= item.keys(), where
        assert isinstance(item["facts"], list) and 1 <= len(item["facts"]) <= 4, where
        assert all(isinstance(fact, str) and fact.strip() for fact in item["facts"]), where


@pytest.mark.parametrize(
    "item",
    ITEMS,
    ids=[f"{number:02d}-{item.get('entry')}" for number, item in enumerate(ITEMS, start=1)],
)
def test_seed_fact_is_in_entry_in_every_language(
    item: dict[str, Any], entries: dict[str, Entry]
) -> None:
    section, entry_id = item["section"], item["entry"]
    assert entry_id in entries, f"[{section}] entry {entry_id!r} does not exist"
    entry = entries[entry_id]
    missing = [
        f"[{section}] fact {fact!r} missing from entry {entry_id!r}, language {language}"
        for fact in item["facts"]
        for language in LANGUAGES
        if not contains(entry.answer[language], fact)
    ]
    assert not missing, "\n".join(missing)
