"""The knowledge entries: loading and checking config/knowledge/*.yaml, and the entries that
coordinators add at run time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from bot.text.analyzer import fold
from config import read_yaml

LANGUAGES = ("de", "en", "de-simple")
ANY_DETAIL = "*"  # in `holds`: the answer was written for the question, whatever it asks


@dataclass(frozen=True)
class Entry:
    id: str
    title: dict[str, str]
    answer: dict[str, str]
    questions: tuple[str, ...]
    keywords: tuple[str, ...]
    link: str | None
    holds: frozenset[str] = frozenset()  # kinds of detail its answer gives (see details.py)

    @cached_property
    def folded_answers(self) -> tuple[str, ...]:
        """Its answers folded (see bot.text.analyzer.fold), spaces collapsed: for patterns."""
        return tuple(" ".join(fold(text).split()) for text in self.answer.values())


def _texts(value: Any, where: str, problems: list[str]) -> dict[str, str] | None:
    if not isinstance(value, dict):
        problems.append(f"{where} missing or not a mapping of languages")
        return None
    texts = {}
    for lang in LANGUAGES:
        text = value.get(lang)
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{where}.{lang} missing")
            return None
        texts[lang] = text.strip()
    return texts


def _strings(value: Any, where: str, problems: list[str]) -> tuple[str, ...] | None:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str | int) for item in value):
        problems.append(f"{where} is not a list of texts")
        return None
    return tuple(str(item).strip() for item in value if str(item).strip())


def _entry(data: Any, where: str, problems: list[str]) -> Entry | None:
    if not isinstance(data, dict):
        problems.append(f"{where}: not a mapping")
        return None
    entry_id = data.get("id")
    if not isinstance(entry_id, str) or not entry_id.strip():
        problems.append(f"{where}: missing id")
        return None
    where = f"{where} (id {entry_id})"
    before = len(problems)
    title = _texts(data.get("title"), f"{where}: title", problems)
    answer = _texts(data.get("answer"), f"{where}: answer", problems)
    questions = _strings(data.get("questions"), f"{where}: questions", problems)
    keywords = _strings(data.get("keywords"), f"{where}: keywords", problems)
    holds = _strings(data.get("holds"), f"{where}: holds", problems)
    link = data.get("link")
    if link is not None and not (
        isinstance(link, str) and link.startswith(("http://", "https://"))
    ):
        problems.append(f"{where}: link is not an http(s) address")
    if title is None or answer is None or questions is None or keywords is None or holds is None:
        return None
    if len(problems) > before:
        return None
    return Entry(entry_id.strip(), title, answer, questions, keywords, link, frozenset(holds))


def load_knowledge(folder: Path) -> tuple[list[Entry], list[str]]:
    """All entries of folder/*.yaml and a list of problems; bad entries are skipped."""
    entries: list[Entry] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = read_yaml(path)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            problems.append(f"{path}: cannot read: {error}")
            continue
        if data is None:
            continue
        if not isinstance(data, list):
            problems.append(f"{path}: expected a list of entries")
            continue
        for number, item in enumerate(data, start=1):
            entry = _entry(item, f"{path}: entry {number}", problems)
            if entry is None:
                continue
            if entry.id in seen:
                where = f"{path}: entry {number} (id {entry.id})"
                problems.append(f"{where}: duplicate id, also in {seen[entry.id]}")
                continue
            seen[entry.id] = str(path)
            entries.append(entry)
    return entries, problems


def entry_from_answer(id: str, question: str, text: str) -> Entry:
    """An entry written by a coordinator: one question and one answer for all languages."""
    title = {lang: question for lang in LANGUAGES}
    answer = {lang: text for lang in LANGUAGES}
    return Entry(id, title, answer, (question,), (), None, frozenset({ANY_DETAIL}))


def knowledge_vocabulary(entries: Iterable[Entry]) -> Iterator[str]:
    """The texts of the entries, for an Analyzer's compound-splitting vocabulary."""
    for entry in entries:
        yield from entry.title.values()
        yield from entry.questions
        yield from entry.keywords
        yield from entry.answer.values()
