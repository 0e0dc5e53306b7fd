"""The offerings knowledge base: loading the entries and answering questions from them.

Retrieval is BM25F over the analysed title, example questions, keywords and answers of every
entry. Whether an answer is given depends on how much of the question the best entry covers
(idf-weighted share of the question's terms; a word nobody knows counts less against an entry
that several words of the question agree on, unless the question is mostly made of such
words) and on the distance to the runner-up: a wrong confident answer is worse than
"I don't know", so close calls become "Did you mean ...?" suggestions, and a clear lead
needs a little less coverage.
"""

from __future__ import annotations

import math
import re
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.knowledge.details import DetailKinds
from bot.knowledge.entries import ANY_DETAIL, Entry
from bot.knowledge.policy import Candidate, Match, Outcome, Thresholds, decide
from bot.text.analyzer import Analyzer, fold

# Field weights: what an entry is about counts more than the wording of its answer.
_TITLE, _QUESTIONS, _KEYWORDS, _ANSWER = 3.0, 2.0, 2.0, 0.3
_K1, _B = 5.0, 0.5  # a high k1: where a term appears counts more than that it does
# How much of the question an entry covers (see _coverage; what follows from it is decided in
# bot/knowledge/policy.py with the thresholds of config/answering.yaml). When two or more words
# of the question agree on an entry:
# - a word neither the knowledge base nor the synonym list knows ("bewirken", "doof") is no
#   evidence against the entry: it weighs UNKNOWN_SHARE of its idf in the coverage, unless
#   such words outweigh the known ones more than UNKNOWN_MOSTLY times (then the question is
#   about something else and they count fully).
UNKNOWN_SHARE = 0.5
UNKNOWN_MOSTLY = 2.0
# In a longer message the sentences that ask ("...?") are the question; the others tell around
# it ("Ich bin neu in unserer Initiative in Kassel."). Their words rank entries at CONTEXT_RANK
# of their weight; those an entry uses agree on it like the question's own ("Welche sind das?"
# leaves the topic to the sentences before), and those it does not use weigh together at most
# CONTEXT_SHARE of the rest of the question. A question that says too little on its own (known
# words weighing less than ASKED_MIN of an unknown word: "Wie viele waren es?") is read with
# the sentence just before it, and if that says too little too, with the whole message; three
# known words always say enough, however often the knowledge base uses them ("Hat die
# Servicestelle Veranstaltungen in den Regionen durchgeführt?").
CONTEXT_SHARE = 0.15
CONTEXT_RANK = 0.3
ASKED_MIN = 0.3
ASKED_ENOUGH = 3
# a sentence ends at . ! ? … (not after a day or ordinal, "31. Dezember", nor after one letter,
# "z. B.", "e. V.") or at a line break
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])(?<!\b\d\.)(?<!\b\d\d\.)(?<!\b[^\W\d_]\.)\s+|\n+")
# In a capitalised German text, a known word written lowercase (an adverb, adjective or verb:
# "regelmäßig", "fiel aus") ranks entries at this share of its weight: nouns carry the topic.
_LOWER_RANK = 0.5
_LOWERCASE_UNKNOWN = 0.5  # weight of an unknown lowercase word in a capitalised German text
# An unknown word that is an inflected verb ("hieß", "genannt", "lent") tells little about
# the topic, however the message is written: this share of an unknown noun.
_VERB_UNKNOWN = 0.25
_LOWERCASE_WORD = re.compile(r"(?<![\w-])[a-zäöüß][\w-]*")
_ANSWER_ONLY = 0.5  # a term found only in an answer counts this much towards coverage
# A synonym the entry never uses itself ("Elektrolyseur" for an entry about "Wasserstoff")
# is a weaker match than the word itself: a narrower term alone must not make an answer.
_SYNONYM_ONLY = 0.5
# A typo correction that is neither a swap nor a doubled letter, in a short term, is a
# guess ("kanzler" -> "kanaele"): it counts this much unless another word of the question
# that was not corrected this way supports the same entry.
_UNSUPPORTED_GUESS = 0.5
_UMLAUT_E = re.compile(r"([aou])e")
_GUESS_BELOW = 6  # length of a term below which a correction other than a slip is a guess
_MAX_SUGGESTIONS = 3
_MAX_FURTHER = 2  # answers to a message's other questions
_MAX_QUESTIONS = 4  # questions of one message looked up one by one (bounded work)
_COUNTED_PART = 5  # letters of the last part of a compound that names what is counted
_OWN_TOPIC = 0.25  # coverage by which a follow-up alone beats it read with the one before
# A question for a number ("Wie viele Workshops gab es?") whose answer names no number of the
# thing counted gets that said first, as a detail of kind COUNT (see search and _counts).
COUNT = "count"
_COUNTED = re.compile(
    r"\b(?:wie ?viele?n?|how many|anzahl (?:der|an)|number of)"
    r" (?P<thing>[a-z][\w-]*(?: [a-z][\w-]*)?)"  # the next two words name what is counted
)
# Number words; "ein" and "one" are left out: more often an article or a pronoun ("found one").
_NUMBER = re.compile(
    r"\d|\b(?:eins|zwei|drei|vier|fuenf|sechs|sieben|acht|neun|zehn|elf|zwoelf|zwanzig|dutzend"
    r"|hundert|tausend|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty"
    r"|dozen|hundred|thousand)\b"
)
# A question for which one ("Um welche Region ging es?", "Welches Zukunftsthema?") whose
# entry speaks of that thing only with an indefinite article right before it ("eine Region",
# "einem Zukunftsthema"), and no relative clause after it that says which ("ein Konzept
# entwickelt, mit dem …"), does not name it: that is said first, as a detail of kind UNNAMED.
UNNAMED = "unnamed"
_EXACTLY = r"(?:genau|konkret|spezifisch|specific|exact|particular)\w*"  # "Welche genau?"
_WHICH = re.compile(rf"\b(?:(?:welche[mnrs]?|which) (?:{_EXACTLY} )?|what )(?P<thing>[a-z][\w-]*)")
# A "which ... exactly?" question ("Welche Windparks genau?") asks for names: only a mention
# followed (in its sentence or the next) by a list, an example or a quoted name names them
# ("Kammern in diesen Ländern: Belgien, …", "Initiativen, zum Beispiel in Wiesbaden"), not the
# bare word ("Es ging um Windparks und Stromleitungen") nor a colon before a question ("Studien
# gelesen. Zu der Frage: Wie …?").
_SPECIFIC = re.compile(rf"\b(?:{_EXACTLY}|namentlich)\b")
_NAMES_FOLLOW = re.compile(
    r"[^!?]{0,60}?(?::(?! ?(?:wie|was|wer|wo|wann|warum|how|what|who)\b)|[„“\"»]"
    r"|\b(?:etwa|zum beispiel|z\. ?b\.|beispielsweise|darunter"
    r"|such as|for example|e\. ?g\.|including)\b)"
)
_INDEFINITE = frozenset({"ein", "eine", "einer", "einem", "einen", "eines", "a", "an"})
_WORD = re.compile(r"[a-z0-9][\w-]*")
_DESCRIBED = re.compile(
    r"[^.!?]{0,40}?, (?:(?:mit|in|bei|von|zu) )?(?:das|die|der|dem|den|that|which)\b"
)
# A question for a date ("Von wann ist der Bericht?", "Bis wann lief das?") and a date in an
# answer (a day or a month with its year).
_ASKS_DATE = re.compile(r"\b(?:wann|datum|stand|when|date|dated)\b")
_MONTHS = (
    "januar|februar|maerz|april|mai|juni|juli|august|september|oktober|november|dezember"
    "|january|february|march|may|june|july|october|december"
)
# A question for a name ("Wie hießen die Konferenzen?", "What was it called?") and a name in
# an answer (quoted).
_ASKS_NAME = re.compile(
    r"\b(?:wie (?:heisst|heissen|hiess|hiessen|nennt|nennen|nannte)|genannt|called|named"
    r"|(?:der|den|die|the|its|their) names?|titel|title|motto\w*)\b"
)
_QUOTED = re.compile(r"[„“”\"»«]")
# A question for when ("Wann war das Kick-off?") whose entry gives no time at all (no year, no
# month, no "jährlich") gets that said first, as a detail of kind UNDATED.
UNDATED = "undated"
# "when" only where it asks: first in a sentence or "since when" ("when founding …" does not)
_ASKS_WHEN = re.compile(r"\bwann\b|(?:^|[.!?,;:] ?)when\b|\b(?:since|until|till) when\b")
_TIME = re.compile(
    rf"\b(?:(?:19|20)\d\d|{_MONTHS}|jaehrlich|im jahr|pro jahr|a year|per year|annual\w*"
    r"|monatlich|monthly|woechentlich|weekly)\b"
)
_DATE = re.compile(rf"\b\d{{1,2}}\. ?\d{{1,2}}\. ?\d{{4}}\b|\b(?:{_MONTHS}) \d{{4}}\b")
SIMILAR = 0.5  # overlap (see overlap()) from which two questions are about one thing
_FUZZY_MIN = 4  # shortest term that is typo-corrected
# A term one letter shorter ("zil" for "Zile") is corrected only by one missing letter, and
# only to the one synonym group it can stand for ("ziel"): short words have too many
# neighbours for anything less specific.
_FUZZY_SHORT = 3
_FUZZY_STRICT = 5  # below this length only swapped or doubled letters count as a typo
_FUZZY_LONG = 8  # from this length two edits count as a typo
_MAX_CACHE = 10_000
# What a question asks for, from its question word: among entries that cover a question
# equally well, one whose example questions ask the same way ranks higher ("Wo ...?" prefers
# the entry about places). It never counts towards coverage, so it cannot make an answer.
_INTENTS = re.compile(
    r"\b(?:(?P<place>wo(?! fange)|wohin|woher"
    r"|where(?! (?:do|should|can|to) (?:\w+ )?(?:start|begin))"  # "where do we start": no place
    r"|in welche[mnr]? (?:stadt|staedten|orten?)"
    r"|which (?:cities|towns|places|regions))"
    r"|(?<!fuer )(?<!for )(?P<person>wer|wen|wem|wessen|who|whom|whose)"
    r"|(?P<time>wann|when|wie lange|how long)"
    r"|(?P<number>wie ?viele?n?|how many|how much|anzahl)"
    r"|(?P<reason>warum|wieso|weshalb|why)"
    r"|(?P<manner>wie(?= (?:hat|haben|hatte|hatten|habt|hilft|half|halfen|wurde|wurden"
    r"|kann|konnte|lief|genau))|how (?:did|does|do|can|could|was|were)))\b"
)
_INTENT_BOOST = 0.3
# Entries whose title itself asks something ("Where new initiatives were founded") are
# aspects of a broader entry. Among entries scoring within the lead threshold of the best, the one
# whose title asks what the question asks wins unless the best entry's questions already ask
# it; a question that asks none of it stays with the best entry if that is the one with a
# plain title. The others then are no rivals, but the winner needs the full answer coverage.
# A question that names an entry's whole title ("the service centre for regional industry
# initiatives") is about that entry, however common the title's words are elsewhere in the
# knowledge base: for that entry each of them weighs at least this share of the weight of a
# word the knowledge base never uses. Two or more words of the question agree on an entry it
# names. The short name in a title's aside ("(BZdI)") names the entry on its own.
_TITLE_FLOOR = 0.5
_TITLE_MIN_TERMS = 2  # a one-word title is no phrase
_ASIDE = re.compile(r"\s*\(([^)]*)\)")  # "(BZdI)": a title is named without its aside too


@dataclass(frozen=True, slots=True)
class _Term:
    """A query term: the indexed term (None: unknown to the knowledge base), its weight, the
    forms of the word it stands in for as a synonym (empty: as written), whether it is
    only a guessed typo correction and whether no one knows the word at all."""

    term: str | None
    weight: float
    forms: frozenset[str] = frozenset()
    guess: bool = False
    foreign: bool = False  # unknown to the knowledge base and the synonym list
    context: bool = False  # only in the sentences around the question (see _asked)
    verb: bool = False  # a verb as written: an entry that words it otherwise loses little
    lower: bool = False  # lowercase in a capitalised German text: no noun (see _LOWER_RANK)


def _slip(typed: str, meant: str) -> bool:
    """Whether `typed` is `meant` with two neighbouring letters swapped, a double letter
    typed once ("zeil" for "ziel", "tref" for "treff"), an umlaut written without its e
    ("forder" for "foerder") or a lowercase l for a capital I, which look alike ("bzdl")."""
    if _UMLAUT_E.sub(r"\1", typed) == _UMLAUT_E.sub(r"\1", meant):
        return True
    if len(typed) == len(meant):
        differ = [i for i, (a, b) in enumerate(zip(typed, meant, strict=True)) if a != b]
        if len(differ) == 1 and {typed[differ[0]], meant[differ[0]]} == {"i", "l"}:
            return True
        return (
            len(differ) == 2
            and differ[1] == differ[0] + 1
            and typed[differ[0]] == meant[differ[1]]
            and typed[differ[1]] == meant[differ[0]]
        )
    return len(meant) == len(typed) + 1 and any(
        meant[i] == meant[i - 1] and meant[:i] + meant[i + 1 :] == typed
        for i in range(1, len(meant))
    )


def overlap(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """How much two weighted term sets share: the weight of the shared terms over the weight
    of all their terms (0: nothing in common, 1: the same terms)."""
    union = sum({**a, **b}.values())
    if union <= 0:
        return 0.0
    return sum(a[term] for term in a.keys() & b.keys()) / union


def _intents(question: str) -> frozenset[str]:
    """What a question asks for (a place, a person, a time, a number, a reason, the way
    something was done: "Wie hat sie geholfen?")."""
    return frozenset(
        match.lastgroup for match in _INTENTS.finditer(fold(question)) if match.lastgroup
    )


class KnowledgeIndex:
    """Answers questions from the entries; add() makes a new entry searchable at once."""

    def __init__(
        self,
        entries: Iterable[Entry],
        analyzer: Analyzer,
        thresholds: Thresholds,
        details: DetailKinds,
    ) -> None:
        self._analyzer = analyzer
        self._thresholds = thresholds
        self._details = details
        self._entries: list[Entry] = []
        self._positions: dict[str, int] = {}
        self._docs: list[dict[str, float]] = []  # weighted term frequencies per entry
        self._strong: list[frozenset[str]] = []  # terms of title, questions and keywords
        self._written: list[frozenset[str]] = []  # its words as written, before synonyms
        self._intents: list[frozenset[str] | None] = []  # what its questions ask, when needed
        self._titles: list[tuple[frozenset[str], ...] | None] = []  # title terms, when needed
        self._aspects: list[frozenset[str] | None] = []  # what its title asks, when needed
        self._corrections: dict[str, tuple[str | None, bool, bool]] = {}
        for entry in entries:
            self._store(entry)
        self._build()

    def add(self, entry: Entry) -> None:
        """Add an entry (or replace the one with the same id) and rebuild the statistics."""
        self._store(entry)
        self._build()

    def _store(self, entry: Entry) -> None:
        weighted: list[tuple[float, Iterable[str]]] = [
            (_TITLE, entry.title.values()),
            (_QUESTIONS, entry.questions),
            (_KEYWORDS, entry.keywords),
            (_ANSWER, entry.answer.values()),
        ]
        frequencies: dict[str, float] = {}
        strong: set[str] = set()
        written: set[str] = set()
        analysed: dict[str, list[str]] = {}  # a text repeated across languages is read once
        for weight, texts in weighted:
            counts: Counter[str] = Counter()
            for text in texts:
                terms = analysed.get(text)
                if terms is None:
                    terms, forms = self._analyzer.index_analysis(text)
                    analysed[text] = terms
                    written.update(forms)
                counts.update(terms)
            for term, count in counts.items():
                frequencies[term] = frequencies.get(term, 0.0) + weight * count
            if weight > _ANSWER:
                strong.update(counts)
        position = self._positions.get(entry.id)
        if position is None:
            self._positions[entry.id] = len(self._entries)
            self._entries.append(entry)
            self._docs.append(frequencies)
            self._strong.append(frozenset(strong))
            self._written.append(frozenset(written))
            self._intents.append(None)
            self._titles.append(None)
            self._aspects.append(None)
        else:
            self._entries[position] = entry
            self._docs[position] = frequencies
            self._strong[position] = frozenset(strong)
            self._written[position] = frozenset(written)
            self._intents[position] = None
            self._titles[position] = None
            self._aspects[position] = None

    def _build(self) -> None:
        count = len(self._docs)
        lengths = [sum(doc.values()) for doc in self._docs]
        average = sum(lengths) / count if count else 1.0
        frequency: Counter[str] = Counter()
        for doc in self._docs:
            frequency.update(doc.keys())
        self._idf = {term: self._idf_of(df, count) for term, df in frequency.items()}
        self._unknown_idf = self._idf_of(0, count)  # a word the knowledge base never uses
        # Postings as flat arrays: quick to scan and invisible to the garbage collector.
        self._postings: dict[str, tuple[array[int], array[float]]] = {}
        for position, doc in enumerate(self._docs):
            norm = _K1 * (1 - _B + _B * lengths[position] / average)
            for term, tf in doc.items():
                posting = self._postings.get(term)
                if posting is None:
                    posting = self._postings[term] = (array("i"), array("d"))
                posting[0].append(position)
                posting[1].append(self._idf[term] * tf * (_K1 + 1) / (tf + norm))
        by_start: dict[tuple[str, int], list[str]] = {}
        for term in self._idf:
            by_start.setdefault((term[0], len(term)), []).append(term)
        for form, canonical in self._analyzer.synonym_forms().items():
            if canonical in self._idf and form not in self._idf:
                by_start.setdefault((form[0], len(form)), []).append(form)
        self._by_start = by_start
        self._corrections = {}

    @staticmethod
    def _idf_of(df: int, count: int) -> float:
        return math.log(1 + (count - df + 0.5) / (df + 0.5))

    def _asked(self, message: str) -> str | None:
        """The sentences of a longer message that ask something (ending in "?" or asking with
        a phrase like "Nennen Sie mir ..."), when others only tell around them ("Wir sind eine
        Initiative aus der Lausitz. Wer hat euch beauftragt?"); None when every sentence asks
        or none does. Without any such sentence, a last one that begins like a question asks
        (the question mark forgotten). Asking sentences that say too little on their own (known
        words weighing less than ASKED_MIN of an unknown word: "Wie lief das ab?") are read
        with the sentence just before them, which most often names what they ask about."""
        sentences = [part for part in _SENTENCE_BREAK.split(message) if part.strip()]
        if len(sentences) < 2:
            return None
        asking = [number for number, part in enumerate(sentences) if self._asks(part)]
        if not asking and self._analyzer.begins_question(sentences[-1]):
            asking = [len(sentences) - 1]
        if not asking:
            return None
        asked = " ".join(sentences[number] for number in asking)
        if self._says_little(asked):
            if asking[0] == 0:
                return None
            asking.insert(0, asking[0] - 1)
            asked = f"{sentences[asking[0]]} {asked}"
            if self._says_little(asked):
                return None
        return None if len(asking) == len(sentences) else asked

    def _asks(self, sentence: str) -> bool:
        return sentence.rstrip().endswith("?") or self._analyzer.asks(sentence)

    def _says_little(self, text: str) -> bool:
        lang = self._analyzer.language(text)
        terms = {term for term, _ in self._analyzer.query_terms(text, lang)}
        known = [term for term in (self._correct(term)[0] for term in terms) if term is not None]
        weight = sum(self._idf[term] for term in known)
        return len(known) < ASKED_ENOUGH and weight < ASKED_MIN * self._unknown_idf

    def _correct(self, term: str) -> tuple[str | None, bool, bool]:
        """The indexed term an unknown query term is a typo of (or None), whether the
        correction is only a guess and whether it is a slip (see _slip). A typo keeps the
        first letter and is at most one edit (two for long words) away, swaps included; in a
        short term only two swapped letters or a missing double letter count."""
        if term in self._idf:
            return term, False, False
        if len(term) < _FUZZY_SHORT or term.isdigit():
            return None, False, False
        cached = self._corrections.get(term)
        if cached is not None:
            return cached
        if len(term) < _FUZZY_MIN:
            return self._correct_short(term)
        edits = 1 if len(term) < _FUZZY_LONG else 2
        candidates = [
            candidate
            for size in range(len(term) - edits, len(term) + edits + 1)
            for candidate in self._by_start.get((term[0], size), ())
        ]
        if len(term) < _FUZZY_STRICT:
            candidates = [candidate for candidate in candidates if _slip(term, candidate)]
        found = process.extractOne(
            term, candidates, scorer=OSA.distance, score_cutoff=edits, processor=None
        )
        result: tuple[str | None, bool, bool] = (None, False, False)
        if found is not None:
            corrected = self._analyzer.synonym_forms().get(found[0], found[0])
            corrected = corrected if corrected in self._idf else found[0]
            slip = _slip(term, found[0])
            result = (corrected, len(term) < _GUESS_BELOW and not slip, slip)
        if len(self._corrections) < _MAX_CACHE:
            self._corrections[term] = result
        return result

    def _correct_written(self, term: str, question: str) -> tuple[str | None, bool, bool]:
        """A typo the stemmer cut elsewhere than in the word meant ("Laufzet" stems to
        "laufz", far from "laufzeit"): the word as written, corrected (see _correct)."""
        for word in self._analyzer.words(question):
            if word != term and term in self._analyzer.stems(word):
                found = self._correct(word)
                if found[0] is not None:
                    return found
        return None, False, False

    def _correct_short(self, term: str) -> tuple[str | None, bool, bool]:
        groups = [
            candidate
            for candidate in self._by_start.get((term[0], len(term) + 1), ())
            if OSA.distance(term, candidate) == 1
        ]
        result: tuple[str | None, bool, bool] = (None, False, False)
        if len(groups) == 1 and self._analyzer.is_group_term(groups[0]) and groups[0] in self._idf:
            result = (groups[0], True, False)
        if len(self._corrections) < _MAX_CACHE:
            self._corrections[term] = result
        return result

    def _query(self, question: str, asked: str | None) -> list[_Term]:
        """Distinct query terms with their weights and how they were found; `asked` is the
        part of the question that asks (see _asked)."""
        lang = self._analyzer.language(question)
        asking = {term for term, _ in self._analyzer.query_terms(asked, lang)} if asked else None
        # German capitalises nouns: in a text that uses capitals, an unknown lowercase word is
        # most likely a verb or adjective and says less about the topic than an unknown noun.
        lowercase = (
            {fold(word) for word in _LOWERCASE_WORD.findall(question)}
            if lang == "de" and question != question.lower()
            else set()
        )
        verbs = self._analyzer.verb_terms(question)
        everyday: set[str] | None = None  # looked up only if a word seems to be a typo
        query: list[_Term] = []
        seen: set[str] = set()
        for term, forms in self._analyzer.query_terms(question, lang):
            if term in seen:
                continue
            seen.add(term)
            indexed, guess, slip = self._correct(term)
            if indexed is None:
                indexed, guess, slip = self._correct_written(term, question)
            if indexed not in (None, term) and not slip:
                if everyday is None:
                    everyday = self._analyzer.everyday_terms(question)
                if term in everyday:
                    indexed = None  # a real word, not a typo of the one it resembles
            context = asking is not None and term not in asking
            lower = any(word.startswith(term) for word in lowercase)
            if indexed is not None:
                query.append(
                    _Term(
                        indexed,
                        self._idf[indexed],
                        forms,
                        guess,
                        context=context,
                        verb=term in verbs,
                        lower=lower,
                    )
                )
                continue
            weight = self._unknown_idf
            if term in verbs:
                weight *= _VERB_UNKNOWN
            elif lower:
                weight *= _LOWERCASE_UNKNOWN
            foreign = not self._analyzer.is_group_term(term)
            query.append(_Term(None, weight, foreign=foreign, context=context))
        return query

    def _coverage(self, position: int, query: list[_Term]) -> tuple[float, bool]:
        """The idf-weighted share of the question an entry covers, and whether two or more
        words of the question agree on the entry (one matching word is weak evidence)."""
        doc, strong, written = self._docs[position], self._strong[position], self._written[position]
        named = self._named_title(position, query)
        floor = _TITLE_FLOOR * self._unknown_idf
        total = covered = foreign = aside = 0.0
        guesses = 0.0
        matched = 0
        for item in query:
            if item.context and (item.term is None or item.term not in doc):
                aside += item.weight
                continue
            if item.foreign:
                foreign += item.weight
                continue
            base = max(item.weight, floor) if item.term in named else item.weight
            if item.term is None or item.term not in doc:
                total += base * _VERB_UNKNOWN if item.verb else base
                continue
            total += base
            weight = base if item.term in strong else base * _ANSWER_ONLY
            if item.forms and not item.forms & written:
                weight *= _SYNONYM_ONLY
            if item.guess:
                guesses += weight
            else:
                covered += weight
                matched += 1
        covered += guesses if matched else guesses * _UNSUPPORTED_GUESS
        agreed = matched >= 2 or bool(named)
        if agreed and foreign <= UNKNOWN_MOSTLY * total:
            foreign *= UNKNOWN_SHARE
        total += foreign
        total += min(aside, CONTEXT_SHARE * total)
        return (covered / total if total else 0.0), agreed

    def _rank(
        self, query: list[_Term], intents: frozenset[str] = frozenset()
    ) -> list[tuple[float, int]]:
        scores: dict[int, float] = {}
        for item in query:
            posting = self._postings.get(item.term) if item.term is not None else None
            if posting is not None:
                share = CONTEXT_RANK if item.context else 1.0
                share *= _LOWER_RANK if item.lower else 1.0
                for position, weight in zip(*posting, strict=True):
                    scores[position] = scores.get(position, 0.0) + weight * share
        if intents and scores:
            # only entries that could reach the top or the suggestions are worth the look
            floor = 0.5 * max(scores.values()) / (1 + _INTENT_BOOST)
            for position, score in scores.items():
                if score >= floor and intents & self._entry_intents(position):
                    scores[position] = score * (1 + _INTENT_BOOST)
        return sorted(((score, position) for position, score in scores.items()), reverse=True)

    def _named_title(self, position: int, query: list[_Term]) -> frozenset[str]:
        """The terms of the entry's title if the question names all of them (else none)."""
        titles = self._titles[position]
        if titles is None:
            title = self._entries[position].title
            titles = self._titles[position] = tuple(
                terms
                for lang, text in title.items()
                for named in dict.fromkeys((text, _ASIDE.sub("", text)))
                if len(terms := self._title_terms(named, lang)) >= _TITLE_MIN_TERMS
            ) + tuple(
                terms
                for lang, text in title.items()
                for short in _ASIDE.findall(text)
                if (terms := self._title_terms(short, lang))
            )
        asked = {item.term for item in query if item.term is not None and not item.guess}
        return next((terms for terms in titles if terms <= asked), frozenset())

    def _title_terms(self, text: str, lang: str) -> frozenset[str]:
        terms = set()
        for term, _ in self._analyzer.query_terms(text, "en" if lang == "en" else "de"):
            indexed, guess, _ = self._correct(term)
            if indexed is None or guess:
                return frozenset()  # a title word the index does not hold cannot be named
            terms.add(indexed)
        return frozenset(terms)

    def _leaders(self, ranked: list[tuple[float, int]]) -> list[int]:
        """The entries scoring within the lead threshold of the best (a few at most)."""
        floor = self._thresholds.lead * ranked[0][0]
        return [position for score, position in ranked[:_MAX_SUGGESTIONS] if score >= floor]

    def _aspect_of(self, ranked: list[tuple[float, int]], intents: frozenset[str]) -> int | None:
        """The one entry among the leaders whose title fits what the question asks (see
        above), or None when the titles do not decide."""
        leaders = self._leaders(ranked)
        if len(leaders) < 2:
            return None
        asks = [self._title_intents(position) for position in leaders]
        if not any(asks) or (intents and intents & self._entry_intents(leaders[0])):
            return None
        fitting = [
            position
            for position, asked in zip(leaders, asks, strict=True)
            if (asked & intents if intents else not asked)
        ]
        if len(fitting) != 1 or not (intents or fitting[0] == leaders[0]):
            return None
        return fitting[0]

    def _title_intents(self, position: int) -> frozenset[str]:
        aspects = self._aspects[position]
        if aspects is None:
            aspects = self._aspects[position] = frozenset(
                intent
                for title in self._entries[position].title.values()
                for intent in _intents(title)
            )
        return aspects

    def _entry_intents(self, position: int) -> frozenset[str]:
        intents = self._intents[position]
        if intents is None:
            entry = self._entries[position]
            intents = self._intents[position] = frozenset(
                intent
                for question in (*entry.questions, *entry.title.values())
                for intent in _intents(question)
            )
        return intents

    def search(self, question: str, context: str | None = None) -> Match:
        """The answer, the entries to choose from, or none (see bot/knowledge/policy.py).
        `context`: what the member asked just before, when the question may continue it: both
        are read together, as one question."""
        match = self._search(question, context)
        return match if context else self._each_question(question, match)

    def _each_question(self, message: str, match: Match) -> Match:
        """A message that asks two questions or more ("Wer hat euch beauftragt, und wie lange
        lief das?") is also read one question at a time, each with the message's sentences
        that only tell. Answers to the other questions follow the answer (`further`); when the
        message as a whole finds none but two of its questions do, the first of them leads."""
        told, questions = self._questions(message)
        if len(questions) < 2:
            return match
        answers: dict[str, Match] = {}
        for question in questions[:_MAX_QUESTIONS]:
            if self._says_little(question):
                continue  # "Und wie lief das?": only the message as a whole says what
            found = self._search(f"{told} {question}" if told else question)
            if found.entry is not None and found.outcome is Outcome.ANSWER and not found.missing:
                answers.setdefault(found.entry.id, found)
        whole = match
        if match.entry is None:
            if len(answers) < 2:
                return match
            match = next(iter(answers.values()))
        elif len(answers) >= 2:
            match = answers.get(match.entry.id, match)  # what it holds, judged on its question
        further = tuple(
            found.entry
            for found in answers.values()
            if found.entry is not None and found.entry != match.entry
        )[:_MAX_FURTHER]
        # a detail the message asks for stays unknown unless one of the answers gives it
        answered = (match.entry, *further) if match.entry is not None else further
        unknown = tuple(
            kind
            for kind in whole.missing
            if kind in self._details.kinds
            and kind not in match.missing
            and not any(self._details.held(entry, kind) for entry in answered)
        )
        alternatives = tuple(e for e in match.alternatives if e not in further)
        return replace(
            match, further=further, alternatives=alternatives, missing=match.missing + unknown
        )

    def _questions(self, message: str) -> tuple[str, list[str]]:
        """The sentences of a message that only tell, and its questions one by one (a
        sentence that asks twice split, see Analyzer.questions)."""
        sentences = [part for part in _SENTENCE_BREAK.split(message) if part.strip()]
        told: list[str] = []
        questions: list[str] = []
        for sentence in sentences:
            parts = self._analyzer.questions(sentence)
            # one sentence that asks once is one question, whether it asks or not
            if (len(sentences) > 1 or len(parts) > 1) and self._asks(sentence):
                questions += (q if q.endswith("?") else f"{q}?" for q in parts)
            else:
                told.append(sentence)
        return " ".join(told), questions

    def _search(self, question: str, context: str | None = None) -> Match:
        asked = self._asked(question)
        own = asked or question  # the member's own question (number, date, name)
        if context:
            question = f"{context}\n{question}"
            asked = self._asked(question)
        query = self._query(question, asked)
        intents = _intents(asked or question)
        ranked = self._rank(query, intents)
        if not ranked:
            return decide([], aspect=False, thresholds=self._thresholds)
        # a leader chosen for what the question asks: its title asks it, or it alone gives it
        chosen = self._aspect_of(ranked, intents)
        if chosen is None:
            chosen = self._giving_leader(ranked, own)
        first = [chosen] if chosen is not None else []
        positions = first + [p for _, p in ranked[:_MAX_SUGGESTIONS] if p != chosen]
        scores = {position: score for score, position in ranked[:_MAX_SUGGESTIONS]}
        scores.setdefault(positions[0], ranked[0][0])
        candidates = [
            Candidate(self._entries[p], scores[p], *self._coverage(p, query))
            for p in positions[:_MAX_SUGGESTIONS]
        ]
        match = decide(candidates, aspect=chosen is not None, thresholds=self._thresholds)
        if match.entry is None and not match.suggestions:
            return match
        if match.entry is not None and ANY_DETAIL in match.entry.holds:
            return match
        asked_for = self._details.asked(own)  # what the member's own words ask
        if match.entry is None:
            # a detail none of the entries offered gives is said to be unknown before the offer
            missing = tuple(
                k for k in asked_for if not any(self._details.held(e, k) for e in match.suggestions)
            )
            return replace(match, missing=missing)
        missing = tuple(k for k in asked_for if not self._details.held(match.entry, k))
        if not missing and not self._counts(match.entry, own):
            missing += (COUNT,)
        if not missing and not self._names(match.entry, own):
            missing += (UNNAMED,)
        if not missing and _ASKS_WHEN.search(fold(own)) and not self._dated(match.entry):
            missing += (UNDATED,)
        return replace(match, missing=missing)

    def search_after(self, question: str, previous: str | None) -> tuple[Match, bool]:
        """The question alone or as the continuation of `previous`, the member's question just
        before ("und wann war das?"), and whether it was read as the continuation. A question
        that refers back is read with the one before, unless alone it is answered and covers
        clearly more (_OWN_TOPIC) of itself ("Und wer ist skeptisch gegenüber der Industrie?")
        or gives all it asks for where the continuation does not;
        any other only when it alone finds no answer and asks for no detail that none of its
        candidates gives ("Which region has the most initiatives?"), and when it alone found
        candidates, only
        for an entry that covers some of it ("Wo parke ich beim Netzwerktreffen?" after a
        question about the newsletter is not about the newsletter)."""
        alone = self.search(question)
        refers = previous is not None and self._analyzer.refers_back(question)
        if previous is None or (not refers and (alone.outcome is Outcome.ANSWER or alone.missing)):
            return alone, False  # answered, or it asks for a detail of its own
        continued = self.search(question, context=previous)
        if continued.outcome is not Outcome.ANSWER or continued.entry is None:
            return alone, False
        if alone.outcome is Outcome.ANSWER and (
            alone.score >= continued.score + _OWN_TOPIC or (continued.missing and not alone.missing)
        ):
            return alone, False  # it alone is answered, and clearly better or fully
        if not refers and alone.outcome is Outcome.ASK:
            position = self._positions[continued.entry.id]
            if self._coverage(position, self._query(question, self._asked(question)))[0] == 0:
                return alone, False
        return continued, True

    def _giving_leader(self, ranked: list[tuple[float, int]], question: str) -> int | None:
        """Among the leaders, the one entry that gives what the question asks for: the number
        ("Mit wie vielen Gruppen ...?", see _counts), a date ("Von wann ist der Bericht?") or
        a name ("Wie hießen die Konferenzen?"); None when none or several do."""
        folded = fold(question)
        counted = _COUNTED.search(folded) is not None
        given = (
            _DATE if _ASKS_DATE.search(folded) else _QUOTED if _ASKS_NAME.search(folded) else None
        )
        if not counted and given is None:
            return None

        def gives(position: int) -> bool:
            entry = self._entries[position]
            if counted:
                return self._counts(entry, question)
            return given is not None and any(given.search(a) for a in entry.folded_answers)

        leaders = self._leaders(ranked)
        if len(leaders) < 2:
            return None
        giving = [position for position in leaders if gives(position)]
        return giving[0] if len(giving) == 1 else None

    def _counts(self, entry: Entry, question: str) -> bool:
        """Whether the entry gives the number a question asks for ("Wie viele Workshops ...?":
        a sentence of its answer with a number and the thing counted, or the last part of its
        compound: "zwei Gruppen" for "Fokusgruppen"); True when the question asks for none."""
        asked = _COUNTED.search(fold(question))
        if asked is None:
            return True
        counted = {self._correct(term)[0] or term for term in self._analyzer.terms(asked["thing"])}
        if not counted:
            return True  # "wie viele sind das?": nothing named to look for
        words = _WORD.findall(asked["thing"])

        def names(sentence: str) -> bool:
            return bool(counted & set(self._analyzer.terms(sentence))) or any(
                len(head) >= _COUNTED_PART and word.endswith(head)
                for head in _WORD.findall(sentence)
                for word in words
            )

        return any(
            _NUMBER.search(folded) and names(folded)
            for answer in entry.answer.values()
            for folded in map(fold, _SENTENCE_BREAK.split(answer))
        )

    @staticmethod
    def _dated(entry: Entry) -> bool:
        """Whether the entry's answer gives any time (see UNDATED)."""
        return any(_TIME.search(answer) for answer in entry.folded_answers)

    def _names(self, entry: Entry, question: str) -> bool:
        """Whether the entry names the thing a "which ...?" question asks for (see UNNAMED);
        True when the question asks for none or the answer does not speak of it at all. A
        compound holding the thing names one ("Wasserstoff-Treffen" for "welches Treffen")."""
        folded_question = fold(question)
        asked = _WHICH.search(folded_question)
        if asked is None:
            return True
        specific = _SPECIFIC.search(folded_question) is not None
        thing = self._analyzer.stems(asked["thing"])
        unnamed = False
        for answer in entry.folded_answers:
            words = list(_WORD.finditer(answer))
            for position, found in enumerate(words):
                word = found.group()
                same = bool(thing & self._analyzer.stems(word))
                if not same and not any(word.endswith(f"-{form}") for form in thing):
                    continue
                before = words[position - 1].group() if position else ""
                if specific and same and not _NAMES_FOLLOW.match(answer, found.end()):
                    unnamed = True
                elif same and before in _INDEFINITE and not _DESCRIBED.match(answer, found.end()):
                    unnamed = True
                else:
                    return True
        return not unnamed

    def similar(self, a: str, b: str) -> bool:
        """Whether two questions are about the same thing (idf-weighted term overlap)."""
        first, second = self.signature(a), self.signature(b)
        if not first or not second:
            return fold(a).strip() == fold(b).strip()
        return overlap(first, second) >= SIMILAR

    def signature(self, question: str) -> dict[str, float]:
        """Terms of a question with their weights; unknown words stand for themselves."""
        signature = {}
        for term in self._analyzer.terms(question):
            indexed, _, _ = self._correct(term)
            if indexed is None:
                signature[term] = self._unknown_idf
            else:
                signature[indexed] = self._idf[indexed]
        return signature

    def weight(self, term: str) -> float:
        """The weight a term of a signature has now (it changes as entries are added)."""
        return self._idf.get(term, self._unknown_idf)

    def with_entry(self, entry: Entry) -> KnowledgeIndex:
        """A new index with `entry` added (or replacing the one with its id). This one stays
        as it is and can go on answering while the new one is built, e.g. in a thread."""
        entries = [entry if known.id == entry.id else known for known in self._entries]
        if entry.id not in self._positions:
            entries.append(entry)
        return KnowledgeIndex(entries, self._analyzer, self._thresholds, self._details)

    def get(self, entry_id: str) -> Entry | None:
        position = self._positions.get(entry_id)
        return None if position is None else self._entries[position]

    def entries(self) -> list[Entry]:
        return list(self._entries)
