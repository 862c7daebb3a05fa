"""The match-weight waterfall of one candidate: a table and a server-rendered SVG (pure).

A trace's explanation is a :class:`~caldicott.matching.core.scorer.Score`: the
prior (``log2(λ / (1 - λ))``), one weight in bits per comparison (its level's
weight plus any term-frequency adjustment), their sum and the probability.
The waterfall lays them end to end: the prior bar starts at 0, each
comparison's bar starts where the previous one ended, and the total bar spans
0 to the sum. The running sums are added in the scorer's own order, so the
last bar ends exactly on the score's match weight.

The chart is accessible without colour: a bar that adds evidence is solid and
labelled ``+``, one that takes it away is hatched and labelled with a minus sign
(U+2212, which screen readers say as "minus"); every
number is text; the SVG has ``role="img"``, a ``<title>`` and a ``<desc>``.
Colours are NHS.UK's (blue #005eb8, red #d5281b, green #007f3b, text #212b32),
each at least 4.5:1 on white. Every label is escaped.

Example:
    >>> from caldicott.matching.core.scorer import Part, Score
    >>> w = waterfall(Score(3.0, 0.888, -2.0, (Part("dob", "exact match", 5.0, 0.0),)))
    >>> [(r.kind, r.start, r.end) for r in w.rows]
    [('prior', 0.0, -2.0), ('comparison', -2.0, 3.0), ('total', 0.0, 3.0)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Literal

from caldicott.matching.core.scorer import Score

BLUE, RED, GREEN, TEXT, GREY = "#005eb8", "#d5281b", "#007f3b", "#212b32", "#4c6272"
MINUS = "\u2212"  # a real minus sign: screen readers read it, a hyphen they may skip
RowKind = Literal["prior", "comparison", "total"]
_ROW_HEIGHT, _BAR_HEIGHT, _LABEL_WIDTH, _PLOT_WIDTH, _VALUE_WIDTH = 34, 20, 260, 420, 90
_TOP, _BOTTOM = 34, 44

#: How a comparison's name reads on the page.
COMPARISON_LABELS = {"given_name": "Given name", "family_name": "Family name",
                     "birth_date": "Date of birth", "postcode": "Postcode", "sex": "Sex"}


@dataclass(frozen=True, slots=True)
class WaterfallRow:
    """One row of the table and one bar of the chart (weights in bits)."""

    kind: RowKind
    label: str  # "Prior", a comparison ("Date of birth"), "Total"
    level: str  # the comparison level the pair fell in ("exact match"), else ""
    weight: float  # this row's own weight (the total's is the sum)
    tf_adjustment: float  # the term-frequency part of ``weight`` (0 when none)
    start: float  # where the bar starts on the bits axis
    end: float  # where it ends

    @property
    def weight_text(self) -> str:
        return bits_text(self.weight)


@dataclass(frozen=True, slots=True)
class Waterfall:
    """The table model: prior, each comparison, total; and the probability."""

    rows: tuple[WaterfallRow, ...]
    match_weight: float
    match_probability: float

    @property
    def probability_text(self) -> str:
        return probability_text(self.match_probability)


def bits_text(value: float) -> str:
    """A weight as the table and the chart print it: signed, two decimals, a real minus.

    Example:
        >>> bits_text(3.14159), bits_text(-0.5) == MINUS + "0.50", bits_text(0.0)
        ('+3.14', True, '0.00')
    """
    if round(value, 2) == 0:
        return "0.00"
    return f"+{value:.2f}" if value > 0 else f"{MINUS}{-value:.2f}"


def probability_text(value: float) -> str:
    """A probability to six decimals (0.999999 and 1.000000 differ in what they claim).

    Example:
        >>> probability_text(0.9999871)
        '0.999987'
    """
    return f"{value:.6f}"


def comparison_label(name: str) -> str:
    return COMPARISON_LABELS.get(name, name.replace("_", " ").capitalize())


def waterfall(score: Score) -> Waterfall:
    """Lay a score's parts end to end, in the scorer's order of addition."""
    rows = [WaterfallRow("prior", "Prior", "", score.prior_weight, 0.0, 0.0,
                         score.prior_weight)]
    running = score.prior_weight
    for part in score.parts:
        start = running
        running = running + part.weight
        running = running + part.tf_adjustment
        rows.append(WaterfallRow("comparison", comparison_label(part.comparison), part.level,
                                 part.total, part.tf_adjustment, start, running))
    rows.append(WaterfallRow("total", "Total", "", score.match_weight, 0.0, 0.0,
                             score.match_weight))
    return Waterfall(tuple(rows), score.match_weight, score.match_probability)


def _row_words(row: WaterfallRow) -> str:
    level = f" ({row.level})" if row.level else ""
    return f"{row.label}{level} {row.weight_text} bits"


def describe(chart: Waterfall) -> str:
    """The chart in words (its ``<desc>``)."""
    steps = "; ".join(_row_words(r) for r in chart.rows if r.kind == "comparison")
    return (f"Match-weight waterfall. Prior {bits_text(chart.rows[0].weight)} bits; {steps}. "
            f"Total {bits_text(chart.match_weight)} bits, match probability "
            f"{chart.probability_text}.")


@dataclass(frozen=True, slots=True)
class _Scale:
    low: float
    high: float

    def x(self, bits: float) -> float:
        return _LABEL_WIDTH + (bits - self.low) / (self.high - self.low) * _PLOT_WIDTH


def _scale(chart: Waterfall) -> _Scale:
    ends = [0.0] + [v for r in chart.rows for v in (r.start, r.end) if math.isfinite(v)]
    low, high = math.floor(min(ends) / 5) * 5, math.ceil(max(ends) / 5) * 5
    return _Scale(low, high if high > low else low + 5)


def _style(row: WaterfallRow) -> tuple[str, str, str]:
    """Fill, stroke and sign word of a bar: never colour alone (hatched when negative)."""
    if row.kind == "prior":
        return ("url(#{id}-minus)" if row.weight < 0 else GREY), GREY, "prior"
    if row.kind == "total":
        return BLUE, BLUE, "total"
    if row.weight < 0:
        return "url(#{id}-minus)", RED, "against"
    return GREEN, GREEN, "for"


def _bar(row: WaterfallRow, number: int, scale: _Scale, chart_id: str) -> str:
    y = _TOP + number * _ROW_HEIGHT
    left, right = sorted((scale.x(row.start), scale.x(row.end)))
    fill, stroke, sense = _style(row)
    fill = fill.replace("{id}", chart_id)
    label = escape(row.label) + (f" <tspan fill=\"{GREY}\">({escape(row.level)})</tspan>"
                                 if row.level else "")
    width = max(right - left, 1.0)
    return (
        f'<g class="waterfall-row waterfall-{row.kind}" data-sense="{sense}">'
        f'<text x="{_LABEL_WIDTH - 8}" y="{y + 14}" text-anchor="end">{label}</text>'
        f'<rect x="{left:.1f}" y="{y}" width="{width:.1f}" height="{_BAR_HEIGHT}" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="2" '
        f'data-start="{row.start!r}" data-end="{row.end!r}"/>'
        f'<text x="{_LABEL_WIDTH + _PLOT_WIDTH + 8}" y="{y + 14}" class="waterfall-value">'
        f'{escape(row.weight_text)}</text></g>')


def _axis(scale: _Scale, rows: int) -> str:
    bottom = _TOP + rows * _ROW_HEIGHT
    zero = scale.x(0.0)
    ticks = []
    step = 5 if scale.high - scale.low <= 60 else 10
    value = scale.low
    while value <= scale.high + 1e-9:
        x = scale.x(value)
        ticks.append(f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 5}" '
                     f'stroke="{TEXT}"/><text x="{x:.1f}" y="{bottom + 18}" '
                     f'text-anchor="middle">{int(value)}</text>')
        value += step
    return (f'<line x1="{zero:.1f}" y1="{_TOP - 6}" x2="{zero:.1f}" y2="{bottom}" '
            f'stroke="{TEXT}" stroke-dasharray="4 3"/>'
            f'<line x1="{_LABEL_WIDTH}" y1="{bottom}" x2="{_LABEL_WIDTH + _PLOT_WIDTH}" '
            f'y2="{bottom}" stroke="{TEXT}"/>{"".join(ticks)}'
            f'<text x="{_LABEL_WIDTH + _PLOT_WIDTH / 2:.0f}" y="{bottom + 36}" '
            f'text-anchor="middle">match weight (bits)</text>')


def render_svg(chart: Waterfall, chart_id: str = "waterfall", title: str | None = None) -> str:
    """The chart as an inline SVG string (safe to insert into a page: all text escaped).

    ``chart_id`` must be unique on the page (it names the title, desc and pattern).
    """
    cid = escape("".join(c for c in chart_id if c.isalnum() or c in "-_") or "waterfall")
    scale = _scale(chart)
    height = _TOP + len(chart.rows) * _ROW_HEIGHT + _BOTTOM
    width = _LABEL_WIDTH + _PLOT_WIDTH + _VALUE_WIDTH
    heading = title or (f"Match weight {bits_text(chart.match_weight)} bits, probability "
                        f"{chart.probability_text}")
    bars = "".join(_bar(r, n, scale, cid) for n, r in enumerate(chart.rows))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" aria-labelledby="{cid}-title {cid}-desc" class="waterfall" '
        f'font-family="Frutiger W01, Arial, sans-serif" font-size="14" fill="{TEXT}">'
        f'<title id="{cid}-title">{escape(heading)}</title>'
        f'<desc id="{cid}-desc">{escape(describe(chart))}</desc>'
        f'<defs><pattern id="{cid}-minus" width="8" height="8" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="8" height="8" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="8" stroke="{RED}" stroke-width="4"/></pattern></defs>'
        f'<text x="{_LABEL_WIDTH + _PLOT_WIDTH + 8}" y="{_TOP - 12}" font-weight="bold">bits'
        f'</text>{bars}{_axis(scale, len(chart.rows))}'
        f'<text x="{_LABEL_WIDTH - 8}" y="{height - 8}" text-anchor="end" font-weight="bold">'
        f'Probability {escape(chart.probability_text)}</text></svg>')
