"""Weekly introductions: pairs of initiatives with strong topic overlap, never repeated."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.core import render as md
from bot.core.messages import Reply, UserId
from bot.core.services import Core
from bot.core.transport import Transport
from bot.initiatives.directory import Directory
from bot.initiatives.matcher import Hit, Matcher
from storage.initiatives import add_introduction, all_initiatives, introduced_pairs
from storage.models import Initiative

log = logging.getLogger(__name__)

MIN_SCORE = 0.35  # "strong overlap": shared topics and a clearly similar profile
PAIRS_PER_ROUND = 2


@dataclass(frozen=True)
class Pair:
    first: Initiative
    second: Initiative
    hit: Hit


def choose_pairs(
    candidates: list[Initiative],
    matcher: Matcher,
    introduced: set[frozenset[int]],
    limit: int = PAIRS_PER_ROUND,
) -> list[Pair]:
    """The strongest new pairs, each initiative at most once per round."""
    by_name = {i.name: i for i in candidates}
    scored: list[Pair] = []
    for initiative in candidates:
        for hit in matcher.similar(initiative.name, k=5):
            other = by_name.get(hit.name)
            if other is None or not hit.shared or hit.score < MIN_SCORE:
                continue
            if frozenset((initiative.id, other.id)) in introduced or other.id < initiative.id:
                continue
            scored.append(Pair(initiative, other, hit))
    scored.sort(key=lambda p: -p.hit.score)
    chosen: list[Pair] = []
    used: set[int] = set()
    for pair in scored:
        if pair.first.id in used or pair.second.id in used:
            continue
        chosen.append(pair)
        used |= {pair.first.id, pair.second.id}
        if len(chosen) == limit:
            break
    return chosen


async def introduction_round(core: Core, directory: Directory, transport: Transport) -> int:
    """Post this week's introductions to the announcement rooms; returns how many pairs.

    Without rooms nobody would read them, so no pair is used up."""
    rooms = transport.announcement_rooms()
    if not rooms:
        return 0
    async with core.db.transaction() as session:
        candidates = [i for i in await all_initiatives(session) if i.intros_enabled and i.contact]
        introduced = await introduced_pairs(session)
        matcher = await directory.refresh(session)
        pairs = choose_pairs(candidates, matcher, introduced)
        for pair in pairs:
            await add_introduction(session, pair.first.id, pair.second.id)
    for pair in pairs:
        reply = _compose(core, pair)
        for room in rooms:
            txn = f"intro-{pair.first.id}-{pair.second.id}-{room}"
            await transport.send(room, reply, txn_id=txn)
    log.info("introduction round: %d pair(s)", len(pairs))
    return len(pairs)


def _compose(core: Core, pair: Pair) -> Reply:
    lang = core.settings.language
    values = {
        "first": pair.first.name,
        "first_region": pair.first.region,
        "first_contact": md.person(pair.first.contact or ""),
        "second": pair.second.name,
        "second_region": pair.second.region,
        "second_contact": md.person(pair.second.contact or ""),
        "why": pair.hit.explain(core.texts, lang),
    }
    mentions = tuple(UserId(c) for c in (pair.first.contact, pair.second.contact) if c)
    return Reply(core.texts.get("intros.post", lang, **values), mentions=mentions)
