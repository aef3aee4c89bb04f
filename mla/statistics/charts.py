"""Horizontal bar charts as inline SVG, drawn on the server (no script, prints as is).

Every text that goes into the markup is escaped here; the result is safe to insert.
"""

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify

WIDTH = 740
LABEL_WIDTH = 310
VALUE_WIDTH = 70
BAR_HEIGHT = 14
BAR_GAP = 2
ROW_GAP = 8
LEGEND_HEIGHT = 22
LABEL_CHARACTERS = 48  # beyond this a label is cut short on screen; its <title> keeps it whole
COLOURS = ("#1f4e8c", "#8aa9d6", "#5b6676")

_serial = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    label: str
    values: Sequence[float | None]  # one per series; None: no value (nothing drawn)


def _number(value: float | None, decimals: int) -> str:
    if value is None:
        return "—"
    if decimals == 0 and float(value).is_integer():
        return number_format(int(value))
    return number_format(value, decimal_pos=decimals)


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARACTERS else text[: LABEL_CHARACTERS - 1] + "…"


def svg_bar_chart(
    *,
    title: str,
    bars: Sequence[Bar],
    series: Sequence[str] = (),
    unit: str = "",
    decimals: int = 0,
    chart_id: str = "",
    caption: bool = False,
) -> SafeString:
    """A bar chart: one group of bars per item, one bar per series (a legend when several).

    ``role="img"`` with a ``<title>`` and a ``<desc>`` giving every value as text, so that a
    screen reader reads the figures rather than the shapes; ``caption`` also shows the title,
    in a ``<figure>``. Empty when there is no bar."""
    if not bars:
        return SafeString("")
    count = max(len(bar.values) for bar in bars) or 1
    names = list(series) or [""]
    top = LEGEND_HEIGHT if len(names) > 1 else 0
    group = count * BAR_HEIGHT + (count - 1) * BAR_GAP
    height = top + len(bars) * (group + ROW_GAP) + ROW_GAP
    largest = max((v for bar in bars for v in bar.values if v is not None), default=0) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    ident = slugify(chart_id) or "chart"
    ident = f"{ident}-{next(_serial)}"
    suffix = f" {unit}" if unit else ""

    def spoken(bar: Bar) -> str:
        figures = [
            (f"{name} " if name else "") + _number(value, decimals) + suffix
            for name, value in zip(names, bar.values, strict=False)
        ]
        return f"{bar.label}: {', '.join(figures)}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape("; ".join(spoken(bar) for bar in bars))}</desc>',
    ]
    if len(names) > 1:
        x = LABEL_WIDTH
        for index, name in enumerate(names):
            colour = COLOURS[index % len(COLOURS)]
            parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/>')
            parts.append(
                f'<text x="{x + 16}" y="14" font-size="12" fill="#1d2633">{escape(name)}</text>'
            )
            x += 24 + 8 * len(name)
    y = top + ROW_GAP
    for bar in bars:
        parts.append(f"<g><title>{escape(spoken(bar))}</title>")
        middle = y + group / 2 + 4
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{middle:.0f}" text-anchor="end" font-size="12" '
            f'fill="#1d2633">{escape(_short(bar.label))}</text>'
        )
        for index, value in enumerate(bar.values):
            bar_y = y + index * (BAR_HEIGHT + BAR_GAP)
            length = 0.0 if value is None else max(float(value), 0.0) / largest * span
            colour = COLOURS[index % len(COLOURS)]
            parts.append(
                f'<rect x="{LABEL_WIDTH}" y="{bar_y}" width="{length:.1f}" '
                f'height="{BAR_HEIGHT}" fill="{colour}"/>'
            )
            parts.append(
                f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{bar_y + BAR_HEIGHT - 3}" '
                f'font-size="11" fill="#5b6676">{escape(_number(value, decimals))}</text>'
            )
        parts.append("</g>")
        y += group + ROW_GAP
    parts.append("</svg>")
    if caption:
        parts = [f"<figure><figcaption>{escape(title)}</figcaption>", *parts, "</figure>"]
    # Every interpolated text above went through escape(); numbers are formatted by us.
    return mark_safe("".join(parts))  # noqa: S308
