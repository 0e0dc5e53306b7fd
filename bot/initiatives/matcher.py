"""Find initiatives by topic, region or name, and rank the most similar ones.

Two signals decide how close two texts are:
- topic concepts from the taxonomy (config/topics.yaml): "H2-Elektrolyse" and "hydrogen" both
  indicate the concept Wasserstoff, so they match without sharing a word. Related concepts
  (Wasserstoff ~ Energie) count a little, too.
- TF-IDF cosine over the shared Analyzer's terms (folded, stemmed, compounds split, synonyms
  mapped) of name, topics and description.

A Matcher is immutable; rebuild it after every change to the initiatives.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import snowballstemmer
import yaml
from rapidfuzz import fuzz, process

from bot.core.i18n import Texts
from bot.core.render import Markdown
from bot.initiatives.regions import Regions, words
from bot.text.analyzer import Analyzer, fold
from config import CONFIG_DIR, read_yaml
from config.settings import Lang

SHIPPED_TOPICS = CONFIG_DIR / "topics.yaml"

# How much each signal counts in a score.
CONCEPT_WEIGHT = 0.6
TERM_WEIGHT = 0.25
RELATED_WEIGHT = 0.1
# Where a concept is mentioned: topics and name say what an initiative is about; its
# description mentions much in passing.
# Evidence from several fields adds up (noisy OR). Earlier topics weigh a little more.
TOPIC_FIELD = 0.9
TOPIC_DECAY = 0.1  # the n-th topic counts TOPIC_FIELD / (1 + TOPIC_DECAY * n)
NAME_FIELD = 0.4
DESCRIPTION_FIELD = 0.2
DESCRIPTION_REPEATED = 0.3
CONCEPT_IDF_POWER = 0.5  # rare concepts count more, but not overwhelmingly
BROADER_FACTOR = 0.6  # a broader concept counts this much of the one found
MIN_SCORE = 0.04  # below this a hit is noise
MAX_QUERY = 500  # characters of a typed query that are read
MAX_TERMS = 30  # the strongest terms kept per initiative
FIND_CUTOFF = 80  # rapidfuzz score a whole name needs to count as a typo
WORD_CUTOFF = 70  # and each of its words
COMMON = 0.5  # terms in more than this share of initiatives are not indexed

_MIN_PREFIX = 4  # a term found at the start of a compound ("Chipfabrik")
_MIN_INFIX = 5  # a term found elsewhere in a compound ("Edelstahl", "Petrochemie")
_MIN_COMPOUND = 7
_MAX_CACHE = 20_000  # words whose stems and concepts are remembered
_MIN_STEM = 4  # shorter stems collide with unrelated words ("Laser" -> "las")
_WORD = re.compile(r"[a-z0-9]+")

_Forms = tuple[str, str, str]  # folded word, German stem, English stem


class ProfileLike(Protocol):
    """What the Matcher reads from an initiative (InitiativeRow fits, so do ORM rows)."""

    @property
    def name(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def topics(self) -> Sequence[str]: ...
    @property
    def description(self) -> str: ...


@dataclass(frozen=True)
class Concept:
    id: str
    de: str
    en: str
    terms: tuple[str, ...]
    related: frozenset[str]
    broader: frozenset[str] = frozenset()
    weight: float = 1.0

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.de


class Taxonomy:
    """Topic concepts and the words and phrases that indicate them."""

    def __init__(self, concepts: Iterable[Concept]) -> None:
        self._german = snowballstemmer.stemmer("german")
        self._english = snowballstemmer.stemmer("english")
        self._forms_cache: dict[str, _Forms] = {}
        self._word_cache: dict[str, tuple[str, ...]] = {}
        self.concepts: dict[str, Concept] = {}
        related: dict[str, set[str]] = defaultdict(set)
        for concept in concepts:
            self.concepts[concept.id] = concept
            for other in concept.related:
                related[concept.id].add(other)
                related[other].add(concept.id)
        broader = {b for concept in self.concepts.values() for b in concept.broader}
        unknown = sorted((set(related) | broader) - set(self.concepts))
        if unknown:
            raise ValueError(f"related concepts not defined: {', '.join(unknown)}")
        self.related: dict[str, frozenset[str]] = {
            key: frozenset(value) for key, value in related.items()
        }
        self._single: dict[str, set[str]] = defaultdict(set)
        self._pieces: dict[str, set[str]] = defaultdict(set)
        self._phrases: dict[str, list[tuple[tuple[frozenset[str], ...], str]]] = defaultdict(list)
        for concept in self.concepts.values():
            for term in concept.terms:
                self._add_term(term, concept.id)
        for options in self._phrases.values():
            options.sort(key=lambda option: -len(option[0]))
        self._longest = max((len(piece) for piece in self._pieces), default=0)

    def _forms(self, word: str) -> _Forms:
        forms = self._forms_cache.get(word)
        if forms is None:
            forms = (word, self._german.stemWord(word), self._english.stemWord(word))
            if len(self._forms_cache) < _MAX_CACHE:
                self._forms_cache[word] = forms
        return forms

    def _add_term(self, term: str, concept: str) -> None:
        exact = term.startswith("=")  # "=Auto": not as a part of "Automation"
        parts = _WORD.findall(fold(term.removeprefix("=")))
        if len(parts) == 1:
            word = parts[0]
            for form in self._forms(word):
                # a stem that is not a prefix lost an umlaut ("Gründung" -> "grund")
                if form == word or (len(form) >= _MIN_STEM and word.startswith(form)):
                    self._single[form].add(concept)
            if exact:
                return
            if len(word) >= _MIN_PREFIX:
                self._pieces[word].add(concept)
            if len(word) >= _MIN_COMPOUND and word.endswith("e"):
                self._pieces[word[:-1]].add(concept)  # "Hochschul-kooperation"
        elif parts:
            pattern = tuple(frozenset(self._forms(part)) for part in parts)
            for form in pattern[0]:
                self._phrases[form].append((pattern, concept))

    def _word_concepts(self, word: str) -> tuple[str, ...]:
        """Concepts a single word indicates, looking inside compounds too (cached)."""
        cached = self._word_cache.get(word)
        if cached is not None:
            return cached
        found: set[str] = set()
        for form in self._forms(word):  # the word as written wins over its stems
            found = self._single.get(form, set())
            if found:
                break
        if not found and len(word) >= _MIN_COMPOUND:
            found = self._compound_concepts(word)
        result = tuple(sorted(found))
        if len(self._word_cache) < _MAX_CACHE:
            self._word_cache[word] = result
        return result

    def _compound_concepts(self, word: str) -> set[str]:
        size = len(word)
        hits: list[tuple[int, int, set[str]]] = []
        for start in range(size - _MIN_PREFIX + 1):
            shortest = _MIN_PREFIX if start == 0 else _MIN_INFIX
            for end in range(min(size, start + self._longest), start + shortest - 1, -1):
                concepts = self._pieces.get(word[start:end])
                if concepts:
                    hits.append((start, end, concepts))
                    break
        covered = 0  # left to right: "Hochschul|kooperation", not "Hoch|schulkooperation"
        found: set[str] = set()
        for start, end, concepts in hits:
            if start >= covered:
                found |= concepts
                covered = end
        return found

    def find(self, text: str, ignore: frozenset[str] = frozenset()) -> Counter[str]:
        """How often each concept is indicated in a text; words in `ignore` are skipped."""
        tokens = [w for w in _WORD.findall(fold(text)) if w not in ignore]
        forms = [self._forms(token) for token in tokens]
        found: Counter[str] = Counter()
        position = 0
        while position < len(tokens):
            length, concept = self._phrase_at(forms, position)
            if length:
                found[concept] += 1
                position += length
                continue
            found.update(self._word_concepts(tokens[position]))
            position += 1
        return found

    def _phrase_at(self, forms: list[_Forms], position: int) -> tuple[int, str]:
        for form in forms[position]:
            for pattern, concept in self._phrases.get(form, ()):
                end = position + len(pattern)
                if end <= len(forms) and all(
                    not pattern[offset].isdisjoint(forms[position + offset])
                    for offset in range(1, len(pattern))
                ):
                    return len(pattern), concept
        return 0, ""

    def widen(self, concepts: dict[str, float]) -> dict[str, float]:
        """Add the broader concepts of those found, a little weaker (Windenergie -> Energie)."""
        wide = dict(concepts)
        for concept, weight in concepts.items():
            for broader in self.concepts[concept].broader:
                wide[broader] = max(wide.get(broader, 0.0), weight * BROADER_FACTOR)
        return wide

    def is_term(self, word: str) -> bool:
        """Whether a folded word is itself one of the taxonomy's terms ("chemiedreieck")."""
        return word in self._single

    def label(self, concept: str, lang: str) -> str:
        return self.concepts[concept].label(lang)


def load_taxonomy(path: Path) -> Taxonomy:
    """Read config/topics.yaml; raise ValueError naming the file and what is wrong."""
    try:
        data = read_yaml(path)
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"{path}: cannot read topics: {error}") from error
    items = data.get("concepts") if isinstance(data, dict) else None
    if not isinstance(items, dict) or not items:
        raise ValueError(f"{path}: expected a non-empty mapping 'concepts'")
    concepts = []
    for key, item in items.items():
        where = f"{path}: concept {key}"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: expected a mapping")
        terms = item.get("terms")
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms) or not terms:
            raise ValueError(f"{where}: 'terms' must be a non-empty list of words")
        related = item.get("related") or []
        if not isinstance(related, list) or not all(isinstance(r, str) for r in related):
            raise ValueError(f"{where}: 'related' must be a list of concept keys")
        if not isinstance(item.get("de"), str) or not isinstance(item.get("en"), str):
            raise ValueError(f"{where}: needs the labels 'de' and 'en'")
        broader = item.get("broader") or []
        if not isinstance(broader, list) or not all(isinstance(b, str) for b in broader):
            raise ValueError(f"{where}: 'broader' must be a list of concept keys")
        weight = item.get("weight", 1.0)
        if not isinstance(weight, int | float) or not 0 < weight <= 1:
            raise ValueError(f"{where}: 'weight' must be a number in (0, 1]")
        concepts.append(
            Concept(
                id=str(key),
                de=item["de"],
                en=item["en"],
                terms=tuple(terms),
                related=frozenset(related),
                broader=frozenset(broader),
                weight=float(weight),
            )
        )
    try:
        return Taxonomy(concepts)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error


@dataclass(frozen=True)
class Hit:
    """One ranked initiative and why it fits (topic labels, German; English alongside)."""

    name: str
    score: float
    shared: tuple[str, ...]
    related: tuple[tuple[str, str], ...]
    region: str = ""
    shared_en: tuple[str, ...] = field(default=(), repr=False)
    related_en: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def explain(self, texts: Texts, lang: Lang) -> Markdown:
        """E.g. "gemeinsam: Wasserstoff; verwandt: Energie ↔ Klimaschutz"; "" if nothing."""
        english = lang == "en"
        shared = ", ".join(self.shared_en if english else self.shared)
        related = ", ".join(f"{a} ↔ {b}" for a, b in (self.related_en if english else self.related))
        if shared and related:
            return texts.get("match.why.both", lang, shared=shared, related=related)
        if shared or related:
            key = "match.why.shared" if shared else "match.why.related"
            return texts.get(key, lang, topics=shared or related)
        return Markdown("")


@dataclass(frozen=True)
class _Query:
    concepts: np.ndarray  # weight per concept (taxonomy order), unit length
    terms: dict[int, float]  # term id -> weight, unit length


def _unit(weights: Mapping[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {key: w / norm for key, w in weights.items()} if norm else {}


def _key(text: str) -> str:
    return " ".join(_WORD.findall(fold(text)))


class Matcher:
    """Ranks initiatives by topic similarity; searches them by topic, region or name.

    Concept weights live in a dense matrix (initiatives x concepts); terms in sparse
    postings, so a ranking over 10,000 initiatives takes a few milliseconds.
    """

    def __init__(
        self,
        profiles: Iterable[ProfileLike],
        analyzer: Analyzer,
        taxonomy: Taxonomy,
        regions: Regions | None = None,
    ) -> None:
        self._analyzer = analyzer
        self._taxonomy = taxonomy
        self._regions = regions or Regions(())
        self._places = frozenset(
            word
            for land in self._regions.laender
            for place in land.places
            for word in words(place)
            if not taxonomy.is_term(word)
        )
        self._place_terms = frozenset(analyzer.index_terms(" ".join(self._places)))
        self._profiles = list({_key(p.name): p for p in profiles}.values())
        self._by_key = {_key(p.name): index for index, p in enumerate(self._profiles)}
        self._keys = list(self._by_key)
        self._place_texts = [" ".join(words(f"{p.region} {p.name}")) for p in self._profiles]
        self._laender = [self._regions.laender_of(p.region) for p in self._profiles]
        self._with_topic: dict[str, list[int]] = defaultdict(list)
        for index, profile in enumerate(self._profiles):
            for topic in {_key(t) for t in profile.topics}:
                self._with_topic[topic].append(index)
        alphabetical = sorted(range(len(self._profiles)), key=self._sort_key)
        self._alphabet_rank = np.empty(len(self._profiles), dtype=np.int64)
        self._alphabet_rank[alphabetical] = np.arange(len(self._profiles))
        self._concept_list = list(taxonomy.concepts)
        self._concept_ids = {c: i for i, c in enumerate(self._concept_list)}
        self._related = np.zeros((len(self._concept_list),) * 2, dtype=np.float32)
        for concept, near in taxonomy.related.items():
            for other in near:
                self._related[self._concept_ids[concept], self._concept_ids[other]] = 1.0
        raw = [self._raw_vectors(p) for p in self._profiles]
        self._concept_idf = self._idf_of(concepts for concepts, _ in raw)
        self._term_idf = self._idf_of(terms for _, terms in raw)
        self._term_ids = {term: i for i, term in enumerate(self._term_idf)}
        self._concepts = self._concept_matrix(concepts for concepts, _ in raw)
        self._build_terms([terms for _, terms in raw])

    # --- building --------------------------------------------------------------------

    def _raw_vectors(self, profile: ProfileLike) -> tuple[dict[str, float], Counter[str]]:
        find = self._taxonomy.find
        evidence: dict[str, list[float]] = defaultdict(list)
        for position, topic in enumerate(profile.topics):
            for concept in find(topic, self._places):
                evidence[concept].append(TOPIC_FIELD / (1 + TOPIC_DECAY * position))
        for concept in find(profile.name, self._places):
            evidence[concept].append(NAME_FIELD)
        for concept, count in find(profile.description, self._places).items():
            evidence[concept].append(DESCRIPTION_FIELD if count == 1 else DESCRIPTION_REPEATED)
        concepts = self._taxonomy.widen(
            {
                concept: 1 - math.prod(1 - w for w in weights)
                for concept, weights in evidence.items()
            }
        )
        terms: Counter[str] = Counter()
        heading = f"{profile.name} ; {' ; '.join(profile.topics)}"
        for text, weight in ((heading, 2), (profile.description, 1)):
            for term in self._analyzer.index_terms(text):
                if term not in self._place_terms:
                    terms[term] += weight
        return concepts, terms

    def _idf_of(self, documents: Iterable[Iterable[str]]) -> dict[str, float]:
        frequency: Counter[str] = Counter()
        for document in documents:
            frequency.update(document)  # keys of a dict or Counter: each once
        total = len(self._profiles)
        return {
            key: math.log(1 + total / count)
            for key, count in frequency.items()
            if total < 20 or count <= COMMON * total
        }

    def _concept_weight(self, concept: str) -> float:
        unseen = math.log(1 + len(self._profiles))
        idf = self._concept_idf.get(concept, unseen) ** CONCEPT_IDF_POWER
        return float(self._taxonomy.concepts[concept].weight * idf)

    def _concept_vector(self, concepts: Mapping[str, float]) -> np.ndarray:
        vector = np.zeros(len(self._concept_list), dtype=np.float32)
        for concept, weight in _unit(
            {c: w * self._concept_weight(c) for c, w in concepts.items()}
        ).items():
            vector[self._concept_ids[concept]] = weight
        return vector

    def _concept_matrix(self, rows: Iterable[Mapping[str, float]]) -> np.ndarray:
        matrix = np.zeros((len(self._profiles), len(self._concept_list)), dtype=np.float32)
        for index, concepts in enumerate(rows):
            matrix[index] = self._concept_vector(concepts)
        return matrix

    def _term_vector(self, terms: Mapping[str, int]) -> dict[int, float]:
        weights = {
            self._term_ids[t]: (1 + math.log(n)) * self._term_idf[t]
            for t, n in terms.items()
            if t in self._term_ids
        }
        strongest = heapq.nlargest(MAX_TERMS, weights.items(), key=lambda item: item[1])
        norm = math.sqrt(sum(w * w for _, w in strongest))
        return {term: w / norm for term, w in strongest} if norm else {}

    def _build_terms(self, rows: list[Counter[str]]) -> None:
        """Per initiative its strongest terms (CSR) and per term its initiatives (postings)."""
        vectors = [self._term_vector(terms) for terms in rows]
        sizes = np.array([len(v) for v in vectors], dtype=np.int64)
        self._row_start = np.concatenate(([0], np.cumsum(sizes)))
        term_of = np.fromiter((t for v in vectors for t in v), dtype=np.int32, count=sizes.sum())
        value = np.fromiter((w for v in vectors for w in v.values()), np.float32, sizes.sum())
        profile_of = np.repeat(np.arange(len(vectors), dtype=np.int32), sizes)
        self._row_terms, self._row_values = term_of, value
        order = np.argsort(term_of, kind="stable")
        self._posting_profiles = profile_of[order]
        self._posting_values = value[order]
        counts = np.bincount(term_of, minlength=len(self._term_ids))
        self._posting_start = np.concatenate(([0], np.cumsum(counts)))

    def _profile_query(self, index: int) -> _Query:
        start, end = self._row_start[index], self._row_start[index + 1]
        ids, values = self._row_terms[start:end].tolist(), self._row_values[start:end].tolist()
        terms = dict(zip(ids, values, strict=True))
        return _Query(self._concepts[index], terms)

    # --- ranking ---------------------------------------------------------------------

    def _text_query(self, text: str) -> _Query:
        found = self._taxonomy.find(text, self._places)
        concepts = self._concept_vector(self._taxonomy.widen(dict.fromkeys(found, 1.0)))
        terms = Counter(t for t in self._analyzer.index_terms(text) if t not in self._place_terms)
        return _Query(concepts, self._term_vector(terms))

    def _scores(self, query: _Query) -> np.ndarray:
        related = self._related @ query.concepts
        related[query.concepts > 0] = 0.0  # a shared concept is not also a related one
        weights = CONCEPT_WEIGHT * query.concepts + RELATED_WEIGHT * related
        scores: np.ndarray = self._concepts @ weights
        for term, weight in query.terms.items():
            start, end = self._posting_start[term], self._posting_start[term + 1]
            scores[self._posting_profiles[start:end]] += (
                TERM_WEIGHT * weight * self._posting_values[start:end]
            )
        return scores

    def _hits(self, query: _Query, k: int, exclude: int | None = None) -> list[Hit]:
        if not self._profiles or k <= 0:
            return []
        scores = self._scores(query)
        if exclude is not None:
            scores[exclude] = -1.0
        candidates = np.flatnonzero(scores >= MIN_SCORE)
        if len(candidates) > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        ranked = sorted(candidates.tolist(), key=lambda i: (-scores[i], i))
        return [self._hit(query, index, float(scores[index])) for index in ranked]

    def _hit(self, query: _Query, index: int, score: float) -> Hit:
        ours = {
            self._concept_list[i]: float(query.concepts[i]) for i in np.flatnonzero(query.concepts)
        }
        row = self._concepts[index]
        theirs = {self._concept_list[i]: float(row[i]) for i in np.flatnonzero(row)}
        shared = sorted((c for c in ours if c in theirs), key=lambda c: -ours[c] * theirs[c])
        pairs = sorted(
            (
                (a, b)
                for a in ours
                if a not in theirs
                for b in self._taxonomy.related.get(a, ())
                if b in theirs and b not in ours
            ),
            key=lambda pair: -ours[pair[0]] * theirs[pair[1]],
        )[:3]
        label = self._taxonomy.label
        profile = self._profiles[index]
        return Hit(
            name=profile.name,
            score=round(score, 4),
            shared=tuple(label(c, "de") for c in shared),
            related=tuple((label(a, "de"), label(b, "de")) for a, b in pairs),
            region=profile.region,
            shared_en=tuple(label(c, "en") for c in shared),
            related_en=tuple((label(a, "en"), label(b, "en")) for a, b in pairs),
        )

    def similar(self, name: str, k: int = 5) -> list[Hit]:
        """The k initiatives most similar to the named one, best first, itself excluded."""
        found = self.find(name)
        if found is None:
            return []
        index = self._by_key[_key(found)]
        return self._hits(self._profile_query(index), k, exclude=index)

    def query(self, text: str, k: int = 5) -> list[Hit]:
        """The k initiatives that fit a free-text topic best ("Fachkräfte für Chipfabriken")."""
        return self._hits(self._text_query(text[:MAX_QUERY]), k)

    def match(self, text: str, k: int = 5) -> tuple[str | None, list[Hit]]:
        """What `!passend` needs: an initiative's name -> similar ones, otherwise a topic."""
        found = self.find(text)
        if found is not None:
            return found, self.similar(found, k)
        return None, self.query(text, k)

    # --- search and lookup -----------------------------------------------------------

    def search(self, text: str, k: int = 20) -> list[str]:
        """Names of initiatives matching a topic, a region (place or Land) or a name."""
        text = text[:MAX_QUERY]
        if not _key(text):
            return sorted((p.name for p in self._profiles), key=str.casefold)[:k]
        found: dict[int, None] = dict.fromkeys(self._name_matches(text))
        rest, in_region = self._region_filter(text)
        if in_region is None:
            found.update(dict.fromkeys(self._topic_matches(text, None, k)))
        elif _key(rest):
            found.update(dict.fromkeys(self._topic_matches(rest, in_region, k)))
        else:
            found.update(dict.fromkeys(in_region))
        return [self._profiles[index].name for index in list(found)[:k]]

    def _name_matches(self, text: str) -> list[int]:
        key = _key(text)
        if key in self._by_key:
            return [self._by_key[key]]
        padded = f" {key} "
        return [i for i, name in enumerate(self._keys) if padded in f" {name} "]

    def _region_filter(self, text: str) -> tuple[str, list[int] | None]:
        """The text without its region words, and the initiatives in that region (None if
        the text names no region)."""
        land = self._regions.land_named(text)
        if land is not None:
            return "", self._in_land(land)
        matches = self._regions.find(text)
        if not matches:
            return text, None
        tokens = words(text)
        skip = {i for m in matches for i in range(m.start, m.end)}
        rest = " ".join(w for i, w in enumerate(tokens) if i not in skip)
        selected: list[int] = []
        for match in matches:
            if match.kind == "land":
                selected += self._in_land(match.laender[0])
                continue
            here = [i for i, place in enumerate(self._place_texts) if match.key in place]
            selected += here or [i for land in match.laender for i in self._in_land(land)]
        return rest, list(dict.fromkeys(sorted(selected, key=self._sort_key)))

    def _in_land(self, land: str) -> list[int]:
        return sorted(
            (i for i, laender in enumerate(self._laender) if land in laender), key=self._sort_key
        )

    def _sort_key(self, index: int) -> str:
        return self._profiles[index].name.casefold()

    def _topic_matches(self, text: str, candidates: list[int] | None, limit: int) -> list[int]:
        """Initiatives sharing a concept or a term with the text, best first."""
        if not self._profiles:
            return []
        query = self._text_query(text)
        direct = np.asarray((self._concepts[:, query.concepts > 0] > 0).any(axis=1))
        for term in query.terms:
            start, end = self._posting_start[term], self._posting_start[term + 1]
            direct[self._posting_profiles[start:end]] = True
        direct[self._with_topic.get(_key(text), [])] = True
        if candidates is not None:
            allowed = np.zeros(len(self._profiles), dtype=bool)
            allowed[candidates] = True
            direct &= allowed
        chosen = np.flatnonzero(direct)
        scores = self._scores(query)[chosen]
        order = np.lexsort((self._alphabet_rank[chosen], -scores))[:limit]
        return [int(index) for index in chosen[order]]

    def find(self, name: str) -> str | None:
        """The exact name of the initiative meant, tolerating case, spacing and typos.

        A part of a name counts when it fits exactly one initiative and is at least half of
        its name ("Hydrogen Hub"); None when nothing fits well or it is ambiguous.
        """
        key = _key(name[:MAX_QUERY])
        if not key:
            return None
        if key in self._by_key:
            return self._profiles[self._by_key[key]].name
        containing = self._name_matches(name)
        if len(containing) == 1 and 2 * len(key) >= len(self._keys[containing[0]]):
            return self._profiles[containing[0]].name
        candidates = [
            (candidate, score)
            for scorer in (fuzz.ratio, fuzz.token_sort_ratio)
            for candidate, score, _ in process.extract(
                key, self._keys, scorer=scorer, limit=3, score_cutoff=FIND_CUTOFF
            )
            if self._every_word_close(key, candidate)
        ]
        candidates.sort(key=lambda item: -item[1])
        if not candidates:
            return None
        top = candidates[0]
        runner_up = next((c for c in candidates if c[0] != top[0]), None)
        if runner_up is not None and top[1] - runner_up[1] < 3:
            return None
        return self._profiles[self._by_key[top[0]]].name

    @staticmethod
    def _every_word_close(query: str, candidate: str) -> bool:
        """Each typed word resembles a word of the name: "Berlin" is no typo of "Wiesbaden"."""
        names = candidate.split()
        return all(
            max(fuzz.ratio(word, other) for other in names) >= WORD_CUTOFF for word in query.split()
        )


def taxonomy_vocabulary(taxonomy: Taxonomy) -> Iterable[str]:
    """The taxonomy's terms, for the Analyzer's compound-splitting vocabulary."""
    for concept in taxonomy.concepts.values():
        yield from concept.terms
