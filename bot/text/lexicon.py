"""The word lists the analyser reads text with (config/lexicon): stop words, particles, filler
phrases, phrases that ask, words that refer back, the cue words that tell German from English,
and inflected German and English verb forms."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Lexicon:
    stopwords: frozenset[str]  # German and English
    particles: frozenset[str]  # may stand inside a phrase ("was genau macht ihr")
    fillers: tuple[str, ...]  # chat idioms that are no part of a question ("am besten")
    requests: tuple[str, ...]  # phrases that ask without a question mark ("nennen Sie mir")
    interrogatives: frozenset[str]  # question words that ask for something ("wer", "when")
    question_words: frozenset[str]  # words a question begins with: those and "gibt", "is", …
    refers: frozenset[str]  # words that make a question refer back ("dabei", "der dritten")
    refer_phrases: tuple[str, ...]  # ... and phrases ("waren das")
    continues: frozenset[str]  # first words that continue the question before ("und")
    german_cues: frozenset[str]  # function words that tell the two languages apart
    english_cues: frozenset[str]
    verb_forms: frozenset[str]  # inflected verbs, German and English ("genannt", "lent"), folded
    negations: frozenset[str]  # may stand at a clause's end in a phrase ("mag ... nicht")


def _lines(path: Path) -> list[str]:
    """The non-empty lines of a word list, without comments."""
    text = path.read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def load_lexicon(folder: Path) -> Lexicon:
    """Read config/lexicon; ValueError names the file that cannot be read."""
    try:
        words = {name: _lines(folder / name) for name in _FILES}
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{folder}: cannot read a word list: {error}") from error
    return Lexicon(
        stopwords=frozenset(words["stopwords.de.txt"] + words["stopwords.en.txt"]),
        particles=frozenset(words["particles.txt"]),
        fillers=tuple(words["fillers.txt"]),
        requests=tuple(words["requests.txt"]),
        interrogatives=frozenset(words["interrogatives.txt"]),
        question_words=frozenset(words["interrogatives.txt"] + words["questionwords.txt"]),
        refers=frozenset(w for w in words["followups.txt"] if not w.endswith("+") and " " not in w),
        refer_phrases=tuple(w for w in words["followups.txt"] if not w.endswith("+") and " " in w),
        continues=frozenset(w[:-1] for w in words["followups.txt"] if w.endswith("+")),
        german_cues=frozenset(words["cues.de.txt"]),
        english_cues=frozenset(words["cues.en.txt"]),
        verb_forms=frozenset(words["verbs.de.txt"] + words["verbs.en.txt"]),
        negations=frozenset(words["negations.txt"]),
    )


_FILES = (
    "stopwords.de.txt",
    "stopwords.en.txt",
    "particles.txt",
    "fillers.txt",
    "requests.txt",
    "interrogatives.txt",
    "questionwords.txt",
    "followups.txt",
    "cues.de.txt",
    "cues.en.txt",
    "verbs.de.txt",
    "verbs.en.txt",
    "negations.txt",
)
