"""One event's ratings and comments as a CSV file: one row per member, naming nobody."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.services import Core
from bot.text.analyzer import spreadsheet_safe
from storage import feedback
from storage.events import get_event
from storage.models import FeedbackComment, FeedbackRating


@dataclass(frozen=True)
class ExportRow:
    stars: int | None
    comment: str
    date: str


def export_rows(
    ratings: Iterable[FeedbackRating], comments: Iterable[FeedbackComment], tz: ZoneInfo
) -> list[ExportRow]:
    """One row per member who rated or commented: stars, comments (given the oldest first),
    day; ordered by day and stars, so the order does not follow the room's timeline."""
    by_member: dict[str, tuple[int | None, list[str], datetime]] = {}
    for rating in ratings:
        by_member[rating.pseudonym] = (rating.stars, [], rating.updated_at)
    for comment in comments:
        stars, texts, when = by_member.get(comment.pseudonym, (None, [], comment.created_at))
        by_member[comment.pseudonym] = (
            stars,
            [*texts, comment.text],
            max(when, comment.created_at),
        )
    rows = [
        ExportRow(stars, " | ".join(texts), when.astimezone(tz).date().isoformat())
        for stars, texts, when in by_member.values()
    ]
    return sorted(rows, key=lambda r: (r.date, r.stars or 0, r.comment))


def export_csv(rows: list[ExportRow]) -> str:
    """`row,stars,comment,date`; the row number is per export and identifies nobody."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["row", "stars", "comment", "date"])
    for number, row in enumerate(rows, 1):
        writer.writerow([number, row.stars or "", spreadsheet_safe(row.comment), row.date])
    return out.getvalue()


async def feedback_csv(core: Core, event_id: int) -> str | None:
    """The CSV export of one event, or None when there is no such event."""
    async with core.db.read() as session:
        if await get_event(session, event_id) is None:
            return None
        ratings, comments = await feedback.feedback_of(session, event_id)
        return export_csv(export_rows(ratings, comments, core.settings.tz))
