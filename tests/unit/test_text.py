"""Text analysis: what makes differently written questions mean the same thing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.text.analyzer import Analyzer, fold, load_synonyms
from bot.text.lexicon import load_lexicon
from config import CONFIG_DIR

LEXICON = load_lexicon(CONFIG_DIR / "lexicon")

ROOT = Path(__file__).resolve().parents[2]
SYNONYMS = [
    ["Wasserstoff", "H2", "hydrogen"],
    ["Azubis", "Auszubildende", "apprentices"],
    ["Industrie 4.0", "Digitalisierung", "digitalisation"],
    ["Servicestelle", "service centre"],
    ["Beratung", "unterstützen", "support"],
]
VOCABULARY = ["Das Netzwerk trifft sich.", "Wir fördern Initiativen der Industrie."]


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(SYNONYMS, LEXICON, VOCABULARY)


def test_fold_umlauts_sharp_s_and_accents() -> None:
    assert fold("Größe Übung Ärger") == "groesse uebung aerger"
    assert fold("Café STRASSE") == "cafe strasse"


def test_umlaut_and_transliteration_give_the_same_terms(analyzer: Analyzer) -> None:
    assert analyzer.terms("Förderung") == analyzer.terms("Foerderung")
    assert analyzer.terms("Fachkräfte") == analyzer.terms("fachkraefte")


def test_inflections_share_a_stem(analyzer: Analyzer) -> None:
    assert analyzer.terms("Netzwerke") == analyzer.terms("Netzwerk")
    assert analyzer.terms("Initiativen", "de") == analyzer.terms("Initiative", "de")


def test_compound_is_split_against_the_vocabulary(analyzer: Analyzer) -> None:
    assert analyzer.terms("Wasserstoffnetzwerk") == ["wasserstoff", "netzwerk"]
    assert analyzer.terms("Industrieinitiativen") == analyzer.terms("Industrie-Initiativen")


def test_unknown_compound_stays_whole(analyzer: Analyzer) -> None:
    assert analyzer.terms("Landwirtschaftsministerium") == ["landwirtschaftsministerium"]


def test_synonyms_map_to_one_term(analyzer: Analyzer) -> None:
    assert analyzer.terms("H2") == analyzer.terms("hydrogen") == analyzer.terms("Wasserstoff")
    assert analyzer.terms("Azubis") == analyzer.terms("Auszubildende")
    assert analyzer.terms("apprentices", "en") == analyzer.terms("Azubis")


def test_phrase_synonyms(analyzer: Analyzer) -> None:
    assert analyzer.terms("Industrie 4.0") == analyzer.terms("Digitalisierung")
    assert analyzer.terms("What is the service centre?") == analyzer.terms("Servicestelle")


def test_stopwords_are_dropped(analyzer: Analyzer) -> None:
    assert analyzer.terms("Was ist das und wie geht das?") == []
    assert analyzer.terms("What is the hydrogen network?") == ["wasserstoff", "network"]


def test_chat_filler_is_dropped(analyzer: Analyzer) -> None:
    assert analyzer.terms("gibts ne servicestelle? danke!") == analyzer.terms("Servicestelle")
    assert analyzer.terms("any upcoming hydrogen network soon?") == ["wasserstoff", "network"]


def test_a_request_asks_and_carries_no_terms(analyzer: Analyzer) -> None:
    assert analyzer.asks("Nennen Sie mir bitte die Zahlen.")
    assert analyzer.asks("I'd like to know the numbers.")
    assert not analyzer.asks("Wir nennen unsere Initiative Netzwerk Nord.")
    assert analyzer.terms("Nennen Sie mir das Netzwerk.") == analyzer.terms("Netzwerk")


def test_a_question_that_refers_back(analyzer: Analyzer) -> None:
    assert analyzer.refers_back("Und wann war das?")
    assert analyzer.refers_back("What about the second one?")
    assert analyzer.refers_back("Wer war dabei?")
    assert analyzer.refers_back("Was steht in der dritten?")
    assert not analyzer.refers_back("Wer hat die Servicestelle beauftragt?")
    assert not analyzer.refers_back("Welche Kunden hat die Initiative?")  # "und" inside a word
    assert analyzer.refers_back("Wie viele Gruppen waren das?")
    assert analyzer.refers_back("How many were there?")
    assert not analyzer.refers_back("Was ist das BZdI?")


def test_a_sentence_that_asks_twice_is_split_at_the_second_question_word(
    analyzer: Analyzer,
) -> None:
    assert analyzer.questions("Wer hat euch beauftragt, und wie lange lief das?") == [
        "Wer hat euch beauftragt",
        "wie lange lief das?",
    ]
    assert analyzer.questions("Who ran it and when did it end?") == [
        "Who ran it",
        "when did it end?",
    ]
    # "und" before anything but a question word joins parts of one question
    assert analyzer.questions("Wer hat geholfen und Geld bekommen?") == [
        "Wer hat geholfen und Geld bekommen?"
    ]


def test_a_negation_at_the_end_of_the_clause_completes_its_phrase() -> None:
    analyzer = Analyzer([["Kritiker", "mag nicht"]], LEXICON, VOCABULARY)
    [critic] = analyzer.terms("Kritiker")
    assert critic in analyzer.terms("Wer mag die Industrie eigentlich nicht?")
    assert critic in analyzer.terms("Wer mag nicht?")
    # too far from its verb, the negation belongs to something else
    assert critic not in analyzer.terms(
        "Ich mag die Arbeit der Servicestelle sehr und nicht nur das"
    )


def test_slips_of_filler_words_are_filler(analyzer: Analyzer) -> None:
    assert analyzer.terms("Warum solte das Netzwerk wachsen?") == analyzer.terms("Netzwerk wachsen")
    assert analyzer.terms("Wie wurden die Netzwerke gebildet?") == analyzer.terms(
        "Netzwerke gebildet"
    )


def test_query_terms_tell_a_synonym_from_the_word_as_written(analyzer: Analyzer) -> None:
    [(term, forms)] = analyzer.query_terms("H2?")
    assert term == analyzer.terms("Wasserstoff")[0]
    assert "h2" in forms
    assert analyzer.query_terms("Netzwerk") == [("netzwerk", frozenset())]


def test_index_analysis_keeps_the_words_as_written(analyzer: Analyzer) -> None:
    terms, written = analyzer.index_analysis("Das Wasserstoff-Netzwerk")
    assert terms == analyzer.index_terms("Das Wasserstoff-Netzwerk")
    assert {"wasserstoff", "netzwerk"} <= written
    assert "h2" not in written and "das" not in written


def test_verb_form_joins_the_synonym_group_of_its_base(analyzer: Analyzer) -> None:
    assert analyzer.terms("unterstützt") == analyzer.terms("Beratung")
    assert analyzer.terms("Wer unterstützt uns?") == analyzer.terms("support", "en")


def test_inflected_verbs_are_known_as_written_not_by_their_stem(analyzer: Analyzer) -> None:
    terms = analyzer.verb_terms("Who lent a hand, and who teamed up? Wer hat sie genannt?")
    assert {"lent", "team", "genannt"} <= terms
    # "capitalized" is an inflected verb and shares its stem with "capital"
    assert analyzer.verb_terms("What is the capital?") == set()


def test_chat_contractions_with_du_say_nothing_about_the_topic(analyzer: Analyzer) -> None:
    assert analyzer.terms("kannste mir sagen, wo das war?") == analyzer.terms("wo war das?")


def test_detect_language() -> None:
    analyzer = Analyzer([], LEXICON)
    assert analyzer.language("How can I join the network?") == "en"
    assert analyzer.language("Wie kann ich beim Netzwerk mitmachen?") == "de"
    assert analyzer.language("Wasserstoff") == "de"
    assert analyzer.language("Did they hit their outreach target?") == "en"


def test_shipped_synonyms_load_and_link_english_to_german() -> None:
    groups = load_synonyms(ROOT / "config" / "synonyms.yaml")
    analyzer = Analyzer(groups, LEXICON)
    assert analyzer.terms("skilled workers", "en") == analyzer.terms("Fachkräfte")
    assert analyzer.terms("chamber of commerce", "en") == analyzer.terms("IHK")
    assert analyzer.terms("conference", "en") == analyzer.terms("Tagung")
    assert analyzer.terms("inis") == analyzer.terms("Initiativen")
    assert analyzer.terms("wer seid ihr?") == analyzer.terms("Servicestelle")
    assert analyzer.terms("was könnt ihr für uns tun?") == analyzer.terms("Angebote")


def test_a_word_joins_its_own_group_before_a_group_sharing_its_stem() -> None:
    # "Schüler" and "Schule" share the German stem "schul"
    analyzer = Analyzer([["Schüler", "pupils"], ["Schule", "school"]], LEXICON)
    assert analyzer.terms("Schule") == analyzer.terms("school", "en")
    assert analyzer.terms("Schüler") == analyzer.terms("pupils", "en")


def test_chat_idioms_join_their_groups() -> None:
    analyzer = Analyzer(load_synonyms(ROOT / "config" / "synonyms.yaml"), LEXICON)
    assert analyzer.terms("wer steckt dahinter") == analyzer.terms("Auftraggeber")
    assert analyzer.terms("zu uns kommen") == analyzer.terms("vor Ort")
    assert analyzer.terms("bewirken") == analyzer.terms("achieve", "en")
    assert analyzer.terms("real person", "en") == analyzer.terms("Kontakt")
    assert analyzer.terms("kommt ihr") == []
    assert analyzer.is_group_term(analyzer.terms("Zuschuss")[0])
    assert not analyzer.is_group_term(analyzer.terms("Quantencomputer")[0])


def test_start_alone_is_not_a_founding() -> None:
    analyzer = Analyzer(load_synonyms(ROOT / "config" / "synonyms.yaml"), LEXICON)
    assert analyzer.terms("When did it start?", "en") != analyzer.terms("founding", "en")
    assert analyzer.terms("eine Initiative starten") == analyzer.terms("Gründung")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a: b", "expected a list of synonym groups"),
        ("- [Wasserstoff]", "group 1: expected a list of at least two words"),
        ("- [a, b]\n- [c, '']", "group 2"),
        ("- [H2, hydrogen]\n- [Hydrogen, x]", "group 2: 'Hydrogen' is already in group 1"),
        ("- [a, b", "cannot read synonyms"),
    ],
)
def test_bad_synonym_file_names_file_and_group(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "synonyms.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=str(path)) as error:
        load_synonyms(path)
    assert message in str(error.value)


def test_chat_fillers_carry_no_terms(analyzer: Analyzer) -> None:
    assert analyzer.terms("wie geht das am besten?") == []
    assert analyzer.terms("sowas oder so") == []
    assert analyzer.terms("warn") == []  # "waren" with a letter left out


def test_single_letters_in_a_phrase_synonym_do_not_block_it() -> None:
    analyzer = Analyzer([["Kontakt", "how do I reach"]], LEXICON)
    assert analyzer.terms("how do i reach", "en") == analyzer.terms("Kontakt")
