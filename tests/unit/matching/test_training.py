from __future__ import annotations

from caldicott.matching.handmade import handmade_model
from caldicott.matching.training import (
    M_FLOOR,
    U_FLOOR,
    pin_extremes,
    scale_prior,
    state_unestimated,
)


def _level(model: dict, comparison: str, label: str) -> dict:
    for c in model["comparisons"]:
        if c["output_column_name"] == comparison:
            return next(lv for lv in c["comparison_levels"] if lv["label_for_charts"] == label)
    raise KeyError(comparison)


def test_pins_a_level_em_drove_to_zero_and_renormalises() -> None:
    model = handmade_model()
    _level(model, "birth_date", "day and month transposed")["m_probability"] = 1e-9
    pins = pin_extremes(model)
    assert any(p["level"] == "day and month transposed" for p in pins)
    levels = [lv for c in model["comparisons"] if c["output_column_name"] == "birth_date"
              for lv in c["comparison_levels"] if not lv.get("is_null_level")]
    assert abs(sum(lv["m_probability"] for lv in levels) - 1.0) < 1e-12
    assert _level(model, "birth_date", "day and month transposed")["m_probability"] == 0.002


def test_a_level_never_seen_is_neutral_not_a_guess() -> None:
    model = handmade_model()
    for label in ("exact", "else"):
        level = _level(model, "sex", label)
        level["m_probability"] = level["u_probability"] = None
    pin_extremes(model)
    for label in ("exact", "else"):
        level = _level(model, "sex", label)
        assert level["m_probability"] == level["u_probability"] == U_FLOOR


def test_the_given_name_swap_level_carries_no_weight() -> None:
    # As EM might leave it: a swap seen among matches far more than among random
    # pairs (weight log2(0.05 / 1e-5), about +12), counted again in family_name.
    model = handmade_model()
    level = _level(model, "given_name", "given and family swapped")
    level["m_probability"], level["u_probability"] = 0.05, 1e-5
    pins = pin_extremes(model)
    assert level["m_probability"] == level["u_probability"] == 1e-5
    assert {"comparison": "given_name", "level": "given and family swapped",
            "parameter": "m=u", "trained": 0.05, "pinned": 1e-5} in pins


def test_floors_an_else_level_em_drove_to_zero() -> None:
    model = handmade_model()
    _level(model, "postcode", "else")["m_probability"] = 0.0
    pin_extremes(model)
    assert _level(model, "postcode", "else")["m_probability"] == M_FLOOR


def test_the_prior_is_one_over_the_people_in_the_register() -> None:
    model = handmade_model(prior=0.01)
    pin = scale_prior(model, 1_000_000)
    assert model["probability_two_random_records_match"] == 1e-6
    assert pin["trained"] == 0.01 and pin["pinned"] == 1e-6


def test_new_rare_levels_are_pinned_when_em_drives_them_to_zero() -> None:
    model = handmade_model()
    _level(model, "family_name", "family name is the given name")["m_probability"] = 1e-12
    pins = pin_extremes(model)
    assert _level(model, "family_name", "family name is the given name")["m_probability"] \
        >= M_FLOOR
    assert any(p["level"] == "family name is the given name" for p in pins)


def test_a_comparison_no_em_session_estimated_takes_the_stated_m_and_unseen_u() -> None:
    stated = handmade_model()
    model = handmade_model()
    for level in _levels(model, "postcode"):
        level["m_probability"] = None
    _level(model, "postcode", "sector")["u_probability"] = None
    _level(model, "sex", "exact")["m_probability"] = 0.5  # estimated: left alone
    pins = state_unestimated(model)
    assert [lv["m_probability"] for lv in _levels(model, "postcode")] == [
        lv["m_probability"] for lv in _levels(stated, "postcode")]
    assert _level(model, "postcode", "sector")["u_probability"] == \
        _level(stated, "postcode", "sector")["u_probability"]
    assert _level(model, "sex", "exact")["m_probability"] == 0.5
    assert {p["comparison"] for p in pins} == {"postcode"}
    assert {(p["level"], p["parameter"]) for p in pins} >= {("sector", "u"), ("else", "m")}


def _levels(model: dict, comparison: str) -> list[dict]:
    return [lv for c in model["comparisons"] if c["output_column_name"] == comparison
            for lv in c["comparison_levels"] if not lv.get("is_null_level")]
