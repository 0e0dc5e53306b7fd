"""German-robust text analysis: folding, tokens, stemming, compound splitting and synonyms.

One `Analyzer` is built at start-up and shared by everything that matches text against text
(offerings Q&A, initiatives by topic). It folds umlauts, splits German compounds against a
vocabulary, stems with the German or English Snowball stemmer and maps synonym groups to one
canonical term, so that "H2", "Wasserstoff" and "hydrogen" become the same term.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import snowballstemmer
import yaml

from bot.text.lexicon import Lexicon
from config import read_yaml
from config.settings import Lang

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_TOKEN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_FUGEN = ("s", "es", "n", "en", "e", "er")
_INFLECTIONS = ("e", "en", "n", "er", "ern", "es", "s")
_VERB_ENDINGS = (("iert", "i"), ("ert", ""), ("est", ""), ("et", ""), ("st", ""), ("t", ""))
_MIN_PART = 4  # a final compound part
_MIN_HEAD = 5  # any other compound part
_MIN_COMPOUND = 8
_MAX_COMPOUND = 40  # longer words are not German compounds but noise
_MAX_CACHE = 20_000
_JOINT = re.compile(r",?\s+(?:und|and)\s+(?P<next>\w+)", re.IGNORECASE)
_MIN_SLIP = 4  # shorter filler words are not typo-corrected
_MIN_DROP = 5  # from this length a filler word with any one letter left out is filler too
_AS_WRITTEN: frozenset[str] = frozenset()
_EVERYDAY_ZIPF = 3.0  # a word seen at least once in a million words of German or English
_WORD = re.compile(r"[^\W\d_]+")

_Unit = tuple[str, str, str]  # a word, its German stem, its English stem
_Pick = Callable[[_Unit], tuple[str, ...]]
_Phrase = tuple[tuple[frozenset[str], ...], str]  # forms per position, canonical ("": filler)


@dataclass(frozen=True, slots=True)
class _Word:
    """One analysed word: its forms, what it matches and the phrases that may start with it."""

    unit: _Unit
    variants: frozenset[str]
    phrases: tuple[_Phrase, ...]  # phrases of two or more words
    fixed: bool  # a stopword or a synonym: its terms do not depend on the language
    indexed: tuple[str, ...]  # its terms on its own, for indexing


_MAX_PARTICLES = 3  # particles inside one phrase at most
_NEGATION_GAP = 4  # words between a verb and its negation in a phrase at most

# What a stored or shown text must not contain: terminal escape sequences, control characters
# (line breaks and tabs aside) and the bidirectional overrides that make text read otherwise
# than it is stored.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-_]?)")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# A spreadsheet reads a cell starting with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def clean_text(text: str) -> str:
    """`text` without terminal escape sequences and control characters (a carriage return
    becomes a line break, so Windows line ends stay line ends)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def spreadsheet_safe(cell: str) -> str:
    """A CSV cell that Excel or LibreOffice shows as text, never runs as a formula."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def spreadsheet_text(cell: str) -> str:
    """A cell as `spreadsheet_safe` wrote it, without the guard (so exports read back)."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_FORMULA_START) else cell


def fold(text: str) -> str:
    """Lowercase, fold German umlauts and ß to their two-letter forms, strip other accents."""
    text = text.lower().translate(_UMLAUTS)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def load_synonyms(path: Path) -> list[list[str]]:
    """Read a YAML list of synonym groups; raise ValueError naming the file and the group."""
    try:
        data = read_yaml(path)
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"{path}: cannot read synonyms: {error}") from error
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of synonym groups")
    groups: list[list[str]] = []
    seen: dict[str, int] = {}
    for number, group in enumerate(data, start=1):
        if not isinstance(group, list) or len(group) < 2:
            raise ValueError(f"{path}: group {number}: expected a list of at least two words")
        words: list[str] = []
        for word in group:
            if not isinstance(word, str | int | float) or not str(word).strip():
                raise ValueError(f"{path}: group {number}: {word!r} is not a word or phrase")
            key = fold(str(word).strip())
            if key in seen:
                raise ValueError(
                    f"{path}: group {number}: {str(word)!r} is already in group {seen[key]}"
                )
            seen[key] = number
            words.append(str(word).strip())
        groups.append(words)
    return groups


def _slips(words: Iterable[str]) -> Iterator[str]:
    """Common slips of the longer words: two neighbouring letters swapped, a double letter
    typed once ("kan"), and in the longest ones any one letter left out ("warn")."""
    for word in words:
        if len(word) < _MIN_SLIP:
            continue
        for i in range(len(word) - 1):
            if word[i] != word[i + 1]:
                yield word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            else:
                yield word[:i] + word[i + 1 :]
        if len(word) >= _MIN_DROP:
            for i in range(1, len(word)):
                yield word[:i] + word[i + 1 :]


def _words(text: str) -> list[str]:
    """Folded words of a text, hyphenated words taken apart."""
    return [word for token in _TOKEN.findall(fold(text)) for word in token.split("-")]


@functools.cache
def word_frequency() -> Callable[[str, str], float]:
    """How often a word is used in a language, on wordfreq's Zipf scale. Loaded when first
    needed, which is only when a question seems to hold a typo: importing wordfreq and reading
    its word lists takes a quarter of a second, too much for every start of the shell; the
    Matrix service loads it at start."""
    from wordfreq import zipf_frequency

    for lang in ("de", "en"):
        zipf_frequency("und", lang, wordlist="small")  # read both word lists now
    return functools.partial(zipf_frequency, wordlist="small")


def _phrase_end(
    words: list[_Word],
    start: int,
    pattern: tuple[frozenset[str], ...],
    particles: frozenset[str],
    negations: frozenset[str] = frozenset(),
) -> int:
    """Where `pattern` ends if the words from `start` on spell it, up to _MAX_PARTICLES
    particles between its words allowed; 0 if they do not. A negation in the pattern may stand
    up to _NEGATION_GAP words later, as German puts it at the end of the clause ("mag die
    Industrie nicht" spells "mag nicht"). Bounded work per position, so a text is read in
    linear time however it repeats particles ("zu zu zu ...")."""
    position = start + 1
    skipped = 0
    for forms in pattern[1:]:
        late = bool(forms & negations)
        while position < len(words) and not words[position].variants & forms:
            skippable = late or words[position].unit[0] in particles
            if not skippable or skipped == (_NEGATION_GAP if late else _MAX_PARTICLES):
                return 0
            position += 1
            skipped += 1
        if position == len(words):
            return 0
        position += 1
    return position


class Analyzer:
    """Turns text into normalised terms. Built once, shared; its behaviour never changes."""

    def __init__(
        self, synonyms: list[list[str]], lexicon: Lexicon, vocabulary: Iterable[str] = ()
    ) -> None:
        self._lexicon = lexicon
        self._stopwords = lexicon.stopwords
        self._german = snowballstemmer.stemmer("german")
        self._english = snowballstemmer.stemmer("english")
        self._stems: dict[str, _Unit] = {}
        self._splits: dict[str, tuple[str, ...]] = {}
        self._units_cache: dict[str, _Unit] = {}
        self._tokens: dict[str, tuple[_Word, ...]] = {}
        self._parts: set[str] = set()
        self._known: set[str] = set()
        # first form of a phrase -> [(forms per position, canonical term)]
        self._phrases: dict[str, list[_Phrase]] = {}
        self._single: dict[str, str] = {}
        self._canonicals: set[str] = set()
        words: set[str] = set()
        for text in vocabulary:
            words.update(_words(text))
        for group in synonyms:
            for phrase in group:
                words.update(_words(phrase))
        for word in words - self._stopwords:
            self._known.update(self._forms(word)[1:])
            if len(word) >= _MIN_PART:
                self._parts.add(word)
        # "solte" for "sollte": a slip of a filler word is filler too, unless it is a word
        self._filler_slips = frozenset(_slips(self._stopwords)) - words
        for group in synonyms:
            self._add_group(group)
        self._requests: dict[str, list[tuple[frozenset[str], ...]]] = {}
        for phrases, asking in ((lexicon.fillers, None), (lexicon.requests, self._requests)):
            for phrase in phrases:
                pattern = tuple(
                    self._variants(self._forms(word))
                    for word in _words(phrase)
                    if len(word) > 1 or word.isdigit()  # as _token_parts reads text
                )
                for form in pattern[0]:
                    self._phrases.setdefault(form, []).append((pattern, ""))
                    if asking is not None:
                        asking.setdefault(form, []).append(pattern)
        self._negations = frozenset(
            form for word in lexicon.negations for form in self._variants(self._forms(word))
        )

    def language(self, text: str) -> Literal["de", "en"]:
        """Guess the language of a short chat line from its function words; German on a tie."""
        words = _TOKEN.findall(fold(text).replace("-", " "))
        english = sum(word in self._lexicon.english_cues for word in words)
        german = sum(word in self._lexicon.german_cues for word in words)
        return "en" if english > german else "de"

    def asks(self, text: str) -> bool:
        """Whether `text` holds a phrase that asks without a question mark ("Nennen Sie mir
        die Zahlen", "I'd like to know")."""
        words = self._units(text)
        particles = self._lexicon.particles
        return any(
            _phrase_end(words, position, pattern, particles)
            for position, word in enumerate(words)
            for form in word.variants
            for pattern in self._requests.get(form, ())
        )

    def begins_question(self, text: str) -> bool:
        """Whether `text` begins like a question ("Was genau wird da empfohlen")."""
        words = _TOKEN.findall(fold(text))
        return bool(words) and words[0] in self._lexicon.question_words

    def questions(self, sentence: str) -> list[str]:
        """The questions of one sentence: it is split where "und"/"and" joins a second question
        that begins with an interrogative ("Wer hat euch beauftragt, und wie lange lief das?")."""
        parts, start = [], 0
        for joint in _JOINT.finditer(sentence):
            if fold(joint["next"]) in self._lexicon.interrogatives:
                parts.append(sentence[start : joint.start()])
                start = joint.start("next")
        return [part.strip(" ,") for part in [*parts, sentence[start:]] if part.strip(" ,")]

    def refers_back(self, text: str) -> bool:
        """Whether a question refers to the one before: it begins like a continuation ("Und
        wann …?", "What about …?") or names something said before ("dabei", "der dritten")."""
        folded = " ".join(_TOKEN.findall(fold(text)))
        words = folded.split()
        lexicon = self._lexicon
        starts = any(folded == lead or folded.startswith(lead + " ") for lead in lexicon.continues)
        padded = f" {folded} "
        return (
            starts
            or any(word in lexicon.refers for word in words)
            or any(f" {phrase} " in padded for phrase in lexicon.refer_phrases)
        )

    @staticmethod
    def words(text: str) -> list[str]:
        """The folded words of a text as written, hyphenated words taken apart."""
        return _words(text)

    def verb_terms(self, text: str) -> set[str]:
        """The terms of the words of `text` that are inflected verbs as written ("hieß",
        "genannt", "lent"; not "capital" for its stem's sake, as "capitalized" has it)."""
        verbs = self._lexicon.verb_forms
        return {form for word in _words(text) if word in verbs for form in self._forms(word)}

    def _add_group(self, group: list[str]) -> None:
        patterns = []
        for phrase in group:
            units = [
                self._forms(word) for word in _words(phrase) if len(word) > 1 or word.isdigit()
            ]
            if len(units) > 1 or (units and units[0][0] not in self._stopwords):
                patterns.append(tuple(self._variants(unit) for unit in units))
        if not patterns:
            return
        canonical = "_".join(self._forms(word)[1] for word in _words(group[0]))
        for pattern in patterns:
            for form in pattern[0]:
                self._phrases.setdefault(form, []).append((pattern, canonical))
            if len(pattern) == 1:
                for form in pattern[0]:
                    self._single.setdefault(form, canonical)
        self._known.add(canonical)
        self._canonicals.add(canonical)

    def stems(self, word: str) -> frozenset[str]:
        """A folded word as written and its German and English stems, without synonyms."""
        return frozenset(self._forms(word))

    def _forms(self, word: str) -> _Unit:
        """The word, its German stem and its English stem (cached)."""
        forms = self._stems.get(word)
        if forms is None:
            forms = (word, self._german.stemWord(word), self._english.stemWord(word))
            if len(self._stems) < _MAX_CACHE:
                self._stems[word] = forms
        return forms

    @staticmethod
    def _ordered_variants(unit: _Unit) -> tuple[str, ...]:
        """The forms a word matches, most specific first: as written, German stem, English
        stem, singular. The order decides between synonym groups that share a stem
        ("schule" and "schueler" both stem to "schul"), so it must not depend on hashing."""
        raw = unit[0]
        plural = (raw[:-1],) if raw.endswith("s") and len(raw) > 4 else ()
        return tuple(dict.fromkeys((*unit, *plural)))

    @classmethod
    def _variants(cls, unit: _Unit) -> frozenset[str]:
        return frozenset(cls._ordered_variants(unit))

    def synonym_forms(self) -> Mapping[str, str]:
        """Every single-word synonym form (folded, stemmed) and its canonical term."""
        return self._single

    def everyday_terms(self, text: str) -> set[str]:
        """The terms of the words of `text` that are everyday German or English words, so
        that a real word ("verdient") is not taken for a typo of another ("verliert")."""
        frequency = word_frequency()
        return {
            form
            for word in _WORD.findall(text.lower())
            if max(frequency(word, "de"), frequency(word, "en")) >= _EVERYDAY_ZIPF
            for form in self._forms(fold(word))
        }

    def is_group_term(self, term: str) -> bool:
        """Whether a query term stands for a synonym group (the synonym list knows it)."""
        return term in self._canonicals

    def is_synonym(self, word: str) -> bool:
        return any(form in self._single for form in self._variants(self._forms(word)))

    def _is_part(self, part: str, final: bool) -> bool:
        if part in self._stopwords or len(part) < (_MIN_PART if final else _MIN_HEAD):
            return False
        if part in self._parts:
            return True
        return final and any(
            part.endswith(ending) and part[: -len(ending)] in self._parts for ending in _INFLECTIONS
        )

    def _split(self, word: str) -> tuple[str, ...]:
        """Split a compound into known parts (fewest parts wins); the word itself if none."""
        cached = self._splits.get(word)
        if cached is not None:
            return cached
        result: tuple[str, ...] = (word,)
        if (
            _MIN_COMPOUND <= len(word) <= _MAX_COMPOUND
            and word.isalpha()  # codes and numbers ("industrie40", "2030") are not compounds
            and not self.is_synonym(word)
        ):
            best = self._best_split(word)
            if best is not None and len(best) > 1:
                result = best
        if len(self._splits) < _MAX_CACHE:
            self._splits[word] = result
        return result

    def _best_split(self, word: str) -> tuple[str, ...] | None:
        # best[i]: the shortest split of word[i:], or None when there is none
        size = len(word)
        best: list[tuple[str, ...] | None] = [None] * (size + 1)
        best[size] = ()
        for start in range(size - _MIN_PART, -1, -1):
            for end in range(start + _MIN_PART, size + 1):
                rest = best[end]
                if rest is None:
                    continue
                candidate = self._part_at(word[start:end], final=end == size)
                if candidate is not None and (
                    best[start] is None or len(rest) + 1 < len(best[start] or ())
                ):
                    best[start] = (candidate, *rest)
        return best[0]

    def _part_at(self, piece: str, final: bool) -> str | None:
        """The vocabulary part a piece stands for, allowing a linking element (Fugen-s...)."""
        if self._is_part(piece, final):
            return piece
        if not final:
            for linker in _FUGEN:
                if piece.endswith(linker) and self._is_part(piece[: -len(linker)], final):
                    return piece[: -len(linker)]
        return None

    def _units(self, text: str) -> list[_Word]:
        units: list[_Word] = []
        for token in _TOKEN.findall(fold(text)):
            words = self._tokens.get(token)
            if words is None:
                words = tuple(self._word(part) for part in self._token_parts(token))
                if len(self._tokens) < _MAX_CACHE:
                    self._tokens[token] = words
            units.extend(words)
        return units

    def _token_parts(self, token: str) -> list[str]:
        """The words a token stands for: compounds split, hyphenated words joined or split."""
        if "-" in token:
            joined = token.replace("-", "")
            parts = self._split(joined)
            if len(parts) == 1 and joined not in self._parts:
                parts = tuple(p for piece in token.split("-") for p in self._split(piece))
        else:
            parts = self._split(token)
        return [part for part in parts if len(part) > 1 or part.isdigit()]

    def _word(self, part: str) -> _Word:
        unit = self._unit(part)
        ordered = self._ordered_variants(unit)
        variants = frozenset(ordered)
        phrases = tuple(
            phrase
            for form in ordered
            for phrase in self._phrases.get(form, ())
            if len(phrase[0]) > 1
        )
        canonical = next((self._single[form] for form in ordered if form in self._single), None)
        if part in self._stopwords or part in self._filler_slips:
            return _Word(unit, variants, phrases, True, ())
        if canonical is not None:
            return _Word(unit, variants, phrases, True, (canonical,))
        return _Word(unit, variants, phrases, False, tuple(dict.fromkeys(unit[1:])))

    def _unit(self, word: str) -> _Unit:
        """The word's forms, with a verb ending the German stemmer keeps ("unterstützt",
        "organisiert") taken off when that gives a known stem ("unterstütz", "organisi")."""
        unit = self._units_cache.get(word)
        if unit is None:
            raw, german, english = unit = self._forms(word)
            # a verb form whose base belongs to a synonym group ("unterstützt") joins the group
            if german not in self._single:
                for ending, replacement in _VERB_ENDINGS:
                    base = german[: -len(ending)] + replacement
                    if not german.endswith(ending) or len(base) < _MIN_PART:
                        continue
                    if base in self._single or (german not in self._known and base in self._known):
                        unit = (raw, base, english)
                        break
            if len(self._units_cache) < _MAX_CACHE:
                self._units_cache[word] = unit
        return unit

    def _map(
        self, words: list[_Word], pick: _Pick | None, forms: list[frozenset[str]] | None = None
    ) -> list[str]:
        """Terms of a word sequence: phrases first (longest wins), then single words, each
        mapped to its synonym group or, if it has none, to `pick(unit)` (None: indexing).
        `forms`, if given, receives for each term the forms of the word it was mapped from
        when that word stands in for a synonym group, and no forms when taken as written."""
        terms: list[str] = []
        position = 0
        while position < len(words):
            word = words[position]
            length, span, canonical = 0, 0, ""
            for pattern, term in word.phrases:
                if len(pattern) > length:
                    end = _phrase_end(
                        words, position, pattern, self._lexicon.particles, self._negations
                    )
                    if end:
                        length, span, canonical = len(pattern), end - position, term
            if length:
                position += span
                if canonical:
                    terms.append(canonical)
                    if forms is not None:
                        forms.append(_AS_WRITTEN)
                continue
            added = word.indexed if pick is None or word.fixed else pick(word.unit)
            terms.extend(added)
            if forms is not None:
                forms.extend([word.variants if word.fixed else _AS_WRITTEN] * len(added))
            position += 1
        return terms

    def terms(self, text: str, lang: Lang | None = None) -> list[str]:
        """Query terms: one term per word, stemmed for the (detected) language of the text."""
        return [term for term, _ in self.query_terms(text, lang)]

    def query_terms(self, text: str, lang: Lang | None = None) -> list[tuple[str, frozenset[str]]]:
        """Query terms with the forms of the word each stands for when it was mapped to a
        synonym group ("Elektrolyseur" for "wasserstoff"); no forms: taken as written."""
        english = (lang or self.language(text)) == "en"

        def pick(unit: _Unit) -> tuple[str, ...]:
            primary, other = (unit[2], unit[1]) if english else (unit[1], unit[2])
            if primary not in self._known and other in self._known:
                return (other,)
            return (primary,)

        forms: list[frozenset[str]] = []
        terms = self._map(self._units(text), pick, forms)
        return list(zip(terms, forms, strict=True))

    def index_terms(self, text: str) -> list[str]:
        """Terms for indexing: both the German and the English stem of every word, so that
        a query matches whichever language it is stemmed in."""
        return self._map(self._units(text), None)

    def index_analysis(self, text: str) -> tuple[list[str], set[str]]:
        """The index terms of a text and the forms of its content words as written, before
        synonyms apply."""
        words = self._units(text)
        written = {form for word in words if word.indexed for form in word.variants}
        return self._map(words, None), written
