"""The match-weight waterfall shows exactly the scorer's numbers, cumulatively, escaped."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET

from caldicott.matching.core.normalise import normalise_person, with_term_frequencies
from caldicott.matching.core.scorer import Part, Score, Scorer
from caldicott.matching.core.waterfall import (
    MINUS,
    bits_text,
    probability_text,
    render_svg,
    waterfall,
)
from caldicott.matching.frames import term_frequencies
from caldicott.matching.handmade import handmade_model

SVG = "{http://www.w3.org/2000/svg}"
REGISTER = [("Ann", "Lee", "1990-01-02", "LS1 4AP", "female"),
            ("Ann", "Smith", "1990-02-01", "LS1 4AQ", "female"),
            ("William", "Smith", "1985-05-06", "M1 1AA", "male")]


def _scores() -> list[Score]:
    rows = [normalise_person(str(i), *r, nhs_number=f"n{i}") for i, r in enumerate(REGISTER)]
    tf = term_frequencies(rows)
    people = [with_term_frequencies(p, tf) for p in rows]
    scorer = Scorer(handmade_model())
    request = normalise_person("q", "Anne", "Lee", "1990-01-02", "LS1 4AQ", "female")
    return [scorer.score(request, person) for person in people]


def _rows(svg: str) -> list[ET.Element]:
    return ET.fromstring(svg).findall(f"{SVG}g")


def test_the_table_holds_the_prior_each_comparison_the_total_and_probability() -> None:
    for score in _scores():
        chart = waterfall(score)
        assert [r.kind for r in chart.rows] == (
            ["prior"] + ["comparison"] * len(score.parts) + ["total"])
        assert chart.rows[0].weight == score.prior_weight
        assert [r.weight for r in chart.rows[1:-1]] == [p.total for p in score.parts]
        assert [r.level for r in chart.rows[1:-1]] == [p.level for p in score.parts]
        assert chart.rows[-1].weight == score.match_weight
        assert chart.match_probability == score.match_probability


def test_each_bar_starts_where_the_previous_ended_and_the_last_ends_on_the_total() -> None:
    for score in _scores():
        rows = waterfall(score).rows
        assert rows[0].start == 0.0 and rows[0].end == score.prior_weight
        for before, bar in itertools.pairwise(rows[:-1]):
            assert bar.start == before.end
            assert abs((bar.end - bar.start) - bar.weight) < 1e-9
        assert rows[-2].end == score.match_weight  # the scorer's own order of addition
        assert (rows[-1].start, rows[-1].end) == (0.0, score.match_weight)


def test_the_svg_prints_the_explanations_numbers_and_draws_the_same_bars() -> None:
    for score in _scores():
        chart = waterfall(score)
        svg = render_svg(chart, "c1")
        groups = _rows(svg)
        assert len(groups) == len(chart.rows)
        for group, row in zip(groups, chart.rows, strict=True):
            value = group.find(f"{SVG}text[@class='waterfall-value']")
            assert value is not None and value.text == bits_text(row.weight)
            bar = group.find(f"{SVG}rect")
            assert bar is not None
            assert float(bar.get("data-start", "nan")) == row.start
            assert float(bar.get("data-end", "nan")) == row.end
        assert f"Probability {probability_text(score.match_probability)}" in svg
        assert probability_text(score.match_probability) == f"{score.match_probability:.6f}"


def test_the_chart_is_an_image_with_a_title_and_a_description_in_words() -> None:
    score = _scores()[0]
    root = ET.fromstring(render_svg(waterfall(score), "c2"))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c2-title c2-desc"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.get("id") == "c2-title"
    assert desc is not None and bits_text(score.match_weight) in (desc.text or "")
    for part in score.parts:
        assert f"({part.level}) {bits_text(part.total)} bits" in (desc.text or "")


def test_for_and_against_differ_by_pattern_not_only_colour() -> None:
    score = Score(-1.0, 0.33, -4.0, (Part("given_name", "exact", 6.0, 0.0),
                                      Part("postcode", "different", -3.0, 0.0)))
    groups = _rows(render_svg(waterfall(score), "c3"))
    senses = [g.get("data-sense") for g in groups]
    assert senses == ["prior", "for", "against", "total"]
    fills = [g.find(f"{SVG}rect").get("fill") for g in groups]  # type: ignore[union-attr]
    assert fills[2] == "url(#c3-minus)" and not fills[1].startswith("url(")  # type: ignore[union-attr]
    texts = [g.find(f"{SVG}text[@class='waterfall-value']").text for g in groups]  # type: ignore[union-attr]
    assert texts == [f"{MINUS}4.00", "+6.00", f"{MINUS}3.00", f"{MINUS}1.00"]


def test_a_label_carrying_markup_is_escaped_everywhere() -> None:
    attack = '<script>alert("x")</script>'
    score = Score(1.0, 0.66, -2.0, (Part("given_name", attack, 3.0, 0.0),))
    svg = render_svg(waterfall(score), 'x" onload="alert(1)', title=attack)
    assert "<script>" not in svg and 'onload="' not in svg
    assert "&lt;script&gt;" in svg
    ET.fromstring(svg)  # still well-formed XML


def test_colours_are_nhs_colours_with_at_least_4_5_to_1_contrast_on_white() -> None:
    svg = render_svg(waterfall(_scores()[0]))
    colours = set(re.findall(r"#[0-9a-f]{6}", svg)) - {"#ffffff"}
    assert colours <= {"#005eb8", "#d5281b", "#007f3b", "#212b32", "#4c6272"}
    for colour in colours:
        assert _contrast(colour, "#ffffff") >= 4.5, colour


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
