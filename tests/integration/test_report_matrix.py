"""The funder report over a real Synapse: a coordinator asks, the bot answers with the
summary, one chart as m.image and the PDF as m.file."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nio import DownloadResponse, Event
from pypdf import PdfReader

from bot.demo.homeserver import LocalSynapse
from storage.db import Database
from storage.models import CalendarEvent, FeedbackRating

from .botproc import new_bot
from .synapse import new_member, send_text, wait_for_event
from .test_foundation import REPLY_WAIT, in_reply_to, invite_bot, unique

pytestmark = pytest.mark.integration


async def seed(url: str) -> None:
    """One webinar in November 2026 with three ratings."""
    db = Database(url)
    await db.upgrade()
    async with db.transaction() as session:
        event = CalendarEvent(
            title="Wasserstoff in der Region",
            starts_at=datetime(2026, 11, 12, 13, 0, tzinfo=UTC),
            created_by="@coord:localhost",
        )
        session.add(event)
        await session.flush()
        for number, stars in enumerate((5, 4, 3)):
            session.add(
                FeedbackRating(
                    event_id=event.id,
                    pseudonym=f"p{number}",
                    stars=stars,
                    source="command",
                    updated_at=datetime(2026, 11, 12, 15, 0, tzinfo=UTC)
                    + timedelta(minutes=number),
                )
            )
    await db.dispose()


async def test_coordinator_gets_summary_chart_and_pdf(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    coordinator = await new_member(synapse, unique("coord"))
    bot = await new_bot(
        synapse,
        tmp_path,
        unique("bot"),
        e2ee="false",
        coordinators=coordinator.user_id,
        report_schedule="",
    )
    await seed(bot.env["BOT_DATABASE_URL"])
    await bot.start()
    try:
        room = await invite_bot(coordinator, bot, "Koordination")
        command_id = await send_text(coordinator, room, "!bericht 2026-11")
        seen: list[Event] = []

        def answered(event: Event) -> bool:
            if event.sender == bot.user_id:
                seen.append(event)
            return event.sender == bot.user_id and in_reply_to(event) == command_id

        reply = await wait_for_event(coordinator, room, answered, REPLY_WAIT)
        contents = {e.source["content"]["msgtype"]: e.source["content"] for e in seen}
        assert "November 2026" in reply.source["content"]["body"]
        assert "Bewertungen: 3, Durchschnitt 4,0" in reply.source["content"]["body"]
        image, file = contents["m.image"], contents["m.file"]
        assert image["info"]["mimetype"] == "image/png" and image["info"]["w"] > 0
        assert "Wasserstoff in der" in image["body"] and "4,0" in image["body"]
        assert file["info"]["mimetype"] == "application/pdf" and file["body"].endswith(".pdf")
        downloaded = await coordinator.download(file["url"])
        assert isinstance(downloaded, DownloadResponse), downloaded
        text = " ".join(
            page.extract_text() or "" for page in PdfReader(io.BytesIO(downloaded.body)).pages
        )
        words = " ".join(text.split())
        assert "Wasserstoff in der Region" in words and "Bewertungen 3" in words
    finally:
        await bot.stop()
        await coordinator.close()
