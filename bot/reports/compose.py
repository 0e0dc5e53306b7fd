"""What a report says, in the report's language: the plain-language summary, the short
summary for chat and terminal, the document's blocks (headings, paragraphs, tables, charts)
and the data of the two charts. No Matrix ID or pseudonym ever reaches these figures."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.reports.figures import STARS, Figures, few
from bot.reports.words import Words, theme_text

TREND_DESCRIBED = 10  # events named in the chart's text description


@dataclass(frozen=True)
class Chart:
    """One bar chart: a value per label ("< 3" or none where there is no value to show)."""

    title: str
    axis: str
    labels: list[str]
    values: list[float | None]
    notes: list[str]  # shown on each bar (its value, or "< 3")
    empty: str  # said when there is nothing to show
    horizontal: bool = False
    limit: float | None = None  # the axis's top (5 for stars)


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str
    small: bool = False


@dataclass(frozen=True)
class Table:
    rows: list[list[str]]
    header: bool = False


@dataclass(frozen=True)
class Figure:
    chart: Chart


Block = Heading | Paragraph | Table | Figure


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    blocks: list[Block] = field(default_factory=list)


def plain_summary(figures: Figures, words: Words) -> str:
    """The one paragraph at the top, in plain language."""
    f, w = figures, words
    period = w.period(f.period)
    sentences = [w.t("plain.events", period=period, held=w.number(len(f.held)))]
    feedback = f.feedback
    if feedback.ratings == 0:
        sentences.append(w.t("plain.no_ratings"))
    elif few(feedback.ratings):
        sentences.append(w.t("plain.few_ratings"))
    else:
        average = w.decimal(feedback.average or 0)
        sentences.append(w.t("plain.ratings", ratings=w.number(feedback.ratings), average=average))
    q = f.questions
    sentences.append(
        w.t("plain.questions", asked=w.people(q.asked), answered=w.people(q.answered))
        if q.asked
        else w.t("plain.no_questions")
    )
    i = f.initiatives
    sentences.append(w.t("plain.initiatives", total=w.number(i.total), new=w.number(i.new)))
    if i.introductions:
        sentences.append(w.t("plain.introductions", count=w.number(i.introductions)))
    return " ".join(sentences)


def short_summary(figures: Figures, words: Words) -> str:
    """A few lines for the chat and the terminal."""
    f, w = figures, words
    feedback, q, i = f.feedback, f.questions, f.initiatives
    lines = [
        w.t("short.title", period=w.period(f.period), generated=w.moment(f.generated_at)),
        plain_summary(f, w),
        w.t(
            "short.figures",
            held=w.number(len(f.held)),
            cancelled=w.number(len(f.cancelled)),
            ratings=w.people(feedback.ratings),
            average=w.average(feedback.average, feedback.ratings),
            asked=w.people(q.asked),
            handoff=w.people(q.after_handoff),
            total=w.number(i.total),
            new=w.number(i.new),
        ),
    ]
    return "\n".join(lines)


def ratings_chart(figures: Figures, words: Words) -> Chart:
    w = words
    labels, values, notes = [], [], []
    for event in figures.held:
        labels.append(f"{w.short_day(event.starts_at)} {_short(event.title)}")
        show = event.average is not None and not few(event.ratings)
        values.append(event.average if show else None)
        notes.append(w.average(event.average, event.ratings))
    return Chart(
        title=w.t("chart.ratings.title", period=w.period(figures.period)),
        axis=w.t("chart.ratings.axis"),
        labels=labels,
        values=values,
        notes=notes,
        empty=w.t("chart.empty"),
        limit=5.0,
    )


def bundesland_chart(figures: Figures, words: Words) -> Chart:
    w = words
    counts = sorted(
        figures.initiatives.by_bundesland.items(), key=lambda item: (-item[1], item[0] or "~")
    )
    labels = [land or w.t("chart.lands.unknown") for land, _ in counts]
    return Chart(
        title=w.t("chart.lands.title"),
        axis=w.t("chart.lands.axis"),
        labels=labels,
        values=[float(count) for _, count in counts],
        notes=[w.number(count) for _, count in counts],
        empty=w.t("chart.empty"),
        horizontal=True,
    )


def chat_chart(figures: Figures, words: Words) -> Chart:
    """The chart the chat gets: the ratings per event if any can be shown, else the
    initiatives per Bundesland."""
    trend = ratings_chart(figures, words)
    if any(value is not None for value in trend.values) or not figures.initiatives.total:
        return trend
    return bundesland_chart(figures, words)


def describe(chart: Chart, words: Words) -> str:
    """The chart as text, for those who cannot see it (the image's body)."""
    if not chart.labels:
        return words.t("chart.described", title=chart.title, items=chart.empty)
    items = [f"{label}: {note}" for label, note in zip(chart.labels, chart.notes, strict=True)]
    more = len(items) - TREND_DESCRIBED
    text = "; ".join(items[:TREND_DESCRIBED]) + (f"; … (+{more})" if more > 0 else "")
    return words.t("chart.described", title=chart.title, items=text)


def document(figures: Figures, words: Words) -> Document:
    f, w = figures, words
    subtitle = w.t(
        "subtitle",
        first=w.date(f.period.first),
        last=w.date(f.period.last),
        generated=w.moment(f.generated_at),
    )
    blocks: list[Block] = [Heading(w.t("heading.summary")), Paragraph(plain_summary(f, w))]
    blocks += _events(f, w) + _feedback(f, w) + _questions(f, w) + _initiatives(f, w)
    blocks.append(Paragraph(w.t("privacy_note"), small=True))
    return Document(w.t("title", period=w.period(f.period)), subtitle, blocks)


def _events(f: Figures, w: Words) -> list[Block]:
    blocks: list[Block] = [Heading(w.t("heading.events"))]
    blocks.append(
        Paragraph(
            w.t(
                "events.counts",
                held=w.number(len(f.held)),
                cancelled=w.number(len(f.cancelled)),
                upcoming=w.number(f.upcoming),
            )
        )
    )
    if f.kinds:
        kinds = ", ".join(
            f"{w.texts.plain(f'events.kind.{kind}', w.lang)}: {w.number(count)}"
            for kind, count in sorted(f.kinds.items(), key=lambda item: -item[1])
        )
        blocks.append(Paragraph(w.t("events.by_kind", kinds=kinds)))
    if f.held:
        header = [
            w.t("col.date"),
            w.t("col.kind"),
            w.t("col.title"),
            w.t("col.ratings"),
            w.t("col.average"),
        ]
        rows = [
            [
                w.day(e.starts_at),
                w.texts.plain(f"events.kind.{e.kind}", w.lang),
                e.title,
                w.people(e.ratings),
                w.average(e.average, e.ratings),
            ]
            for e in f.held
        ]
        blocks.append(Table([header, *rows], header=True))
    if f.cancelled:
        blocks.append(Paragraph(w.t("events.cancelled")))
        rows = [[w.day(e.starts_at), e.title] for e in f.cancelled]
        blocks.append(Table([[w.t("col.date"), w.t("col.title")], *rows], header=True))
    return blocks


def _feedback(f: Figures, w: Words) -> list[Block]:
    fb = f.feedback
    if fb.members is None:
        rate = w.t("feedback.rate_unknown")
    else:
        rate = w.percent(fb.rated_with_members, fb.members)
    rows = [
        [w.t("feedback.ratings"), w.people(fb.ratings)],
        [w.t("feedback.average"), w.average(fb.average, fb.ratings)],
        *([_stars(n, w), w.people(fb.per_star[n])] for n in reversed(STARS)),
        [w.t("feedback.rate"), rate],
        [w.t("feedback.comments"), w.people(fb.comments)],
    ]
    return [
        Heading(w.t("heading.feedback")),
        Table(rows),
        Figure(ratings_chart(f, w)),
    ]


def _stars(count: int, w: Words) -> str:
    return w.t("feedback.star" if count == 1 else "feedback.stars", stars=count)


def _questions(f: Figures, w: Words) -> list[Block]:
    q = f.questions
    rows = [
        [w.t("questions.asked"), w.people(q.asked)],
        [w.t("questions.answered"), w.people(q.answered)],
        [w.t("questions.partial"), w.people(q.partial)],
        [w.t("questions.offered"), w.people(q.offered)],
        [w.t("questions.unknown"), w.people(q.unknown)],
        [w.t("questions.after_handoff"), w.people(q.after_handoff)],
        [w.t("questions.english"), _share(q.english, q.asked, w)],
        [w.t("questions.simple"), _share(q.simple, q.asked, w)],
    ]
    blocks: list[Block] = [Heading(w.t("heading.questions")), Table(rows)]
    if q.themes:
        blocks.append(Paragraph(w.t("questions.themes")))
        themes = [[theme_text(text), w.people(count)] for text, count in q.themes]
        blocks.append(Table([[w.t("col.theme"), w.t("col.count")], *themes], header=True))
    else:
        blocks.append(Paragraph(w.t("questions.no_themes")))
    return blocks


def _share(part: int, whole: int, w: Words) -> str:
    if not whole:
        return "–"
    if few(part):
        return w.people(part)
    return w.t("share", percent=w.percent(part, whole), count=w.number(part))


def _initiatives(f: Figures, w: Words) -> list[Block]:
    i = f.initiatives
    rows = [
        [w.t("initiatives.total"), w.number(i.total)],
        [w.t("initiatives.new"), w.number(i.new)],
        [w.t("initiatives.matches"), w.people(i.match_requests)],
        [w.t("initiatives.introductions"), w.number(i.introductions)],
    ]
    return [Heading(w.t("heading.initiatives")), Table(rows), Figure(bundesland_chart(f, w))]


def _short(title: str, limit: int = 22) -> str:
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"
