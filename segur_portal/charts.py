"""Charts drawn on the server as inline SVG: nothing to load, no script, and the
site's strict CSP unchanged (colours come from static/css/pilotage.css, the design
system's palette, light and dark). Each chart is an image with a title and a
description that says what it shows in words; its page gives the same figures as a
table and a CSV (segur_portal.statistics).

    bar_chart(chart_id, title=…, description=…, rows=[("Brouillon", 12), …])
    stacked_bar_chart(chart_id, …, categories=["Instruction", …], series=[("En 24 h", [3, …]), …])
    line_chart(chart_id, …, labels=["7 déc.", …], series=[("Médiane", [31.0, None, …]), …],
               reference=(42, "6 semaines"))
"""

import math
from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH = 760
FONT = 13
# Series styles: a colour and, for lines, a dash pattern, so that no series is told
# apart by its colour alone.
SERIES = 6
DASHES = ["", "6 4", "2 3", "10 3 2 3", "1 5", "12 6"]


def _number(value: float) -> str:
    if value is None:
        return "—"
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", "\u202f")
    return f"{value:,.1f}".replace(",", "\u202f").replace(".", ",")


def _c(value: float) -> str:
    """A coordinate, to a tenth of a unit."""
    return f"{value:.1f}"


def nice_step(value: float) -> float:
    """A step between two ticks of an axis: 1, 2 or 5 times a power of ten, at or
    above value (so that counts get whole ticks)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return max(step * power, 1)
    return 10 * power


def _svg(chart_id: str, height: int, title: str, description: str, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="portal-chart" id="{id}" role="img" viewBox="0 0 {w} {h}" '
        'aria-labelledby="{id}-titre {id}-desc" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{id}-titre">{title}</title><desc id="{id}-desc">{desc}</desc>{body}</svg>',
        id=chart_id,
        w=WIDTH,
        h=height,
        title=title,
        desc=description,
        body=body,
    )


def _legend(names: Sequence[str], *, y: int, lines: bool) -> tuple[SafeString, int]:
    """Swatches and names, wrapped over as many rows as needed; returns the height."""
    parts, x, row = [], 0, 0
    for index, name in enumerate(names):
        width = 28 + int(len(name) * FONT * 0.55)
        if x and x + width > WIDTH:
            x, row = 0, row + 1
        top = y + row * 22
        if lines:
            swatch = format_html(
                '<line class="portal-chart-line portal-chart-s{}" x1="{}" y1="{}" x2="{}" y2="{}"'
                ' stroke-dasharray="{}"/>',
                index % SERIES,
                x,
                top + 8,
                x + 20,
                top + 8,
                DASHES[index % SERIES] or "none",
            )
        else:
            swatch = format_html(
                '<rect class="portal-chart-s{}" x="{}" y="{}" width="14" height="14"/>',
                index % SERIES,
                x,
                top + 1,
            )
        parts.append(
            format_html(
                '{}<text class="portal-chart-text" x="{}" y="{}">{}</text>',
                swatch,
                x + (26 if lines else 20),
                top + 13,
                name,
            )
        )
        x += width + 16
    return mark_safe("".join(parts)), (row + 1) * 22


def bar_chart(
    chart_id: str,
    *,
    title: str,
    description: str,
    rows: Sequence[tuple[str, float]],
    unit: str = "",
) -> SafeString:
    """One horizontal bar per row, its value written at its end."""
    label_width, bar_height, gap = 260, 18, 8
    top = max((value for _label, value in rows), default=0)
    scale = (WIDTH - label_width - 90) / (top or 1)
    parts = []
    for index, (label, value) in enumerate(rows):
        y = index * (bar_height + gap)
        length = max(value * scale, 1 if value else 0)
        parts.append(
            format_html(
                '<text class="portal-chart-text" x="{}" y="{}" text-anchor="end">{}</text>'
                '<rect class="portal-chart-s0" x="{}" y="{}" width="{}" height="{}"/>'
                '<text class="portal-chart-text" x="{}" y="{}">{}{}</text>',
                label_width - 8,
                y + 14,
                label,
                label_width,
                y,
                _c(length),
                bar_height,
                _c(label_width + length + 6),
                y + 14,
                _number(value),
                unit,
            )
        )
    height = max(len(rows), 1) * (bar_height + gap)
    return _svg(chart_id, height, title, description, mark_safe("".join(parts)))


def stacked_bar_chart(
    chart_id: str,
    *,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    percent: bool = False,
) -> SafeString:
    """One horizontal bar per category, cut into its series; with `percent` each bar
    is the whole (100 %) and each part its share."""
    legend, legend_height = _legend([name for name, _values in series], y=0, lines=False)
    label_width, bar_height, gap = 200, 22, 10
    plot = WIDTH - label_width - 70
    totals = [
        sum(values[index] or 0 for _name, values in series) for index in range(len(categories))
    ]
    top = max(totals, default=0) or 1
    parts = [legend]
    for index, category in enumerate(categories):
        y = legend_height + 10 + index * (bar_height + gap)
        whole = (totals[index] or 1) if percent else top
        x = label_width
        parts.append(
            format_html(
                '<text class="portal-chart-text" x="{}" y="{}" text-anchor="end">{}</text>',
                label_width - 8,
                y + 15,
                category,
            )
        )
        for number, (_name, values) in enumerate(series):
            value = values[index] or 0
            if not value:
                continue
            length = value / whole * plot
            parts.append(
                format_html(
                    '<rect class="portal-chart-s{} portal-chart-part" x="{}" y="{}" width="{}"'
                    ' height="{}"/>',
                    number % SERIES,
                    _c(x),
                    y,
                    _c(length),
                    bar_height,
                )
            )
            x += length
        total_text = "100 %" if percent and totals[index] else _number(totals[index])
        parts.append(
            format_html(
                '<text class="portal-chart-text" x="{}" y="{}">{}</text>',
                _c(x + 6),
                y + 15,
                f"{total_text} ({_number(totals[index])})" if percent else total_text,
            )
        )
    height = legend_height + 10 + max(len(categories), 1) * (bar_height + gap)
    return _svg(chart_id, height, title, description, mark_safe("".join(parts)))


def line_chart(
    chart_id: str,
    *,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    reference: tuple[float, str] | None = None,
    unit: str = "",
) -> SafeString:
    """One line per series over the periods in `labels`; a missing value (None) breaks
    the line. `reference` draws a dashed horizontal line (e.g. the 6 weeks)."""
    legend, legend_height = _legend([name for name, _values in series], y=0, lines=True)
    left, right, bottom = 56, 16, 40
    top_margin = legend_height + 14
    height = top_margin + 220 + bottom
    plot_width, plot_height = WIDTH - left - right, 220
    values = [value for _name, points in series for value in points if value is not None]
    if reference:
        values.append(reference[0])
    ticks = 4
    ceiling = ticks * nice_step(max(values, default=0) / ticks)
    count = len(labels)

    def x_of(index: int) -> float:
        return left + (plot_width * index / (count - 1) if count > 1 else plot_width / 2)

    def y_of(value: float) -> float:
        return top_margin + plot_height - value / ceiling * plot_height

    parts = [legend]
    for tick in range(ticks + 1):
        value = ceiling * tick / ticks
        y = y_of(value)
        parts.append(
            format_html(
                '<line class="portal-chart-grid" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                '<text class="portal-chart-text" x="{}" y="{}" text-anchor="end">{}{}</text>',
                left,
                _c(y),
                WIDTH - right,
                _c(y),
                left - 6,
                _c(y + 4),
                _number(value),
                unit,
            )
        )
    step = max(1, math.ceil(count / 12))
    for index, label in enumerate(labels):
        if index % step and index != count - 1:
            continue
        parts.append(
            format_html(
                '<text class="portal-chart-text" x="{}" y="{}" text-anchor="middle">{}</text>',
                _c(x_of(index)),
                top_margin + plot_height + 20,
                label,
            )
        )
    if reference:
        y = y_of(reference[0])
        parts.append(
            format_html(
                '<line class="portal-chart-reference" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                '<text class="portal-chart-text portal-chart-reference-text" x="{}" y="{}"'
                ' text-anchor="end">{}</text>',
                left,
                _c(y),
                WIDTH - right,
                _c(y),
                WIDTH - right,
                _c(y - 5),
                reference[1],
            )
        )
    for number, (_name, points) in enumerate(series):
        segments, current = [], []
        for index, value in enumerate(points):
            if value is None:
                if current:
                    segments.append(current)
                current = []
                continue
            current.append((x_of(index), y_of(value)))
        if current:
            segments.append(current)
        for segment in segments:
            if len(segment) > 1:
                parts.append(
                    format_html(
                        '<polyline class="portal-chart-line portal-chart-s{}" points="{}"'
                        ' stroke-dasharray="{}"/>',
                        number % SERIES,
                        " ".join(f"{x:.1f},{y:.1f}" for x, y in segment),
                        DASHES[number % SERIES] or "none",
                    )
                )
            parts.append(
                format_html_join(
                    "",
                    '<circle class="portal-chart-s{}" cx="{}" cy="{}" r="3"/>',
                    ((number % SERIES, _c(x), _c(y)) for x, y in segment),
                )
            )
    return _svg(chart_id, height, title, description, mark_safe("".join(parts)))
