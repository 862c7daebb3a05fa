"""One UK postcode shape: every reader and every detector uses caldicott.postcodes."""

from __future__ import annotations

from pathlib import Path

from caldicott.postcodes import CANONICAL, COMPACT, IN_TEXT, SPACED_OR_NOT

SRC = Path(__file__).parents[2] / "src" / "caldicott"


def test_only_the_postcodes_module_spells_the_postcode_shape() -> None:
    copies = [str(path.relative_to(SRC)) for path in sorted(SRC.rglob("*.py"))
              if "[A-Z]{1,2}" in path.read_text() or "[A-Z]{{1,2}}" in path.read_text()]
    assert copies == ["postcodes.py"]


def test_the_shapes_agree_on_what_a_postcode_is() -> None:
    for postcode in ("SW1A 2AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "EC1A 1BB"):
        compact = postcode.replace(" ", "")
        assert CANONICAL.fullmatch(postcode), postcode
        assert COMPACT.match(compact) and SPACED_OR_NOT.match(compact), postcode
        assert IN_TEXT.search(f"lives at {postcode.lower()} now"), postcode
    for not_one in ("SW1A2A", "12AB 3CD", "SW1A  2AA", "X26", "HO-IE"):
        assert not CANONICAL.fullmatch(not_one) and not SPACED_OR_NOT.match(not_one), not_one
    assert not IN_TEXT.search("X26")
