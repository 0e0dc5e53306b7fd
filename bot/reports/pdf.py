"""The report as PDF (reportlab, BSD licence): title, period and generation time, the
blocks of the document, charts as images. Standard fonts only, so it renders anywhere."""

from __future__ import annotations

import io
from collections.abc import Callable
from xml.sax.saxutils import escape

from bot.reports.compose import Chart, Document, Figure, Heading, Paragraph, Table

CHART_WIDTH_INCHES = 6.6


def render_pdf(
    doc: Document, chart_png: Callable[[Chart], bytes], *, author: str, subject: str
) -> bytes:
    """The document as PDF bytes; `chart_png` draws each chart."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import cm, inch
    from reportlab.platypus import Image, KeepTogether, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Paragraph as Para
    from reportlab.platypus import Table as Grid

    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=10, leading=13.5)
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10, textColor=colors.grey)
    cell = ParagraphStyle("cell", parent=body, fontSize=9, leading=11)
    out = io.BytesIO()
    page = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=1.8 * cm,
        bottomMargin=1.8 * cm,
        title=doc.title,
        author=author,
        subject=subject,
    )
    story: list[object] = [
        Para(escape(doc.title), styles["Title"]),
        Para(escape(doc.subtitle), ParagraphStyle("sub", parent=body, alignment=1)),
        Spacer(1, 0.4 * cm),
    ]
    for block in doc.blocks:
        if isinstance(block, Heading):
            story.append(Para(escape(block.text), styles["Heading2"]))
        elif isinstance(block, Paragraph):
            story.append(Para(escape(block.text), small if block.small else body))
        elif isinstance(block, Table):
            rows = [[Para(escape(text), cell) for text in row] for row in block.rows]
            grid = Grid(rows, hAlign="LEFT", repeatRows=1 if block.header else 0)
            style = [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
            if block.header:
                style += [
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6e6e6")),
                    ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ]
            grid.setStyle(TableStyle(style))
            story += [grid, Spacer(1, 0.25 * cm)]
        elif isinstance(block, Figure):
            png = chart_png(block.chart)
            image = Image(io.BytesIO(png))
            scale = CHART_WIDTH_INCHES * inch / image.imageWidth
            image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
            story.append(KeepTogether([image, Spacer(1, 0.3 * cm)]))
    page.build(story)
    return out.getvalue()
