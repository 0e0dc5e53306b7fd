"""The report's charts as PNG: matplotlib's Agg canvas (no display, no pyplot state, so it
may run in a worker thread), greys and hatching that stay readable in black and white.

matplotlib is imported only when a chart is drawn, so the bot starts as fast as before."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from bot.reports.compose import Chart

if TYPE_CHECKING:
    from matplotlib.axes import Axes

DPI = 150
_GREYS = ("#4d4d4d", "#a6a6a6")
_HATCHES = ("", "//")
_MANY = 24  # more bars than this: a line with markers instead


def render_png(chart: Chart, width: float = 7.0) -> bytes:
    """The chart as a PNG of `width` inches (height from the number of bars)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    count = len(chart.labels)
    height = max(2.4, min(9.0, 0.32 * count + 1.4)) if chart.horizontal else 3.6
    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_title(chart.title, fontsize=11, loc="left")
    shown = [v for v in chart.values if v is not None]
    if not shown:
        axes.text(0.5, 0.5, chart.empty, ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
    elif chart.horizontal:
        _horizontal(axes, chart)
    elif count > _MANY:
        _line(axes, chart)
    else:
        _vertical(axes, chart)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _style(axes: Axes) -> None:
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _vertical(axes: Axes, chart: Chart) -> None:
    positions = range(len(chart.labels))
    heights = [v or 0.0 for v in chart.values]
    bars = axes.bar(
        positions,
        heights,
        color=[_GREYS[n % 2] for n in positions],
        hatch=None,
        edgecolor="black",
        linewidth=0.6,
    )
    for number, bar in enumerate(bars):
        bar.set_hatch(_HATCHES[number % 2])
        top = bar.get_height()
        axes.text(
            bar.get_x() + bar.get_width() / 2,
            top + 0.08,
            chart.notes[number],
            ha="center",
            va="bottom",
            fontsize=8,
        )
    axes.set_xticks(list(positions), chart.labels, rotation=35, ha="right", fontsize=7)
    axes.set_ylabel(chart.axis, fontsize=9)
    if chart.limit:
        axes.set_ylim(0, chart.limit + 0.6)
    axes.grid(axis="y", color="#d0d0d0", linewidth=0.5)
    axes.set_axisbelow(True)
    _style(axes)


def _line(axes: Axes, chart: Chart) -> None:
    points = [(n, v) for n, v in enumerate(chart.values) if v is not None]
    axes.plot(
        [n for n, _ in points],
        [v for _, v in points],
        color="black",
        marker="o",
        markersize=3,
        linewidth=1,
    )
    step = max(1, len(chart.labels) // 12)
    ticks = list(range(0, len(chart.labels), step))
    axes.set_xticks(ticks, [chart.labels[n] for n in ticks], rotation=35, ha="right", fontsize=7)
    axes.set_ylabel(chart.axis, fontsize=9)
    if chart.limit:
        axes.set_ylim(0, chart.limit + 0.3)
    axes.grid(axis="y", color="#d0d0d0", linewidth=0.5)
    _style(axes)


def _horizontal(axes: Axes, chart: Chart) -> None:
    positions = list(range(len(chart.labels)))
    widths = [v or 0.0 for v in chart.values]
    bars = axes.barh(positions, widths, color=_GREYS[0], edgecolor="black", linewidth=0.6)
    for number, bar in enumerate(bars):
        axes.text(
            bar.get_width() + max(widths) * 0.01,
            bar.get_y() + bar.get_height() / 2,
            chart.notes[number],
            va="center",
            fontsize=8,
        )
    axes.set_yticks(positions, chart.labels, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel(chart.axis, fontsize=9)
    axes.set_xlim(0, max(widths) * 1.12 + 0.5)
    _style(axes)
