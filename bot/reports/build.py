"""A whole report for one period: the figures from the database, the short summary, the
chart for the chat (PNG with its text description) and the PDF.

Drawing and typesetting take a moment of CPU: they run in a worker thread, so the bot keeps
answering others meanwhile."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.i18n import Texts
from bot.core.messages import Attachment
from bot.reports import compose
from bot.reports.charts import render_png
from bot.reports.figures import Figures, gather
from bot.reports.pdf import render_pdf
from bot.reports.period import Period
from bot.reports.words import Words
from config.settings import Lang, Settings


@dataclass(frozen=True)
class Report:
    figures: Figures
    summary: str  # the short summary (chat, terminal)
    pdf: bytes
    pdf_name: str
    chart: bytes  # the chat's chart, PNG
    chart_name: str
    chart_description: str

    @property
    def attachments(self) -> tuple[Attachment, ...]:
        return (
            Attachment(self.chart_name, "image/png", self.chart, self.chart_description),
            Attachment(self.pdf_name, "application/pdf", self.pdf),
        )


async def build_report(
    session: AsyncSession,
    texts: Texts,
    settings: Settings,
    period: Period,
    lang: Lang,
    now: datetime,
) -> Report:
    start, end = period.bounds(settings.tz)
    figures = await gather(session, period, start, end, now)
    return await asyncio.to_thread(render, figures, Words(texts, lang, settings.tz))


def render(figures: Figures, words: Words) -> Report:
    """Compose and draw the report (plain CPU work: no database, no event loop)."""
    chart = compose.chat_chart(figures, words)
    doc = compose.document(figures, words)
    pdf = render_pdf(doc, render_png, author=words.t("author"), subject=doc.title)
    stem = words.t("file_stem", period=figures.period.key)
    return Report(
        figures=figures,
        summary=compose.short_summary(figures, words),
        pdf=pdf,
        pdf_name=f"{stem}.pdf",
        chart=render_png(chart),
        chart_name=f"{stem}.png",
        chart_description=compose.describe(chart, words),
    )
