"""Chart geometry for server-rendered SVG (pure): rectangles, lines and labels in a fixed
viewBox that the templates draw as they are. No chart library, no script, no inline style:
colours come from CSS classes, tooltips from ``<title>`` elements."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

from shelfcam.tuning import judge


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    css: str
    title: str


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    css: str
    title: str = ""


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"
    css: str = "axis"


@dataclass
class Chart:
    width: float
    height: float
    rects: list[Rect] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    marks: list[Rect] = field(default_factory=list)


def short(value: float) -> str:
    """A tick label: ``0.015``, ``0.2``, ``4.8``, ``120``."""
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def histogram_chart(h: judge.Histogram, width: float = 320, height: float = 150) -> Chart:
    """Bars on a log count scale (so a few busy frames still show beside thousands of calm
    ones), the current threshold as a solid line, a proposed one dashed, and recent events'
    recorded scores as marks under the axis."""
    left, right, top, bottom = 6.0, 6.0, 12.0, 34.0
    plot_w, plot_h = width - left - right, height - top - bottom
    chart = Chart(width, height)
    peak = max(h.counts, default=0)
    scale = math.log1p(peak) or 1.0
    bin_w = plot_w / len(h.counts)
    base = top + plot_h
    for i, count in enumerate(h.counts):
        lo, hi = i * h.bin_width, (i + 1) * h.bin_width
        if count == 0:
            continue
        bar_h = max(1.0, math.log1p(count) / scale * plot_h)
        over = lo >= h.current or (hi > h.current and lo + h.bin_width / 2 >= h.current)
        last = i == len(h.counts) - 1 and h.clipped
        span = f"{short(lo)}+" if last else f"{short(lo)}-{short(hi)}"
        chart.rects.append(
            Rect(
                left + i * bin_w + 0.5,
                base - bar_h,
                max(0.5, bin_w - 1),
                bar_h,
                "bin over" if over else "bin",
                f"{span}: {count} frame(s)",
            )
        )
    chart.lines.append(Line(left, base, left + plot_w, base, "baseline"))

    def x_of(value: float) -> float:
        return left + min(1.0, max(0.0, value / h.top)) * plot_w

    chart.lines.append(
        Line(
            x_of(h.current),
            top - 6,
            x_of(h.current),
            base,
            "threshold",
            f"{h.rule.threshold} = {short(h.current)}",
        )
    )
    if h.proposed != h.current:
        chart.lines.append(
            Line(
                x_of(h.proposed),
                top - 6,
                x_of(h.proposed),
                base,
                "threshold proposed",
                f"proposed {h.rule.threshold} = {short(h.proposed)}",
            )
        )
    for value, event_type in h.event_marks:
        chart.marks.append(
            Rect(
                x_of(value) - 2,
                base + 3,
                4,
                7,
                f"mark type-{event_type}",
                f"{event_type}: {short(value)}",
            )
        )
    for fraction in (0.0, 0.5, 1.0):
        anchor = {0.0: "start", 0.5: "middle", 1.0: "end"}[fraction]
        text = short(h.top * fraction) + ("+" if fraction == 1.0 and h.clipped else "")
        chart.labels.append(Label(left + fraction * plot_w, height - 6, text, anchor))
    return chart


@dataclass(frozen=True)
class DaySeries:
    """Counts per day for one event type (``counts[i]`` belongs to ``days[i]``)."""

    event_type: str
    counts: list[int]


def stacked_days(
    days: list[date], series: list[DaySeries], width: float = 640, height: float = 200
) -> Chart:
    """One column per day, the event types stacked in the order given; y ticks at nice steps."""
    left, right, top, bottom = 30.0, 6.0, 10.0, 26.0
    plot_w, plot_h = width - left - right, height - top - bottom
    chart = Chart(width, height)
    totals = [sum(s.counts[i] for s in series) for i in range(len(days))]
    peak = max(totals, default=0)
    step = _nice_step(peak)
    ceiling = max(step, math.ceil(peak / step) * step) if peak else step
    col_w = plot_w / max(1, len(days))
    base = top + plot_h
    for value in range(0, int(ceiling) + 1, int(step)):
        y = base - value / ceiling * plot_h
        chart.lines.append(Line(left, y, left + plot_w, y, "grid"))
        chart.labels.append(Label(left - 4, y + 4, str(value), "end"))
    for i, day in enumerate(days):
        y = base
        for s in series:
            count = s.counts[i]
            if not count:
                continue
            bar_h = count / ceiling * plot_h
            y -= bar_h
            chart.rects.append(
                Rect(
                    left + i * col_w + col_w * 0.15,
                    y,
                    col_w * 0.7,
                    bar_h,
                    f"day type-{s.event_type}",
                    f"{day.isoformat()}: {count} {s.event_type}",
                )
            )
        every = max(1, math.ceil(len(days) / 10))
        if (len(days) - 1 - i) % every == 0:  # counted from today, which is always labelled
            chart.labels.append(
                Label(left + (i + 0.5) * col_w, height - 8, day.strftime("%d %b").lstrip("0"))
            )
    chart.lines.append(Line(left, base, left + plot_w, base, "baseline"))
    return chart


def _nice_step(peak: int) -> int:
    """A tick step giving at most ~5 grid lines: 1, 2, 5, 10, 20, 50, ..."""
    if peak <= 5:
        return 1
    raw = peak / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return int(factor * magnitude)
    return int(10 * magnitude)
