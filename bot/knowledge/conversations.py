"""What the bot remembers of each member's Q&A conversation in a room, for a while: the
entries it last offered ("Meinten Sie ...?", alternatives), so that a reply with just their
number ("2") picks one, and the last question, so that a follow-up ("und wann war das?") is read
with it. In memory only, the newest few thousand conversations at most."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

KEEP = timedelta(minutes=30)
FOLLOW_UP = timedelta(minutes=10)  # a question this soon after the last one may continue it
MAX_CONTEXT = 600  # characters of earlier questions kept as the context of the next one


@dataclass
class _Turn:
    at: datetime
    offered: tuple[str, ...] = ()
    question: str = ""
    asked_at: datetime | None = None


@dataclass
class Conversations:
    size: int = 5000
    _turns: OrderedDict[tuple[str, str], _Turn] = field(default_factory=OrderedDict)

    def offer(self, room: str, user: str, entry_ids: tuple[str, ...], now: datetime) -> None:
        self._touch(room, user, now).offered = entry_ids

    def pick(self, room: str, user: str, number: int, now: datetime) -> str | None:
        """The entry id offered as `number` (1-based), if offered recently."""
        turn = self._turns.get((room, user))
        if turn is None or now - turn.at > KEEP or not 1 <= number <= len(turn.offered):
            return None
        return turn.offered[number - 1]

    def asked(self, room: str, user: str, question: str, now: datetime) -> None:
        turn = self._touch(room, user, now)
        turn.question, turn.asked_at = question[-MAX_CONTEXT:], now

    def last_question(self, room: str, user: str, now: datetime) -> str | None:
        """The member's question just before, if it was asked recently enough to be continued."""
        turn = self._turns.get((room, user))
        if turn is None or turn.asked_at is None or now - turn.asked_at > FOLLOW_UP:
            return None
        return turn.question or None

    def _touch(self, room: str, user: str, now: datetime) -> _Turn:
        turn = self._turns.pop((room, user), None) or _Turn(now)
        turn.at = now
        self._turns[room, user] = turn
        while len(self._turns) > self.size:
            self._turns.popitem(last=False)
        return turn
