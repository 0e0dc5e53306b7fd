"""Unanswered questions: the grouping rule, and filing, listing, answering, closing, privacy
and retention through the dispatcher on a real SQLite."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.core.messages import UserId
from bot.knowledge import learning
from bot.knowledge.questions import (
    DAILY_LIMIT,
    group_terms,
    key_terms,
    matching_groups,
)
from bot.services import Services
from handlers import knowledge
from storage.models import KnowledgeEntry, QuestionGroup, QuestionGroupTerm, UnansweredQuestion
from storage.questions import MAX_QUESTION_CHARS
from tests.fakes import COORDINATOR, MEMBER, Conversation

OTHER = UserId("@other:localhost")
THIRD = UserId("@third:localhost")
TRAIN = "Wann fährt der nächste Zug nach Hamburg?"


def word(rng: random.Random) -> str:
    return "".join(rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou") for _ in range(4))


def nonsense(rng: random.Random) -> str:
    """A question about words nobody knows: never answered, never similar to another one."""
    return f"Was ist {word(rng)} {word(rng)}?"


async def groups(services: Services) -> list[tuple[int, int, str, str]]:
    """(number, count, state, text) of every group."""
    async with services.db.read() as session:
        rows = await session.execute(
            select(
                QuestionGroup.id, QuestionGroup.asked_count, QuestionGroup.state, QuestionGroup.text
            ).order_by(QuestionGroup.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def stored(services: Services) -> list[tuple[int, str]]:
    """(group, text) of every stored question."""
    async with services.db.read() as session:
        rows = await session.execute(
            select(UnansweredQuestion.group_id, UnansweredQuestion.text).order_by(
                UnansweredQuestion.id
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def listed(listing: str) -> dict[int, tuple[int, str]]:
    """`!faq unbeantwortet` as number -> (count, text)."""
    found = {}
    for line in listing.splitlines():
        line = line.removeprefix("• ")
        if line.startswith("#"):
            number, count, text = line.split(" ", 2)
            found[int(number[1:])] = (int(count.strip("()×")), text)
    return found


# -- the grouping rule -----------------------------------------------------------------------


def test_key_terms_are_the_heaviest_until_more_than_half() -> None:
    assert key_terms({"zug": 4.0, "hamburg": 4.0, "fahr": 3.0}) == ["hamburg", "zug"]
    assert key_terms({"newsletter": 4.4, "servicestelle": 0.1}) == ["newsletter"]
    assert (
        key_terms({f"t{n}": 1.0 for n in range(30)}, limit=8)
        == sorted(f"t{n}" for n in range(30))[:8]
    )
    assert key_terms({"x" * 65: 9.0, "kurz": 1.0}) == ["kurz"]  # too long to be stored
    assert key_terms({}) == []


def test_group_terms_keep_the_heaviest_that_fit() -> None:
    signature = {f"t{n:02}": float(n) for n in range(40)} | {"y" * 70: 99.0}
    kept = group_terms(signature)
    assert len(kept) == 32 and kept[0] == "t39" and "y" * 70 not in kept


def test_a_question_joins_the_most_similar_group_above_the_threshold() -> None:
    question = {"zug": 4.0, "hamburg": 4.0, "fahr": 3.0}
    candidates = {
        1: {"zug": 4.0, "berlin": 4.0},  # 4/15: another city
        2: {"zug": 4.0, "hamburg": 4.0},  # 8/11
        3: {"zug": 4.0, "hamburg": 4.0, "fahr": 3.0},  # the same
        4: {"hamburg": 4.0, "fahr": 3.0, "zug": 4.0},  # the same, newer
    }
    assert matching_groups(question, candidates) == [3, 4, 2]
    assert matching_groups(question, {1: candidates[1]}) == []
    assert matching_groups(question, {}) == []


def test_any_group_above_the_threshold_shares_a_key_term() -> None:
    """Looking up only the key terms loses no group the question would join."""
    rng = random.Random(7)
    vocabulary = [f"w{n}" for n in range(12)]
    for _ in range(2000):
        question = {t: rng.uniform(0.1, 5) for t in rng.sample(vocabulary, rng.randint(1, 6))}
        weights = {t: rng.uniform(0.1, 5) for t in vocabulary} | question
        group = {t: weights[t] for t in rng.sample(vocabulary, rng.randint(1, 6))}
        if matching_groups(question, {1: group}):
            assert set(key_terms(question)) & set(group)


# -- arrival ----------------------------------------------------------------------------------


async def test_similar_questions_are_grouped_when_they_arrive(
    chat: Conversation, services: Services
) -> None:
    await chat(f"!frage {TRAIN}")
    await chat("!frage Wann fährt der Zug nach Hamburg?", user=OTHER)
    await chat("!frage Wo parke ich beim Netzwerktreffen?", user=THIRD)
    found = await groups(services)
    [(train, _, _, _), (parking, _, _, _)] = found
    parking_text = "Wo parke ich beim Netzwerktreffen?"
    assert found == [(train, 2, "open", TRAIN), (parking, 1, "open", parking_text)]  # first, full
    assert [group for group, _ in await stored(services)] == [train, train, parking]
    async with services.db.read() as session:
        terms = set(await session.scalars(select(QuestionGroupTerm.term)))
    assert {"zug", "hamburg", "park"} <= terms
    [listing] = await chat("!faq unbeantwortet", user=COORDINATOR)
    assert listed(listing) == {
        train: (2, TRAIN),
        parking: (1, "Wo parke ich beim Netzwerktreffen?"),
    }
    assert listing.index(f"#{train} ") < listing.index(f"#{parking} ")  # most asked first


async def test_the_same_member_asking_again_adds_nothing(
    chat: Conversation, services: Services
) -> None:
    for text in (TRAIN, TRAIN, "Wann fährt der Zug nach Hamburg?"):
        [reply] = await chat(f"!frage {text}")
        assert "weiß ich leider nicht" in reply  # the same honest answer each time
    assert len(await stored(services)) == 1
    await chat(f"!frage {TRAIN}", user=OTHER)
    assert [count for _, count, _, _ in await groups(services)] == [2]


async def test_a_member_stores_at_most_the_daily_limit(
    chat: Conversation, services: Services
) -> None:
    rng = random.Random(3)
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    services.clock = lambda: start
    for _ in range(DAILY_LIMIT):
        await chat(f"!frage {nonsense(rng)}")
    [reply] = await chat(f"!frage {nonsense(rng)}")
    assert "weiß ich leider nicht" in reply  # answered as usual, just not stored
    assert len(await stored(services)) == DAILY_LIMIT
    await chat(f"!frage {nonsense(rng)}", user=OTHER)  # others are not limited by it
    assert len(await stored(services)) == DAILY_LIMIT + 1
    services.clock = lambda: start + timedelta(days=1, seconds=1)
    await chat(f"!frage {nonsense(rng)}")
    assert len(await stored(services)) == DAILY_LIMIT + 2


async def test_an_over_long_question_is_never_stored_cut(
    chat: Conversation, services: Services
) -> None:
    rng = random.Random(5)
    long = " ".join(word(rng) for _ in range(300))[: MAX_QUESTION_CHARS + 1]
    assert len(long) == MAX_QUESTION_CHARS + 1
    await chat(f"!frage {long}")
    assert await stored(services) == []


async def test_the_listing_shows_the_full_text_that_the_answer_stores(
    chat: Conversation, services: Services
) -> None:
    rng = random.Random(11)
    long = " ".join(word(rng) for _ in range(150)) + "?"
    assert 1000 < len(long) <= MAX_QUESTION_CHARS
    await chat(f"!frage {long}")
    [listing] = await chat("!faq unbeantwortet", user=COORDINATOR)
    [(number, (count, text))] = listed(listing).items()
    assert count == 1 and text == long  # no hidden tail
    await chat(f"!faq antwort {number} Das steht im Handbuch.", user=COORDINATOR)
    async with services.db.read() as session:
        entry = await session.get(KnowledgeEntry, f"faq-{number}")
    assert entry is not None and entry.question == long


async def test_the_listing_names_how_many_more_are_open(
    chat: Conversation, services: Services
) -> None:
    rng = random.Random(13)
    for _ in range(knowledge._MAX_OPEN + 3):
        await chat(f"!frage {nonsense(rng)}", user=UserId(f"@m{rng.random()}:localhost"))
    [listing] = await chat("!faq unbeantwortet", user=COORDINATOR)
    assert len(listed(listing)) == knowledge._MAX_OPEN
    assert "3 weitere offene Fragen" in listing


# -- answering and closing ------------------------------------------------------------------


async def test_answering_settles_the_group_and_is_used_after_the_commit(
    chat: Conversation, services: Services
) -> None:
    await chat(f"!frage {TRAIN}")
    await chat(f"!frage {TRAIN}", user=OTHER)
    [(number, count, state, _)] = await groups(services)
    assert (count, state) == (2, "open")
    before = services.knowledge
    [saved] = await chat(f"!faq antwort {number} Stündlich ab Gleis 5.", user=COORDINATOR)
    assert f"#{number}" in saved and "2" in saved
    assert services.knowledge is not before  # replaced by a new index, not changed in place
    assert before.get(f"faq-{number}") is None
    assert [state for _, _, state, _ in await groups(services)] == ["answered"]
    async with services.db.read() as session:
        answered = set(await session.scalars(select(UnansweredQuestion.answered_entry)))
        terms = await session.scalar(select(func.count()).select_from(QuestionGroupTerm))
    assert answered == {f"faq-{number}"} and terms == 0
    [answer] = await chat(f"!frage {TRAIN}", user=THIRD)
    assert "Gleis 5" in answer
    [listing] = await chat("!faq unanswered", user=COORDINATOR)
    assert "Hamburg" not in listing
    [again] = await chat(f"!faq answer {number} Noch einmal.", user=COORDINATOR)
    assert str(number) in again and "gibt es nicht" in again


async def test_the_index_is_unchanged_when_the_answer_is_not_committed(
    chat: Conversation, services: Services
) -> None:
    await chat(f"!frage {TRAIN}")
    [(number, _, _, _)] = await groups(services)
    async with services.db.transaction() as session:  # an entry of that id exists already
        session.add(KnowledgeEntry(id=f"faq-{number}", question="x", answer="y", created_by="z"))
    before = services.knowledge
    [reply] = await chat(f"!faq antwort {number} Stündlich ab Gleis 5.", user=COORDINATOR)
    assert "Gleis" not in reply  # the apology, with a reference
    assert services.knowledge is before and before.get(f"faq-{number}") is None
    assert [state for _, _, state, _ in await groups(services)] == ["open"]


async def test_closing_takes_a_group_off_the_list(chat: Conversation, services: Services) -> None:
    await chat(f"!frage {TRAIN}")
    [(number, _, _, _)] = await groups(services)
    [closed] = await chat(f"!faq schließen {number}", user=COORDINATOR)
    assert f"#{number}" in closed
    [listing] = await chat("!faq unbeantwortet", user=COORDINATOR)
    assert "Hamburg" not in listing
    await chat(f"!frage {TRAIN}", user=OTHER)  # a new question opens a new group
    assert [(state, count) for _, count, state, _ in await groups(services)] == [
        ("closed", 1),
        ("open", 1),
    ]
    [again] = await chat(f"/faq close {number}", user=COORDINATOR)
    assert "gibt es nicht" in again
    [member] = await chat(f"!faq schließen {number + 1}")
    assert "nur Koordinator" in member


# -- privacy and retention ----------------------------------------------------------------


async def test_members_see_and_delete_their_questions(
    chat: Conversation, services: Services
) -> None:
    await chat(f"!frage {TRAIN}")
    await chat("!frage Wann fährt der Zug nach Hamburg?", user=OTHER)
    await chat("!frage Wo parke ich beim Netzwerktreffen?")
    [mine] = await chat("!meine-daten")
    assert TRAIN in mine and "Netzwerktreffen" in mine
    [theirs] = await chat("!meine-daten", user=OTHER)
    assert "Wann fährt der Zug nach Hamburg?" in theirs and "Netzwerktreffen" not in theirs
    await chat("!daten-loeschen")
    await chat("!daten-loeschen bestätigen")
    [(_, text)] = await stored(services)
    assert text == "Wann fährt der Zug nach Hamburg?"
    [(_, count, state, text)] = await groups(services)  # the parking group went with it
    assert (count, state) == (1, "open")
    assert text == "Wann fährt der Zug nach Hamburg?"  # no deleted text stays behind
    [listing] = await chat("!faq unbeantwortet", user=COORDINATOR)
    assert "Netzwerktreffen" not in listing and "nächste" not in listing
    assert "Hamburg" in (await chat("!meine-daten", user=OTHER))[0]


async def test_retention_deletes_old_questions_and_emptied_groups(
    chat: Conversation, services: Services
) -> None:
    now = datetime.now(UTC)
    services.clock = lambda: now - timedelta(days=200)
    await chat(f"!frage {TRAIN}")
    await chat("!frage Wo parke ich beim Netzwerktreffen?")
    services.clock = lambda: now - timedelta(days=10)
    await chat("!frage Wann fährt der Zug nach Hamburg?", user=OTHER)
    services.clock = lambda: now
    await learning.apply_retention(services)
    [(number, count, state, text)] = await groups(services)
    assert (count, state, text) == (1, "open", "Wann fährt der Zug nach Hamburg?")
    assert await stored(services) == [(number, text)]
    [listing] = await chat("!faq unbeantwortet", user=COORDINATOR)
    assert listed(listing) == {number: (1, text)}


async def test_retention_keeps_answered_groups(chat: Conversation, services: Services) -> None:
    now = datetime.now(UTC)
    services.clock = lambda: now - timedelta(days=200)
    await chat(f"!frage {TRAIN}")
    [(number, _, _, _)] = await groups(services)
    await chat(f"!faq antwort {number} Stündlich.", user=COORDINATOR)
    services.clock = lambda: now
    await learning.apply_retention(services)
    assert await stored(services) == []
    assert [(gid, state) for gid, _, state, _ in await groups(services)] == [(number, "answered")]


@pytest.mark.parametrize("value", ["30d", "12h"])
def test_question_retention_setting(value: str) -> None:
    from config.settings import Settings

    settings = Settings(_env_file=None, question_retention=value)  # type: ignore[call-arg]
    assert (
        settings.question_retention
        == {"30d": timedelta(days=30), "12h": timedelta(hours=12)}[value]
    )
    assert Settings(_env_file=None).question_retention == timedelta(days=180)  # type: ignore[call-arg]


async def test_stored_questions_never_hold_the_matrix_id(
    chat: Conversation, services: Services
) -> None:
    await chat(f"!frage {TRAIN}")
    async with services.db.read() as session:
        [row] = await session.scalars(select(UnansweredQuestion))
    assert row.pseudonym and len(row.pseudonym) == 64 and MEMBER not in repr(vars(row))


async def test_a_new_question_looks_at_a_bounded_set_of_groups(services: Services) -> None:
    """However many open groups share a term, only the newest few per key term are read."""
    from storage import questions

    now = datetime.now(UTC)
    async with services.db.transaction() as session:
        ids = [
            await questions.open_group(session, f"Zug {n}", "de", ["zug", f"t{n}"], None, now)
            for n in range(questions.CANDIDATES_PER_TERM + 30)
        ]
        await questions.settle(session, ids[-1], now)  # closed: its terms are gone
    async with services.db.read() as session:
        found = await questions.candidates(session, ["zug"])
        both = await questions.candidates(session, ["zug", "t0", "t0"])
    newest = set(ids[-questions.CANDIDATES_PER_TERM - 1 : -1])  # the closed one left the table
    assert set(found) == newest and found[ids[-2]] == ["zug", f"t{len(ids) - 2}"]
    assert set(both) == newest | {ids[0]}
