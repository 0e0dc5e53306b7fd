"""Reading what Matrix delivers: reply fallbacks, mentions of the bot, invites, timestamps."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from nio import RoomMemberEvent


def allowed_inviter(user_id: str, allowlist: Iterable[str]) -> bool:
    for entry in allowlist:
        if entry.startswith(":") and user_id.endswith(entry):
            return True
        if entry == user_id:
            return True
    return False


def strip_reply_fallback(body: str) -> str:
    """The body of a rich reply without the quoted original in front of it ("> " lines and
    an empty line); any other body as it is. Linear in the body's length."""
    position = 0
    while body.startswith("> ", position):
        end = body.find("\n", position)
        if end == -1:
            return body
        position = end + 1
    if position and body.startswith("\n", position):
        return body[position + 1 :]
    return body


def addressed_text(body: str, names: Iterable[str], *, mentioned: bool) -> tuple[str, bool]:
    """The message without a reply fallback and without the bot's name in front of it (and,
    when it mentions the bot, anywhere in it: "Hallo Initiative-Bot, wer ...?"); and whether
    it addresses the bot. `names`: the bot's user id without "@", localpart, display name."""
    text = strip_reply_fallback(body).strip()
    alternatives = "|".join(sorted((re.escape(name) for name in names), key=len, reverse=True))
    # "@bot hallo", "bot: hallo", "Bot, hallo" - but not "Bottrop ist schön"
    prefix = re.compile(rf"^(?:@(?:{alternatives})\b[:,]?|(?:{alternatives})[:,])\s*", re.I)
    stripped = prefix.sub("", text, count=1)
    if mentioned:
        anywhere = re.compile(rf"@?(?<!\w)(?:{alternatives})(?!\w)[:,]?", re.I)
        stripped = " ".join(anywhere.sub(" ", stripped).split())
    return stripped, mentioned or stripped != text


def after_own_join(events: list[Any], user_id: str) -> list[Any] | None:
    """The events after the bot's own join, or None when it did not join in this batch."""
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if (
            isinstance(event, RoomMemberEvent)
            and event.state_key == user_id
            and event.membership == "join"
            and event.prev_membership != "join"
        ):
            return events[index + 1 :]
    return None


def sent_at(event: Any) -> datetime:
    return datetime.fromtimestamp(event.server_timestamp / 1000, UTC)
