"""Offerings Q&A through the dispatcher: answers, honest fallback, /faq for coordinators."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.messages import UserId
from storage.models import UnansweredQuestion
from tests.fakes import COORDINATOR, MEMBER

OTHER = UserId("@other:localhost")


async def test_question_gets_answer_with_title_and_link(chat) -> None:
    [text] = await chat("!frage Wie heißt die Webseite der Servicestelle?")
    assert "regionale-industrieinitiativen.de" in text.splitlines()[-1]


async def test_plain_question_in_direct_chat_needs_no_command(chat) -> None:
    [text] = await chat("Was ist das Bündnis Zukunft der Industrie?", direct=True)
    assert "Bündnis" in text


async def test_english_question_gets_english_answer(chat) -> None:
    [text] = await chat("!ask Who commissioned the service centre?")
    assert "Ministry" in text


async def test_leichte_sprache_on_request(chat) -> None:
    await chat("!sprache einfach")
    [simple] = await chat("!frage Wer hat die Servicestelle beauftragt?")
    await chat("!sprache de")
    [plain] = await chat("!frage Wer hat die Servicestelle beauftragt?")
    assert simple != plain


async def test_the_unknown_part_of_a_question_is_said_first(chat) -> None:
    [winner] = await chat("!frage Welche Initiative hat den Wettbewerb gewonnen?")
    assert winner.startswith("Wer gewonnen hat, weiß ich nicht. Was ich dazu weiß:")
    assert "Wettbewerb" in winner.splitlines()[1]
    [webinars] = await chat("!frage Wie viele Webinare hat die Servicestelle angeboten?")
    assert webinars.startswith("Diese Zahl weiß ich nicht.")
    [reached] = await chat("!frage Wie viele Initiativen hat die Servicestelle erreicht?")
    assert "93" in reached and "weiß ich nicht" not in reached
    [survey] = await chat("!frage Was kam bei der Umfrage der Auslandshandelskammern heraus?")
    assert survey.startswith("Was dabei genau herauskam, weiß ich nicht.")
    [found] = await chat("!frage Was waren die Ergebnisse der Befragung der zwei Gruppen?")
    assert "weiß ich nicht" not in found and "Dialog" in found  # its answer gives them
    [operator] = await chat("!frage Welche Beratungsfirma hat die Servicestelle betrieben?")
    assert operator.startswith("Welche Firma oder Organisation die Servicestelle betrieben hat")
    [english] = await chat("!ask How many new initiatives were founded in workshops?", user=OTHER)
    assert english.startswith("I don't know that number.")


async def test_the_date_of_a_meeting_and_a_price_in_a_compound_are_unknown_details(chat) -> None:
    [kickoff] = await chat("!frage Wann genau war das Kick-off-Meeting mit dem Fachbeirat?")
    assert kickoff.startswith("Wann genau das stattfand, weiß ich nicht.")
    [price] = await chat("!frage Wie hoch ist der Industriestrompreis gerade?", user=OTHER)
    assert price.startswith("Zu Geld, Kosten oder Beiträgen weiß ich nichts.")
    [board] = await chat("!frage Wer saß im Fachbeirat?", user=OTHER)
    assert "weiß ich nicht" not in board and "IG Metall" in board


async def test_two_questions_in_one_message_get_both_answers(chat) -> None:
    [text] = await chat("!frage Wer hat die Servicestelle beauftragt, und wie lange lief das?")
    assert "BMWK" in text and "2021" in text and "2023" in text
    assert "weiß ich nicht" not in text
    [english] = await chat("Who commissioned the service centre and when did it end?", direct=True)
    assert "Ministry" in english and "2023" in english


async def test_rankings_criteria_sign_ups_and_founding_dates_are_unknown_details(chat) -> None:
    [ranking] = await chat("!frage Welche Region hat die meisten Industrieinitiativen?")
    assert ranking.startswith("Eine Rangfolge (wer am meisten oder am größten ist) weiß ich nicht.")
    [criteria] = await chat("!frage Nach welchen Kriterien hat die Jury im Wettbewerb entschieden?")
    assert criteria.startswith("Nach welchen Kriterien ausgewählt wurde, weiß ich nicht.")
    assert "Wettbewerb" in criteria
    [signup] = await chat("!frage Wie bewerben wir uns beim Wettbewerb der Industrieinitiativen?")
    assert signup.startswith("Wie man sich anmeldet oder bewirbt und bis wann, weiß ich nicht.")
    [founded] = await chat("!frage Wann wurde die Initiative in Bonn gegründet?")
    assert founded.startswith("Wann genau das gegründet wurde, weiß ich nicht.")
    [day] = await chat(
        "!frage An welchem Tag war das deutsch-niederländische Wasserstoff-Treffen?", user=OTHER
    )
    assert day.startswith("Wann genau das stattfand, weiß ich nicht.")
    [webinars] = await chat("!frage Wann genau waren die Webinare?", user=OTHER)
    assert webinars.startswith("Wann genau das stattfand, weiß ich nicht.")
    [english] = await chat("!ask Which region has the most initiatives?", user=OTHER)
    assert english.startswith("I don't know a ranking")


async def test_a_detail_no_offered_entry_gives_is_said_before_the_offer(chat) -> None:
    [text] = await chat("!ask Which region has the most initiatives?")
    assert text.startswith("I don't know a ranking (who has the most or is the largest).")
    assert "Did you mean one of these?" in text and "\n1. " in text


async def test_which_one_is_unknown_when_the_knowledge_only_says_there_was_one(chat) -> None:
    # the two surveyed groups: "eine mit Blick auf eine Region und eine zu einem Zukunftsthema"
    [region] = await chat("!frage Um welche Region ging es bei der Befragung der zwei Gruppen?")
    assert region.startswith("Um welche Region es dabei genau ging, weiß ich nicht.")
    [topic] = await chat("!frage Welches Zukunftsthema hatte die andere befragte Gruppe?")
    assert topic.startswith("Welche genau, weiß ich nicht")
    assert "Zukunftsthema" in topic  # then what is known about the groups
    # where the knowledge names them, they are simply answered
    [places] = await chat("!frage In welchen Regionen sind neue Initiativen entstanden?")
    assert "weiß ich nicht" not in places and "Eichsfeld" in places
    [english] = await chat("!ask Which region was the survey of the two groups about?", user=OTHER)
    assert english.startswith("I don't know which region exactly")


async def test_a_follow_up_is_read_with_the_question_before(chat) -> None:
    await chat("!frage Was war das deutsch-niederländische Wasserstoff-Treffen?")
    [partners] = await chat("!frage Und wer waren die Partner?")  # alone: founding partners
    assert partners.startswith("Deutsch-niederländisches Wasserstoff-Treffen")
    assert "Hydrogen Hub Aachen" in partners
    [other] = await chat("!frage Wer hat die Servicestelle beauftragt?")  # a new question
    assert "Wirtschaft und Klimaschutz" in other
    [again] = await chat("!frage Welche Partner gab es bei der Gründung neuer Initiativen?")
    assert again.startswith("Partner bei der Gründung")


async def test_a_follow_up_that_names_its_own_topic_is_read_alone(chat) -> None:
    await chat("!frage Was war das deutsch-niederländische Wasserstoff-Treffen?")
    [reached] = await chat("!frage Und wie viele Initiativen hat die Servicestelle erreicht?")
    assert reached.startswith("Ergebnis - 93 statt 60 Initiativen erreicht")


async def test_out_of_scope_is_admitted_and_stored_without_user(chat, services) -> None:
    [text] = await chat("!frage Wann fährt der nächste Zug nach Hamburg?")
    assert "weiß ich leider nicht" in text
    async with services.db.read() as session:
        rows = list(await session.scalars(select(UnansweredQuestion)))
    assert [r.text for r in rows] == ["Wann fährt der nächste Zug nach Hamburg?"]
    assert MEMBER not in repr(vars(rows[0]))


async def test_coordinator_answers_open_question_and_it_is_used_at_once(chat, services) -> None:
    await chat("!frage Gibt es einen Newsletter der Servicestelle?")
    await chat("!frage Gibt es einen Newsletter?", user=OTHER)  # one member is counted once
    [listing] = await chat("!faq unbeantwortet", user=COORDINATOR)
    line = next(line for line in listing.splitlines() if "Newsletter" in line)
    number = line.removeprefix("• ").split()[0].lstrip("#")
    assert "(2×)" in line
    [saved] = await chat(f"!faq antwort {number} Ja, monatlich per E-Mail.", user=COORDINATOR)
    assert "beantwortet" in saved
    [answer] = await chat("!frage Gibt es einen Newsletter der Servicestelle?")
    assert "monatlich per E-Mail" in answer
    [after] = await chat("!faq unanswered", user=COORDINATOR)
    assert "Newsletter" not in after
    # a new question right after it is not read as one about the newsletter
    [parking] = await chat("!frage Wo parke ich beim Netzwerktreffen?")
    assert "monatlich per E-Mail" not in parking and parking.startswith("Das weiß ich")


async def test_faq_answer_survives_restart(chat, settings) -> None:
    from bot.app import build_dispatcher
    from bot.services import build_services
    from tests.fakes import Conversation

    await chat("!frage Wo parke ich beim Netzwerktreffen?")
    [listing] = await chat("!faq unanswered", user=COORDINATOR)
    number = listing.splitlines()[1].removeprefix("• ").split()[0].lstrip("#")
    await chat(f"!faq answer {number} Parkplätze gibt es am Bahnhof.", user=COORDINATOR)
    fresh = await build_services(settings)
    try:
        [answer] = await Conversation(build_dispatcher(fresh, flood=False))(
            "!frage Wo parke ich beim Netzwerktreffen?"
        )
    finally:
        await fresh.db.dispose()
    assert "Bahnhof" in answer


async def test_faq_is_for_coordinators_only(chat) -> None:
    [text] = await chat("!faq unanswered", user=MEMBER)
    assert "nur Koordinator" in text


async def test_faq_answer_with_unknown_number(chat) -> None:
    [text] = await chat("!faq answer 999 Text", user=COORDINATOR)
    assert "999" in text


async def test_offerings_overview(chat) -> None:
    [text] = await chat("!angebote")
    assert "Webinar" in text and "!frage" in text
    [english] = await chat("!offerings")
    assert "!ask" in english


async def test_a_suggestion_is_picked_by_its_number(chat) -> None:
    [offer] = await chat("!frage Treffen", direct=False)
    assert "weiß ich leider nicht" in offer and "Koordination" in offer  # honest all the same
    options = [line for line in offer.splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert len(options) >= 2, offer
    [picked] = await chat("!frage 2", direct=False)
    assert picked.splitlines()[0] == options[1].removeprefix("2. ")
    # in a direct chat the number alone is enough
    await chat("Treffen", direct=True)
    [again] = await chat("1", direct=True)
    assert again.splitlines()[0] == options[0].removeprefix("1. ")
    # another member's number picks nothing of this member's offer
    [other] = await chat("!frage 2", user=COORDINATOR, direct=False)
    assert other.splitlines()[0] != options[1].removeprefix("2. ")
