"""Matching initiatives by topic: precision on known clusters, synonyms, explanations, search."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.i18n import load_texts
from bot.initiatives.csv_io import parse_initiatives_csv
from bot.initiatives.matcher import (
    SHIPPED_TOPICS,
    Hit,
    Matcher,
    Taxonomy,
    load_taxonomy,
    taxonomy_vocabulary,
)
from bot.initiatives.regions import shipped_regions
from bot.text.analyzer import Analyzer, load_synonyms
from bot.text.lexicon import load_lexicon
from config import CONFIG_DIR
from storage.initiatives import InitiativeRow
from tests.eval_matching import DATA, evaluate

TEXTS = load_texts(CONFIG_DIR / "texts.yaml")[0]

LEXICON = load_lexicon(CONFIG_DIR / "lexicon")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy(SHIPPED_TOPICS)


@pytest.fixture(scope="module")
def analyzer(taxonomy: Taxonomy) -> Analyzer:
    synonyms = load_synonyms(ROOT / "config" / "synonyms.yaml")
    return Analyzer(synonyms, LEXICON, taxonomy_vocabulary(taxonomy))


def row(name: str, topics: str, description: str = "", region: str = "") -> InitiativeRow:
    return InitiativeRow(name, region, tuple(topics.split(";")), description, None, None)


@pytest.fixture(scope="module")
def demo(analyzer: Analyzer, taxonomy: Taxonomy) -> Matcher:
    rows, _ = parse_initiatives_csv((ROOT / "config" / "demo" / "initiatives.csv").read_bytes())
    return Matcher((r for _, r in rows), analyzer, taxonomy, shipped_regions())


def test_precision_at_3_on_known_clusters() -> None:
    result = evaluate(DATA / "initiatives.csv", DATA / "clusters.yaml")
    assert result.similar >= 0.8
    assert result.query >= 0.8


SYNONYM_ONLY = [
    row("Elektrolyse Nord", "H2-Elektrolyse"),
    row("Hydrogen Valley", "hydrogen"),
    row("Azubi-Offensive", "Lehrstellen;duale Ausbildung"),
    row("Talent Hub", "skilled workers;apprenticeships"),
    row("KI-Werkstatt", "Künstliche Intelligenz"),
    row("Smart Manufacturing", "machine learning;Industry 4.0"),
    row("Kreislauf Süd", "Wertstoffkreisläufe"),
    row("Circular Valley", "circular economy"),
]


@pytest.mark.parametrize(
    ("name", "partner"),
    [
        ("Elektrolyse Nord", "Hydrogen Valley"),
        ("Hydrogen Valley", "Elektrolyse Nord"),
        ("Azubi-Offensive", "Talent Hub"),
        ("KI-Werkstatt", "Smart Manufacturing"),
        ("Circular Valley", "Kreislauf Süd"),
    ],
)
def test_synonyms_alone_make_initiatives_similar(
    analyzer: Analyzer, taxonomy: Taxonomy, name: str, partner: str
) -> None:
    matcher = Matcher(SYNONYM_ONLY, analyzer, taxonomy)
    assert matcher.similar(name, 1)[0].name == partner


def test_explanation_names_the_shared_topic(analyzer: Analyzer, taxonomy: Taxonomy) -> None:
    matcher = Matcher(SYNONYM_ONLY, analyzer, taxonomy)
    best = matcher.similar("Elektrolyse Nord", 1)[0]
    assert best.shared[0] == "Wasserstoff"
    assert best.explain(TEXTS, "de") == "gemeinsam: Wasserstoff"
    assert best.explain(TEXTS, "en") == "shared: Hydrogen"


def test_explanation_names_related_topics(analyzer: Analyzer, taxonomy: Taxonomy) -> None:
    matcher = Matcher(
        [row("H2 Küste", "Wasserstoff"), row("Klima Nord", "Klimaschutz")], analyzer, taxonomy
    )
    hit = matcher.similar("H2 Küste", 1)[0]
    assert hit.name == "Klima Nord"
    assert hit.shared == ()
    assert hit.related == (("Wasserstoff", "Klimaschutz"),)
    assert hit.explain(TEXTS, "de") == "verwandt: Wasserstoff ↔ Klimaschutz"


def test_similar_excludes_itself_and_ranks_best_first(demo: Matcher) -> None:
    hits = demo.similar("Hydrogen Hub Aachen")
    assert 0 < len(hits) <= 5
    assert "Hydrogen Hub Aachen" not in [hit.name for hit in hits]
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert all("Wasserstoff" in hit.shared for hit in hits[:3])
    assert hits[0].region


def test_similar_for_unknown_name_is_empty(demo: Matcher) -> None:
    assert demo.similar("Gibt es nicht") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kohleausstieg", {"Revierinitiative Lausitz", "Zukunftsforum Rheinisches Revier"}),
        ("green hydrogen", {"Energiewende Westküste", "Hamburger Wasserstoffverbund"}),
        ("Chipfabriken", {"Silicon Saxony Dialog", "Halbleiterstandort Magdeburg"}),
        ("Azubis gewinnen", {"Young Industry Network Hannover"}),
    ],
)
def test_free_text_query_finds_the_topic(demo: Matcher, text: str, expected: set[str]) -> None:
    assert expected & {hit.name for hit in demo.query(text, 3)}


def test_nonsense_query_finds_nothing(demo: Matcher) -> None:
    assert demo.query("xyzzy quux") == []


def test_match_takes_a_name_or_a_topic(demo: Matcher) -> None:
    name, hits = demo.match("hydrogen hub aachen")
    assert name == "Hydrogen Hub Aachen" and hits
    name, hits = demo.match("Stahl")
    assert name is None
    assert hits[0].shared[0] == "Stahl"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Chemnitz", ["Industriekreis Chemnitz"]),
        ("BW", ["Bündnis Transformation Region Stuttgart", "Zukunftsnetz Ostwürttemberg"]),
        ("bw", ["Bündnis Transformation Region Stuttgart", "Zukunftsnetz Ostwürttemberg"]),
        ("Wasserstoff NRW", ["h2-netzwerk-ruhr e. V.", "Hydrogen Hub Aachen"]),
        ("Lausitz", ["Revierinitiative Lausitz", "Revierwende Oberlausitz"]),
    ],
)
def test_search_by_region(demo: Matcher, text: str, expected: list[str]) -> None:
    assert demo.search(text) == expected


def test_search_by_bundesland_includes_cities_in_it(demo: Matcher) -> None:
    found = demo.search("Nordrhein-Westfalen")
    assert {"Hydrogen Hub Aachen", "Zukunftsbündnis Industrie Bonn"} <= set(found)
    assert found == demo.search("NRW") == demo.search("North Rhine-Westphalia")


def test_search_by_topic_and_name(demo: Matcher) -> None:
    found = demo.search("hydrogen")
    assert "Hydrogen Hub Aachen" in found and "h2-netzwerk-ruhr e. V." in found
    assert "Silicon Saxony Dialog" not in found
    assert demo.search("Hydrogen Hub")[0] == "Hydrogen Hub Aachen"


def test_empty_search_lists_everything_alphabetically(demo: Matcher) -> None:
    names = demo.search("", k=100)
    assert len(names) >= 35
    assert names == sorted(names, key=str.casefold)


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("hydrogen hub aachen", "Hydrogen Hub Aachen"),
        ("HYDROGEN HUB", "Hydrogen Hub Aachen"),
        ("h2 netzwerk ruhr", "h2-netzwerk-ruhr e. V."),
        ("Industrienetzwerk Eichsfled", "Industrienetzwerk Eichsfeld"),
        ("industrieinitiative wiesbadn", "Industrieinitiative Wiesbaden"),
    ],
)
def test_find_tolerates_case_and_typos(demo: Matcher, typed: str, name: str) -> None:
    assert demo.find(typed) == name


@pytest.mark.parametrize("typed", ["Industrieinitiative Berlin", "xyz", "", "Aachen"])
def test_find_does_not_guess_wildly(demo: Matcher, typed: str) -> None:
    assert demo.find(typed) is None


def test_strange_input_does_not_break_anything(demo: Matcher) -> None:
    for text in ["", "   ", "!!!", "ä" * 5000, "\x00\n\t", "🙂 Wasserstoff 🙂", "a" * 100_000]:
        demo.search(text)
        demo.query(text)
        demo.find(text)
        demo.similar(text)


def test_empty_matcher_answers_empty(analyzer: Analyzer, taxonomy: Taxonomy) -> None:
    matcher = Matcher([], analyzer, taxonomy)
    assert matcher.query("Wasserstoff") == []
    assert matcher.search("NRW") == []
    assert matcher.find("x") is None


def test_hit_explains_in_plain_language() -> None:
    hit = Hit("A", 0.5, ("Stahl",), (), shared_en=("Steel",))
    assert hit.explain(TEXTS, "de-simple") == "Gleiche Themen: Stahl"
    assert hit.explain(TEXTS, "en") == "shared: Steel"
    both = Hit("A", 0.5, ("Stahl",), (("Wasserstoff", "Klimaschutz"),))
    assert both.explain(TEXTS, "de-simple") == (
        "Gleiche Themen: Stahl. Ähnliche Themen: Wasserstoff ↔ Klimaschutz"
    )


def test_broken_taxonomy_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text(
        "concepts:\n  a:\n    de: A\n    en: A\n    terms: [a]\n    related: [missing]\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="missing"):
        load_taxonomy(path)
