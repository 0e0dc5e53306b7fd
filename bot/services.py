"""The process's services: the framework's core plus what the capabilities keep in memory,
built once from the settings and the shipped data files, and handed down (nothing global)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from bot.core.context import Context
from bot.core.errors import StartupError
from bot.core.i18n import Texts, load_texts
from bot.core.jobs import Jobs
from bot.core.metrics import Metrics
from bot.core.services import Core
from bot.events.announcer import Announcer
from bot.initiatives.directory import Directory
from bot.initiatives.matcher import Taxonomy, load_taxonomy, taxonomy_vocabulary
from bot.initiatives.regions import Regions, load_regions
from bot.knowledge.conversations import Conversations
from bot.knowledge.details import DetailKinds, load_details, unknown_kinds
from bot.knowledge.entries import Entry, entry_from_answer, knowledge_vocabulary, load_knowledge
from bot.knowledge.handoff import Handoff
from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.policy import Thresholds, load_thresholds
from bot.knowledge.questions import analyse_carried_over
from bot.text.analyzer import Analyzer, load_synonyms
from bot.text.lexicon import Lexicon, load_lexicon
from config import CONFIG_DIR
from config.settings import Settings
from storage import knowledge
from storage.db import Database
from storage.models import utcnow
from storage.pseudonyms import ensure_secret

T = TypeVar("T")


@dataclass
class Services(Core):
    analyzer: Analyzer
    knowledge: KnowledgeIndex  # replaced as a whole when an entry is added
    directory: Directory
    announcer: Announcer
    conversations: Conversations = field(default_factory=Conversations)  # offered, last asked
    knowledge_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one rebuild at a time
    handoff: Handoff = field(default_factory=Handoff)  # questions to and answers from people


Ctx = Context[Services]  # what every handler gets


@dataclass(frozen=True)
class DataFiles:
    texts: Texts
    entries: list[Entry]
    synonyms: list[list[str]]
    taxonomy: Taxonomy
    regions: Regions
    thresholds: Thresholds | None  # None only when config/answering.yaml is wrong
    details: DetailKinds
    lexicon: Lexicon | None  # None only when config/lexicon cannot be read


def load_data() -> tuple[DataFiles, list[str]]:
    """The shipped data files, validated; problems name the file and entry."""
    texts, problems = load_texts(CONFIG_DIR / "texts.yaml")
    entries, knowledge_problems = load_knowledge(CONFIG_DIR / "knowledge")
    problems += knowledge_problems
    no_synonyms: list[list[str]] = []
    synonyms = _load(CONFIG_DIR / "synonyms.yaml", load_synonyms, no_synonyms, problems)
    taxonomy = _load(CONFIG_DIR / "topics.yaml", load_taxonomy, Taxonomy(()), problems)
    regions = _load(CONFIG_DIR / "regions.yaml", load_regions, Regions(()), problems)
    thresholds = _load(CONFIG_DIR / "answering.yaml", load_thresholds, None, problems)
    lexicon = CONFIG_DIR / "lexicon"
    details = _load(lexicon / "details.yaml", load_details, DetailKinds({}), problems)
    words = _load(lexicon, load_lexicon, None, problems)
    problems += unknown_kinds(entries, details)
    data = DataFiles(texts, entries, synonyms, taxonomy, regions, thresholds, details, words)
    return data, problems


def _load(path: Path, loader: Callable[[Path], T], empty: T, problems: list[str]) -> T:
    try:
        return loader(path)
    except (ValueError, OSError) as exc:
        problems.append(f"{path.name}: {exc}")
        return empty


def build_analyzer(data: DataFiles) -> Analyzer:
    """The one analyser of the process: the synonyms, and the vocabulary of the knowledge base
    and of the topic taxonomy for splitting compounds."""
    vocabulary = [*knowledge_vocabulary(data.entries), *taxonomy_vocabulary(data.taxonomy)]
    assert data.lexicon is not None, "load_data() reported the word lists as a problem"
    return Analyzer(data.synonyms, data.lexicon, vocabulary)


def keep_for_good() -> None:
    """For a process that keeps its services to its end: what was built so far leaves the
    garbage collector's passes (it lives as long as the process, and a collection at exit
    would walk all of it once more), and collection runs from here on (see bot/__main__.py)."""
    gc.freeze()
    gc.enable()


async def build_services(settings: Settings, clock: Callable[[], datetime] = utcnow) -> Services:
    """The services over a migrated database (the caller disposes `services.db`)."""
    data, problems = load_data()
    if problems or data.thresholds is None or data.lexicon is None:
        raise StartupError(f"{len(problems)} problem(s) in data files, first: {problems[0]}")
    db = Database(settings.database_url)
    await db.upgrade()
    await ensure_secret(db)
    async with db.read() as session:
        added = [
            entry_from_answer(row.id, row.question, row.answer)
            for row in await knowledge.added_entries(session)
        ]
    analyzer = build_analyzer(data)
    directory = Directory(analyzer, data.taxonomy, data.regions)
    async with db.read() as session:
        await directory.refresh(session)
    index = KnowledgeIndex([*data.entries, *added], analyzer, data.thresholds, data.details)
    await analyse_carried_over(db, index)
    core = Core(settings, db, data.texts, Metrics(), clock, Jobs())
    return Services(
        **vars(core),
        analyzer=analyzer,
        knowledge=index,
        directory=directory,
        announcer=Announcer(core),
    )
