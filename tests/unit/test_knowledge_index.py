"""The offerings knowledge base: loading, answering, falling back honestly."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.knowledge.details import DetailKinds, load_details
from bot.knowledge.entries import (
    ANY_DETAIL,
    Entry,
    entry_from_answer,
    knowledge_vocabulary,
    load_knowledge,
)
from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.policy import Candidate, Outcome, decide
from bot.services import build_analyzer, load_data
from bot.text.analyzer import Analyzer, load_synonyms
from bot.text.lexicon import load_lexicon
from config import CONFIG_DIR

LEXICON = load_lexicon(CONFIG_DIR / "lexicon")

ROOT = Path(__file__).resolve().parents[2]

GOOD = """
- id: wasserstoff
  title: {de: Wasserstoff-Netzwerk, en: Hydrogen network, de-simple: Wasser-stoff}
  answer: {de: Es gibt ein Netzwerk., en: There is a network., de-simple: Es gibt ein Netz-werk.}
  questions: ["Gibt es ein Netzwerk zu Wasserstoff?"]
  keywords: [H2, Elektrolyse]
  link: https://example.org/h2
"""
BAD = """
- id: no-english
  title: {de: Titel, de-simple: Titel}
  answer: {de: A, en: B, de-simple: C}
- just a string
- id: bad-link
  title: {de: T, en: T, de-simple: T}
  answer: {de: A, en: B, de-simple: C}
  link: not-a-link
- id: wasserstoff
  title: {de: T, en: T, de-simple: T}
  answer: {de: A, en: B, de-simple: C}
"""


def test_a_detail_kind_is_held_by_what_an_answer_says(tmp_path: Path) -> None:
    path = tmp_path / "details.yaml"
    path.write_text(
        "findings:\n  asks: [was kam heraus]\n  held_by: [ergebnis\\w*]\nwinner: [gewonnen]\n",
        encoding="utf-8",
    )
    details = load_details(path)
    says = Entry("a", {"de": "A"}, {"de": "Die Ergebnisse zeigen: …"}, (), (), None)
    silent = Entry("b", {"de": "B"}, {"de": "Es gab eine Umfrage."}, (), (), None)
    assert details.asked("Was kam heraus?") == ("findings",)
    assert details.held(says, "findings") and not details.held(silent, "findings")
    assert not details.held(says, "winner")
    path.write_text('findings:\n  asks: ["("]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="findings: bad pattern"):
        load_details(path)


def test_load_knowledge_skips_bad_entries_and_names_them(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(BAD, encoding="utf-8")
    (tmp_path / "c.yaml").write_text("- [unclosed", encoding="utf-8")
    entries, problems = load_knowledge(tmp_path)
    assert [entry.id for entry in entries] == ["wasserstoff"]
    assert entries[0].keywords == ("H2", "Elektrolyse")
    assert entries[0].link == "https://example.org/h2"
    b = tmp_path / "b.yaml"
    assert f"{b}: entry 1 (id no-english): title.en missing" in problems
    assert f"{b}: entry 2: not a mapping" in problems
    assert f"{b}: entry 3 (id bad-link): link is not an http(s) address" in problems
    assert any(p.startswith(f"{b}: entry 4 (id wasserstoff): duplicate id") for p in problems)
    assert any(p.startswith(f"{tmp_path / 'c.yaml'}: cannot read") for p in problems)


def index_of(entries: list[Entry], analyzer: Analyzer) -> KnowledgeIndex:
    """An index of these entries, deciding with the shipped thresholds and detail kinds."""
    data, _ = load_data()
    assert data.thresholds is not None
    return KnowledgeIndex(entries, analyzer, data.thresholds, data.details)


@pytest.fixture(scope="module")
def shipped() -> KnowledgeIndex:
    """The index as production builds it (shipped data, the production analyser)."""
    data, problems = load_data()
    assert data.entries and not problems
    return KnowledgeIndex(data.entries, build_analyzer(data), data.thresholds, data.details)


@pytest.fixture(scope="module")
def details() -> DetailKinds:
    """The shipped detail kinds (config/lexicon/details.yaml)."""
    return load_data()[0].details


def answer_id(index: KnowledgeIndex, question: str) -> str | None:
    match = index.search(question)
    return match.entry.id if match.entry else None


def answer_and_gaps(index: KnowledgeIndex, question: str) -> tuple[str | None, tuple[str, ...]]:
    """The entry answered and the kinds of detail it says it does not know."""
    match = index.search(question)
    return (match.entry.id if match.entry else None), match.missing


def test_plain_german_question(shipped: KnowledgeIndex) -> None:
    assert answer_id(shipped, "Gibt es einen Wettbewerb für Industrieinitiativen?") == "wettbewerb"


def test_english_question_finds_german_entry(shipped: KnowledgeIndex) -> None:
    assert answer_id(shipped, "Who is on the advisory board?") == "fachbeirat"
    assert answer_id(shipped, "Was there a hydrogen meeting?") == "wasserstoff-treffen"


def test_typos_and_short_questions(shipped: KnowledgeIndex) -> None:
    assert answer_id(shipped, "Gibt es einen Abschlusbericht?") == "berichte"
    assert answer_id(shipped, "wasserstof?") == "wasserstoff-treffen"
    assert answer_id(shipped, "bzdi??") == "bzdi"


def test_short_words_with_swapped_or_missing_double_letters(shipped: KnowledgeIndex) -> None:
    assert answer_id(shipped, "Was sind die Zeile der Servicestelle?") == "ziele"
    assert answer_id(shipped, "Gab es ein Trefen zu Wasserstof?") == "wasserstoff-treffen"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("wer bezahlt euch?", "auftraggeber"),
        ("könnt ihr vorbeikommen?", "vor-ort-hilfe"),
        ("wie lange gibts euch schon?", "laufzeit"),
        ("worum gehts euch eigentlich?", "ziele"),
        ("How can I reach you?", "kontakt"),
        ("wer seid ihr?", "servicestelle"),
        ("was könnt ihr für uns tun?", "angebote"),
        ("wie viele inis habt ihr erreicht", "ergebnis-reichweite"),
        ("When did the service centre start?", "laufzeit"),
    ],
)
def test_chat_idioms(shipped: KnowledgeIndex, question: str, expected: str) -> None:
    assert answer_id(shipped, question) == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Was wollte die Servicestelle bewirken?", "ziele"),
        ("wer steckt dahinter?", "auftraggeber"),
        ("Kann die Servicestelle zu uns kommen?", "vor-ort-hilfe"),
        ("kommt ihr zu uns raus?", "vor-ort-hilfe"),
        ("wie kommt man an junge leute ran?", "junge-menschen"),
        ("can I talk to a real person?", "kontakt"),
        ("Warum finden viele die Industrie doof?", "industrie-image"),
    ],
)
def test_everyday_verbs_and_idioms(shipped: KnowledgeIndex, question: str, expected: str) -> None:
    assert answer_id(shipped, question) == expected


def test_an_unknown_word_does_not_count_against_agreeing_known_words(
    shipped: KnowledgeIndex,
) -> None:
    # "lol" and "gewonnen" are words the knowledge base never uses
    assert answer_id(shipped, "wettbewerb fuer inis wer hat gewonnen lol") == "wettbewerb"


def test_a_clear_lead_is_answered_from_a_little_less_coverage(shipped: KnowledgeIndex) -> None:
    assert answer_id(shipped, "Wie viele Initiativen waren vorab geplant?") == (
        "ergebnis-reichweite"
    )


@pytest.mark.parametrize(
    "question",
    [
        # one known word among words nobody knows: about something else
        "Welche Initiativen erforschen Quantencomputer, Raumfahrt und Biotechnologie?",
        # a word of the synonym list that no entry uses counts fully
        "Gibt es Zuschüsse für Initiativen?",
    ],
)
def test_questions_mostly_about_unknown_things_fall_back(
    shipped: KnowledgeIndex, question: str
) -> None:
    assert shipped.search(question).entry is None


def test_question_word_separates_entries_on_the_same_topic(shipped: KnowledgeIndex) -> None:
    assert answer_id(shipped, "Where were new initiatives set up?") == "gruendungsorte"
    assert answer_id(shipped, "Wer hat bei der Gründung mitgemacht?") == "gruendungspartner"


@pytest.mark.parametrize(
    "question",
    [
        "Wie ist das Wetter in der Region?",
        "Wann fährt der nächste Zug nach Berlin?",
        "Hast du ein Rezept für Lasagne?",
        "Welche Förderprogramme hat das Landwirtschaftsministerium?",
        "Who won the football match yesterday?",
        "Wie teuer ist ein Elektrolyseur?",
        "Wie hoch ist die Gewerbesteuer?",
        "Wie bewerbe ich mich bei einer Firma?",
        "what time is it",
        "wer wird kanzler?",
        "Wie werde ich Mitglied bei der IG Metall?",
        "Wie funktioniert ein Elektrolyseur?",
        "",
        "???",
        "x" * 5000,
        "ä" * 5000,
        "Wasserstoff" * 10_000,
        "\x00\n\t🙂",
    ],
)
def test_out_of_scope_falls_back(shipped: KnowledgeIndex, question: str) -> None:
    match = shipped.search(question)
    assert match.entry is None


def test_a_guessed_correction_alone_is_only_a_suggestion(shipped: KnowledgeIndex) -> None:
    match = shipped.search("kanzler?")  # one letter from "Kanäle", a social media keyword
    assert match.entry is None
    assert shipped.search("Kanäle?").entry is not None


def test_a_narrower_synonym_alone_is_only_a_suggestion(shipped: KnowledgeIndex) -> None:
    match = shipped.search("How does an electrolyser work?")
    assert match.entry is None
    assert [entry.id for entry in match.suggestions] == ["wasserstoff-treffen"]
    assert answer_id(shipped, "hydrogen?") == "wasserstoff-treffen"


def test_founding_questions_reach_the_matching_entry(shipped: KnowledgeIndex) -> None:
    assert answer_id(shipped, "Which cities got new initiatives?") == "gruendungsorte"
    assert answer_id(shipped, "How do I set up an industry initiative in my region?") == (
        "neue-initiativen"
    )
    assert answer_id(shipped, "Wie wurden die Initiativen untereinander vernetzt?") == (
        "vernetzung"
    )


def test_suggestions_when_not_confident() -> None:
    analyzer = Analyzer([], LEXICON)
    entries = [
        entry_from_answer("webinar-a", "Webinar zur Förderung", "A"),
        entry_from_answer("webinar-b", "Webinar zur Ausbildung", "B"),
    ]
    match = index_of(entries, analyzer).search("Webinar")
    assert match.entry is None
    assert {entry.id for entry in match.suggestions} == {"webinar-a", "webinar-b"}


def test_added_entry_is_found_at_once() -> None:
    entries, _ = load_knowledge(ROOT / "config" / "knowledge")
    synonyms = load_synonyms(ROOT / "config" / "synonyms.yaml")
    index = index_of(entries, Analyzer(synonyms, LEXICON, knowledge_vocabulary(entries)))
    assert index.search("Wo kann ich in Kassel parken?").entry is None
    question = "Wo parke ich beim Netzwerktreffen in Kassel?"
    entry = entry_from_answer("faq-parken", question, "Parkplätze gibt es am Bahnhof.")
    index.add(entry)
    assert index.search("wo kann ich in kassel parken?").entry == entry
    assert index.search("Wer sitzt im Fachbeirat?").entry is not None


def test_add_replaces_an_entry_with_the_same_id() -> None:
    index = index_of([entry_from_answer("x", "Gibt es Kaffee?", "Ja.")], Analyzer([], LEXICON))
    index.add(entry_from_answer("x", "Gibt es Tee?", "Nein."))
    match = index.search("Tee?")
    assert match.entry is not None and match.entry.answer["de"] == "Nein."
    assert index.search("Kaffee?").entry is None


def test_similar_groups_questions_about_the_same_thing(shipped: KnowledgeIndex) -> None:
    assert shipped.similar("Gibt es Parkplätze in Kassel?", "Parkplätze Kassel??")
    assert shipped.similar("Wo parke ich in Kassel?", "wo kann man in Kassel parken")
    assert not shipped.similar("Gibt es Parkplätze in Kassel?", "Wie ist das Wetter in Bonn?")


def test_entry_from_answer_uses_the_text_for_all_languages() -> None:
    entry = entry_from_answer("faq-1", "Frage?", "Antwort.")
    assert entry == Entry(
        "faq-1",
        {"de": "Frage?", "en": "Frage?", "de-simple": "Frage?"},
        {"de": "Antwort.", "en": "Antwort.", "de-simple": "Antwort."},
        ("Frage?",),
        (),
        None,
        frozenset({ANY_DETAIL}),  # written for the question: it answers what it asks
    )


def test_naming_an_entry_s_whole_title_answers_it(shipped: KnowledgeIndex) -> None:
    question = "What precisely is the service centre for regional industry initiatives then?"
    assert answer_id(shipped, question) == "servicestelle"


def test_a_short_typo_of_a_topic_word_is_corrected(shipped: KnowledgeIndex) -> None:
    assert answer_id(shipped, "Welche Zile verfolgte die Servicestelle?") == "ziele"
    assert answer_id(shipped, "Wie kan ich die Servicestelle kontaktieren?") == "kontakt"


def test_an_everyday_word_is_not_taken_for_a_typo_of_another(shipped: KnowledgeIndex) -> None:
    # "verdient" is no slip of "verliert" (krisen-sorgen), "beantragen" none of "Beitrag"
    assert answer_id(shipped, "Wie viel verdient man in der Industrie?") is None
    assert answer_id(shipped, "Wo kann man Kurzarbeitergeld beantragen?") is None
    # while a real slip, or an umlaut written without its e, is still corrected
    assert answer_id(shipped, "Wann gab es das Wasserstoftreffen?") == "wasserstoff-treffen"
    assert answer_id(shipped, "Wer foerdert die Servicestelle?") == "auftraggeber"
    # a lowercase l for a capital I looks the same in many fonts
    assert answer_id(shipped, "Wofür steht BZdl?") == "bzdi"


def test_particles_may_stand_inside_a_phrase(shipped: KnowledgeIndex) -> None:
    assert answer_id(shipped, "was genau macht ihr hier eigentlich?") == "servicestelle"
    assert answer_id(shipped, "kommt ihr auch mal zu uns?") == "vor-ort-hilfe"


def test_sentences_around_the_question_do_not_drown_it(shipped: KnowledgeIndex) -> None:
    lausitz = (
        "Hallo zusammen, wir sind eine Initiative aus der Lausitz mit Stahl- und "
        "Chemiebetrieben und planen gerade unser nächstes Jahr. "
        "Wer hat die Servicestelle eigentlich beauftragt?"
    )
    assert answer_id(shipped, lausitz) == "auftraggeber"
    ruhr = (
        "Ich bin Sprecherin einer Initiative im Ruhrgebiet und bereite eine Sitzung vor. "
        "Welche Themen hatten die Konferenzen?"
    )
    assert answer_id(shipped, ruhr) == "konferenz-themen"
    # a question too short to say what it is about takes its topic from the sentences before
    short = "Ich will eine neue Industrie-initiative machen. Wer hilft mir?"
    assert answer_id(shipped, short) == "neue-initiativen"
    # and known words around a question about something else do not make it answered
    train = (
        "Wir waren letztes Jahr auf eurer Konferenz in Berlin. "
        "Wann fährt morgen der nächste Zug nach Hamburg?"
    )
    assert answer_id(shipped, train) is None


def test_a_question_that_leaves_its_topic_to_the_sentences_before_is_answered(
    shipped: KnowledgeIndex,
) -> None:
    hydrogen = (
        "Unser Verband will bei der nächsten Sitzung über den Wasserstoff-Austausch mit den "
        "Niederlanden berichten. Ich habe nur noch im Kopf, dass es zweisprachig war. "
        "Wer war da alles beteiligt?"
    )
    assert answer_id(shipped, hydrogen) == "wasserstoff-treffen"


def test_among_the_leaders_the_one_giving_the_number_or_date_asked_for_answers(
    shipped: KnowledgeIndex,
) -> None:
    groups = "Mit wie vielen Gruppen aus der Industrie hat die Servicestelle geredet?"
    assert answer_id(shipped, groups) == "ergebnis-reichweite"  # "93", not the conferences
    dated = "Welchen Stand hat der Abschlussbericht?"
    assert answer_id(shipped, dated) == "abschlussbericht"  # the entry with the report's date


def test_of_two_that_score_alike_the_one_covering_clearly_more_answers(
    shipped: KnowledgeIndex,
) -> None:
    # "Ziel" alone ranks the goals as high; the work packages cover the whole question
    assert answer_id(shipped, "Welches Ziel hatte Teilaufgabe 5?") == "teilaufgaben"


def test_a_request_without_a_question_mark_is_the_question(shipped: KnowledgeIndex) -> None:
    kreistag = (
        "Ich arbeite in der Wirtschaftsförderung eines Landkreises und bereite eine Sitzung "
        "des Kreistags vor. Nennen Sie mir bitte das Ministerium, das die Servicestelle "
        "beauftragt hat."
    )
    assert answer_id(shipped, kreistag) == "auftraggeber"
    english = (
        "Our network is based in Lower Saxony and we are planning next year. "
        "I'd like to know which ministry commissioned the service centre."
    )
    assert answer_id(shipped, english) == "auftraggeber"


def test_an_aspect_entry_answers_only_the_question_it_asks(shipped: KnowledgeIndex) -> None:
    # three entries about founding: the general one, where (places) and who (partners)
    assert answer_id(shipped, "ini gründen, wie geht das") == "neue-initiativen"
    assert answer_id(shipped, "Where did the service centre help found initiatives?") == (
        "gruendungsorte"
    )
    assert answer_id(shipped, "wer seid ihr eigentlich?") == "servicestelle"


def test_board_members_are_answered_by_the_board_entry(shipped: KnowledgeIndex) -> None:
    assert answer_id(shipped, "Sitzt Gesamtmetall im Fachbeirat?") == "fachbeirat"
    assert answer_id(shipped, "Who is on the advisory board for the BZdI?") == "fachbeirat"


def test_the_short_name_in_a_title_names_the_entry(shipped: KnowledgeIndex) -> None:
    # "(BZdI)" in the title: the acronym alone is enough to agree on the entry
    assert answer_id(shipped, "BZdI, schon mal gehört, aber keine Ahnung was das ist?") == "bzdi"


def test_a_last_sentence_that_begins_like_a_question_asks(shipped: KnowledgeIndex) -> None:
    forgotten = (
        "Wir sind ein Netzwerk von Zulieferern und haben gerade einen Workshop zur "
        "Digitalisierung gemacht. Was genau hat die Servicestelle der Politik empfohlen"
    )
    assert answer_id(shipped, forgotten) == "empfehlungen-zielgruppen"


def test_a_vague_question_takes_its_topic_from_the_sentence_just_before(
    shipped: KnowledgeIndex,
) -> None:
    # the conference is only where the member heard of them; the focus groups are asked about
    focus = (
        "Unser Netzwerk hatte letztes Jahr einen Stand auf der Konferenz der Servicestelle. "
        "Ein Kollege meinte, es gab auch Fokusgruppen. Wie viele waren es?"
    )
    assert answer_id(shipped, focus) == "befragte-gruppen"


def test_a_rival_only_one_word_agrees_on_is_no_tie_for_a_well_founded_best() -> None:
    data, _ = load_data()
    assert data.thresholds is not None
    best = Candidate(data.entries[0], 13.0, 0.61, agreed=True)
    one_word = Candidate(data.entries[1], 12.7, 0.56, agreed=False)
    match = decide([best, one_word], aspect=False, thresholds=data.thresholds)
    assert match.outcome is Outcome.ANSWER and match.entry is best.entry
    # a rival as well founded is a tie: the member is asked which one was meant
    match = decide([best, replace(one_word, agreed=True)], aspect=False, thresholds=data.thresholds)
    assert match.outcome is Outcome.ASK


def test_among_the_leaders_the_one_giving_the_name_asked_for_answers() -> None:
    def entry(entry_id: str, title: str, answer: str, question: str) -> Entry:
        return Entry(entry_id, {"de": title}, {"de": answer}, (question,), (), None)

    # the first entry says how often and ranks first; the second quotes the titles
    index = index_of(
        [
            entry(
                "tagungen",
                "Tagungen des Netzwerks",
                "Das Netzwerk lud zweimal im Jahr zu Tagungen ein.",
                "Welche Tagungen gab es im Netzwerk?",
            ),
            entry(
                "themen",
                "Leitthemen der Tagungen des Netzwerks",
                "Die Tagungen standen unter „Zukunft vor Ort“ und „Wandel gestalten“.",
                "Worum ging es bei den Tagungen im Netzwerk?",
            ),
        ],
        Analyzer([], LEXICON),
    )
    assert answer_id(index, "Wie hießen die Tagungen des Netzwerks?") == "themen"
    assert answer_id(index, "Welche Tagungen gab es im Netzwerk?") == "tagungen"


def test_each_question_of_a_message_that_asks_two_is_answered(shipped: KnowledgeIndex) -> None:
    match = shipped.search("Wer hat die Servicestelle beauftragt, und wie lange lief der Auftrag?")
    assert match.outcome is Outcome.ANSWER and match.entry is not None
    assert {match.entry.id, *(e.id for e in match.further)} == {"auftraggeber", "laufzeit"}
    # what an answer does not hold is judged on its own question: the number asked for in the
    # first question is given by the second answer, and the board answer does not deny it
    match = shipped.search(
        "Wie viele Initiativen hat die Servicestelle erreicht und wer saß im Fachbeirat?"
    )
    assert match.entry is not None and not match.missing
    assert {match.entry.id, *(e.id for e in match.further)} == {"ergebnis-reichweite", "fachbeirat"}


def test_a_message_with_one_question_has_no_further_answers(shipped: KnowledgeIndex) -> None:
    match = shipped.search("Wir sind eine Initiative aus der Lausitz. Wer hat euch beauftragt?")
    assert match.entry is not None and match.entry.id == "auftraggeber" and not match.further


def test_a_question_how_something_was_done_goes_to_the_entry_that_says_how(
    shipped: KnowledgeIndex,
) -> None:
    how = "Wie hat die Service-stelle beim Start von neuen Gruppen geholfen?"
    assert answer_id(shipped, how) == "neue-initiativen"  # phone advice, workshops
    assert answer_id(shipped, "Wo sind neue Initiativen entstanden?") == "gruendungsorte"


def test_a_number_for_the_last_part_of_a_compound_is_the_number_asked_for(
    shipped: KnowledgeIndex,
) -> None:
    # the answer says "zwei Gruppen"; the question counts "Fokusgruppen"
    assert answer_and_gaps(shipped, "Wie viele Fokusgruppen gab es?") == ("befragte-gruppen", ())
    # a number of something else is still no answer to "how many workshops"
    match = shipped.search("Wie viele Workshops hat die Servicestelle insgesamt gemacht?")
    assert match.entry is None or match.missing


def test_an_asking_sentence_with_three_known_words_needs_no_help_from_the_one_before(
    shipped: KnowledgeIndex,
) -> None:
    # words the knowledge base uses often, but three of them: the sentence before ("Kreistag",
    # "Landratsamt") is not what it asks about
    asked = "Hat die Servicestelle auch Veranstaltungen in den Regionen durchgeführt?"
    for told in (
        "Ich bin Referentin im Kreistag.",
        "Ich sitze im Kreistag.",
        "Ich bin im Landratsamt.",
    ):
        assert answer_id(shipped, f"{told} {asked}") == "regionale-veranstaltungen"


def test_how_a_founding_in_a_named_place_was_helped_is_answered_with_how(
    shipped: KnowledgeIndex,
) -> None:
    for question in (
        "In Bonn ist mit euch eine Initiative entstanden. Wie habt ihr da geholfen?",
        "A new initiative started in Wiesbaden. How did the service centre help?",
    ):
        match = shipped.search(question)
        assert match.entry is not None
        said = " ".join(match.entry.answer.values()).lower()
        assert "workshop" in said and ("telefon" in said or "phone" in said)


def test_the_office_is_the_service_centre_unless_its_address_is_asked(
    shipped: KnowledgeIndex,
) -> None:
    question = "Who did the office team up with for the hydrogen event?"
    assert answer_and_gaps(shipped, question) == ("wasserstoff-treffen", ())
    assert shipped.search("Where is the office located?").missing == ("contact",)


def test_what_was_talked_about_most_is_no_ranking_but_who_is_biggest_is(
    shipped: KnowledgeIndex,
) -> None:
    question = "Worüber wurde in den Regionen am meisten diskutiert?"
    assert answer_and_gaps(shipped, question) == ("energie-umwelt", ())
    assert "ranking" in shipped.search("Welche Initiative ist am meisten gewachsen?").missing


def test_a_typo_the_stemmer_cuts_elsewhere_is_corrected_as_written(
    shipped: KnowledgeIndex,
) -> None:
    # "laufzet" stems to "laufz" and "projket" to "projk", too far from what was meant
    assert answer_id(shipped, "Wie lange war die Laufzet?") == "laufzeit"
    assert answer_id(shipped, "Wie lange lief das Projket?") == "laufzeit"


def test_kind_of_says_nothing_about_the_topic(shipped: KnowledgeIndex) -> None:
    assert answer_id(shipped, "What type of support did the founders get?") == "neue-initiativen"


def test_one_more_than_an_answer_lists_is_a_detail_it_does_not_give(
    shipped: KnowledgeIndex,
) -> None:
    # the report names five of its "six target groups" and nine of its "ten chambers"
    assert "beyond_list" in shipped.search("Wer ist die sechste Zielgruppe?").missing
    assert (
        "beyond_list"
        in shipped.search("Which was the tenth chamber in the cross-border survey?").missing
    )
    # the sixth sub-task is known; "achten" is also a verb
    assert not shipped.search("Worum ging es in der sechsten Teilaufgabe?").missing
    assert not shipped.search("Worauf sollen alle laut den Empfehlungen achten?").missing


def test_phone_advice_is_no_phone_number(shipped: KnowledgeIndex) -> None:
    match = shipped.search("Unter welcher Telefonnummer gab es die telefonische Beratung?")
    assert match.missing == ("contact",)


def test_companies_universities_and_officials_are_not_named(shipped: KnowledgeIndex) -> None:
    # the report speaks of "Firmen", "Wissenschaft" and "the ministry", never of which ones
    question = "Welche Firmen haben bei den Veranstaltungen für Jugendliche mitgemacht?"
    assert "organisation" in shipped.search(question).missing
    assert "organisation" in shipped.search("Welche Universität saß im Fachbeirat?").missing
    question = "Wer war im Ministerium für die Servicestelle zuständig?"
    assert "official" in shipped.search(question).missing
    # which kinds of institution, though, it does name
    question = "Welche Institutionen waren im Fachbeirat vertreten?"
    assert answer_and_gaps(shipped, question) == ("fachbeirat", ())


def test_whether_the_work_went_on_is_unknown_that_it_should_is_known(
    shipped: KnowledgeIndex,
) -> None:
    question = "Wurde die Servicestelle nach 2023 wirklich verlängert?"
    assert "decision" in shipped.search(question).missing
    assert answer_and_gaps(shipped, "Wie geht es nach 2023 weiter?") == ("weiterfuehrung", ())


def test_the_website_address_is_known_a_postal_one_is_not(shipped: KnowledgeIndex) -> None:
    assert answer_and_gaps(shipped, "Wie ist die Adresse der Internetseite?") == ("webseite", ())
    match = shipped.search("Unter welcher Postanschrift sitzt die Servicestelle?")
    assert match.entry is None or "contact" in match.missing


def test_date_and_place_of_an_event_with_a_hyphenated_name(shipped: KnowledgeIndex) -> None:
    question = "Wann genau war das deutsch-niederländische Wasserstoff-Treffen?"
    assert "event_date" in shipped.search(question).missing
    assert "venue" in shipped.search("wo war denn das wasserstoff-treffen?").missing


def test_how_to_become_a_member_is_not_known(shipped: KnowledgeIndex) -> None:
    assert "signup" in shipped.search("Wie kann unsere Initiative Mitglied im BZdI werden?").missing


def test_which_ones_exactly_is_unknown_where_the_answer_only_uses_the_word(
    shipped: KnowledgeIndex,
) -> None:
    # "Es ging um Windparks und Stromleitungen": no wind farm is named
    question = "Welche Windparks genau wurden diskutiert?"
    assert answer_and_gaps(shipped, question) == ("energie-umwelt", ("unnamed",))
    question = "Which specific wind farms came up?"
    assert answer_and_gaps(shipped, question) == ("energie-umwelt", ("unnamed",))
    # a colon before a question ("Studien gelesen. Zu der Frage: Wie …?") names no study
    question = "Welche Studien genau hat die Servicestelle ausgewertet?"
    assert answer_and_gaps(shipped, question) == ("akzeptanzstudien", ("unnamed",))
    # listed or given as examples, they are named
    question = "Welche Länder genau wurden befragt?"
    assert answer_and_gaps(shipped, question) == ("grenzueberschreitende-umfrage", ())
    question = "In welchen Orten genau entstanden neue Initiativen?"
    assert answer_and_gaps(shipped, question) == ("gruendungsorte", ())


def test_a_verb_an_entry_words_otherwise_costs_it_little() -> None:
    # "präsentiert" is known from another entry; the question is about wind farms
    analyzer = Analyzer([], LEXICON)
    entries = [
        entry_from_answer("energie", "Gespräche über Windparks", "Es ging um Windparks."),
        entry_from_answer("webinare", "Wer hat die Webinare präsentiert?", "Fachleute."),
    ]
    assert answer_id(index_of(entries, analyzer), "Wurden Windparks präsentiert?") == "energie"


def test_a_detail_one_question_of_a_message_asks_stays_unknown(shipped: KnowledgeIndex) -> None:
    # the first sentence finds the entry, another question finds another one ("gegründet"),
    # and the last asks what neither holds
    message = (
        "Die Initiative in Wiesbaden interessiert mich. Wann wurde sie gegründet, und wie viele "
        "Mitglieder hat sie?"
    )
    assert "headcount" in shipped.search(message).missing


def test_who_the_member_is_is_no_detail_they_ask_for(shipped: KnowledgeIndex) -> None:
    question = (
        "Als Mitarbeiter einer Stadtverwaltung frage ich mich, welche Orte als Beispiele für "
        "neu gestartete Initiativen genannt werden."
    )
    assert answer_and_gaps(shipped, question) == ("gruendungsorte", ())


def test_chat_contractions_say_nothing_about_the_topic(shipped: KnowledgeIndex) -> None:
    assert answer_id(shipped, "wie viele sinds am ende geworden mit den inis") == (
        "ergebnis-reichweite"
    )
    assert answer_id(shipped, "hey, wie wars aufm fachbeirat?") == "fachbeirat"


def test_when_is_unknown_where_the_answer_gives_no_time(shipped: KnowledgeIndex) -> None:
    question = "Wann gab es die telefonische Beratung?"
    assert answer_and_gaps(shipped, question) == ("neue-initiativen", ("undated",))
    question = "When was the self-assessment guide published?"
    assert answer_and_gaps(shipped, question) == ("selbstbewertung", ("undated",))
    assert answer_and_gaps(shipped, "Wann lief der Auftrag?") == ("laufzeit", ())
    # "when" that does not ask
    question = "What did towns get when they wanted to start an initiative?"
    assert answer_and_gaps(shipped, question) == ("neue-initiativen", ())


def test_a_word_written_lowercase_ranks_an_entry_less_than_a_noun(
    shipped: KnowledgeIndex,
) -> None:
    # "fiel ... aus" and "gesprochen" are said in other entries too; the nouns say what is asked
    assert answer_id(shipped, "Wie fiel die Bilanz der Servicestelle am Ende aus?") == (
        "ergebnis-reichweite"
    )
    message = "Da stand etwas von drei Treffen im Jahr. Worüber wurde da gesprochen?"
    assert answer_id(shipped, message) == "konferenzen"


def test_idioms_find_the_entry_they_mean(shipped: KnowledgeIndex) -> None:
    question = "Wer hat euch bei Neugründungen unter die Arme gegriffen?"
    assert answer_id(shipped, question) == "gruendungspartner"
    question = "According to the report, who takes a dim view of industry?"
    assert answer_id(shipped, question) == "industrie-image"


def test_an_offer_says_which_detail_none_of_its_entries_gives(shipped: KnowledgeIndex) -> None:
    match = shipped.search("Which region has the most initiatives?")
    assert (match.outcome, match.missing) == (Outcome.ASK, ("ranking",))
    # a question of its own, not the continuation of the one before
    match, continued = shipped.search_after(
        "Which region has the most initiatives?", "When exactly were the webinars?"
    )
    assert (match.outcome, continued) == (Outcome.ASK, False)


def test_a_detail_is_unknown_only_where_no_answer_gives_it(shipped: KnowledgeIndex) -> None:
    # the conferences were three a year; the advisory board's meetings are not counted
    assert answer_and_gaps(shipped, "Wie oft fanden die Konferenzen statt?") == ("konferenzen", ())
    question = "Wie oft hat der Fachbeirat der Servicestelle getagt?"
    assert answer_and_gaps(shipped, question) == ("fachbeirat", ("frequency",))
    # a date does not end the sentence that asks
    question = "Wer führt die Arbeit der Servicestelle nach dem 31. Dezember 2023 fort?"
    assert "current" in shipped.search(question).missing


def test_a_follow_up_asks_for_the_details_its_own_words_ask(shipped: KnowledgeIndex) -> None:
    match, continued = shipped.search_after(
        "Und worum ging es da?", "Wie oft gab es die Vernetzungstreffen?"
    )
    assert continued and match.entry is not None and match.missing == ()


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # another name for the project, the duration asked in other words
        ("Von wann bis wann lief das Vorhaben?", "laufzeit"),
        ("How long did the programme run for?", "laufzeit"),
        ("When did the service centre operate?", "laufzeit"),
        # the report as the source, or a request to keep it simple, is no topic
        ("Warum ist die Industrie laut Bericht für Deutschland so wichtig?", "bedeutung-industrie"),
        ("What kind of body is the BZdI, in simple terms?", "bzdi"),
        # a sub-task by its number finds the entry on its work
        (
            "Welche Angebote machte die Servicestelle den Initiativen in Teilaufgabe 1?",
            "vernetzung",
        ),
        ("Why did the service centre develop a concept in sub-task 1?", "vernetzung"),
        ("Was waren die Teilaufgaben?", "teilaufgaben"),
        # "dahinter" is whatever the message named before it
        (
            "Ein Kollege erzählte mir von einer Auszeichnung für gute Industrieinitiativen. "
            "Wie hieß das und wer stand dahinter?",
            "wettbewerb",
        ),
        ("Welches Bundesressort stand dahinter?", "auftraggeber"),
        # a meeting across the border, not the survey on cross-border work
        ("What was the cross-border event with the Dutch partners about?", "wasserstoff-treffen"),
        (
            "Welche Kammern wurden zur grenzüberschreitenden Zusammenarbeit befragt?",
            "grenzueberschreitende-umfrage",
        ),
        ("Worin sind Industriebetriebe laut Einleitung besonders stark?", "bedeutung-industrie"),
        (
            "Welche drei übergreifenden Handlungsfelder gelten für sämtliche Zielgruppen?",
            "empfehlungen-kernthemen",
        ),
        ("What kind of support did existing regional initiatives get?", "angebote"),
        ("Where did they help get brand-new initiatives off the ground?", "gruendungsorte"),
        ("Who lent a hand locally when new initiatives were being set up?", "gruendungspartner"),
        ("Did they beat their target?", "ergebnis-reichweite"),
        # "most" is said in another entry's "most important"; "wenig" negates like "nicht"
        ("Who tends to be most sceptical of industry?", "industrie-image"),
        ("Wer mag die Industrie besonders wenig?", "industrie-image"),
    ],
)
def test_members_words_find_the_entry(
    shipped: KnowledgeIndex, question: str, expected: str
) -> None:
    assert answer_id(shipped, question) == expected


def test_the_duration_names_how_the_work_opened_and_closed(shipped: KnowledgeIndex) -> None:
    entry = shipped.get("laufzeit")
    assert entry is not None and "Kick-off" in entry.answer["de"]


def test_aimed_at_asks_for_the_target_groups(shipped: KnowledgeIndex) -> None:
    question = "Which groups are the recommendations directed at?"
    assert answer_id(shipped, question) == "empfehlungen-zielgruppen"


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        # a member's own role is no detail asked; a staff count is
        ("Als Mitarbeiterin einer Kammer: wer hat die Studie verfasst?", ("person",)),
        ("Wie viele Mitarbeiter hatte die Servicestelle?", ("person", "headcount")),
        ("Wie beantragen wir Fördermittel beim Bund?", ("money",)),
        ("Wie hoch ist die Ausbildungsvergütung?", ("money",)),
        ("How much did the service centre spend on advertising?", ("money",)),
        ("Mal ehrlich: war die Servicestelle das Geld wert?", ("money",)),
        ("Ist die Bundesregierung schuld an der Abwanderung?", ("blame",)),
        ("Who is to blame for the loss of industry?", ("blame",)),
        ("Kann ich bei euch ein Praktikum machen?", ("jobs",)),
        ("Kann ich bei der Service-stelle eine Ausbildung machen?", ("jobs",)),
        ("Wer hat die Berichte von der Service-stelle bekommen?", ()),
        ("In welcher Stadt hatte die Servicestelle ihren Sitz?", ("address",)),
        (
            "Welche Initiativen wurden beim Wettbewerb „Ausgezeichnete Initiativen“ prämiert?",
            ("winner",),
        ),
        ("Which federal states had the most initiatives?", ("ranking",)),
        ("Who took over the service centre's work?", ("decision",)),
        ("Wurde eine neue Servicestelle ausgeschrieben?", ("decision",)),
        ("Welche Aufgaben übernahm der Fachbeirat?", ()),
        ("Wie wird BZdI ausgeschrieben?", ()),  # spelled out
        ("Wie viele Gruppen hat die Servicestelle getroffen?", ()),  # not "offen"
        ("Unter welcher Adresse ist das Online-Angebot erreichbar?", ()),  # a web address
        ("Wie oft hat der Fachbeirat getagt?", ("frequency",)),
        ("How often did the advisory board meet?", ("frequency",)),
        ("Wie viele der zehn Kammern haben geantwortet?", ("share",)),
        ("How many of the chambers actually replied?", ("share",)),
        ("Wie verteilen sich die Initiativen auf die Bundesländer?", ("share",)),
        ("Die Konferenzen – wie viele davon gab es pro Jahr?", ()),
        ("What happened to the centre after December 2023?", ("current",)),
        ("Was wurde bei dem Treffen konkret beschlossen?", ("findings",)),
    ],
)
def test_details_the_report_does_not_give(
    details: DetailKinds, question: str, kinds: tuple[str, ...]
) -> None:
    assert details.asked(question) == kinds
