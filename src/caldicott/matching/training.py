"""Training the Fellegi-Sunter model with Splink 5 on DuckDB.

Steps (Splink's documented approach):

1. λ, the probability that two random records match, from deterministic rules
   with an assumed recall;
2. u for every level by random sampling of pairs;
3. m by expectation maximisation, in two sessions: blocked on date of birth
   (estimates names, postcode, sex) and on postcode (estimates date of birth
   and names);
4. pinning (:func:`pin_extremes`): levels that EM drives to an extreme the data
   cannot support are set to stated values, and the model says which.

With look-ups (past or synthetic tracing requests) the model is trained as a
``link_only`` job between look-ups and the register; without, as a
``dedupe_only`` job over the register's rows (current and previous names and
addresses, so the same person appears more than once).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from caldicott.matching.core.comparisons import COMPARISONS

# Splink blocking rules that propose batch candidates: the same keys the
# real-time index looks up (see normalise.py), so both see the same candidates.
PREDICTION_BLOCKING_RULES = [
    'l."k_family_dob" = r."k_family_dob"',
    'l."k_given_dob" = r."k_given_dob"',
    'l."k_family_dob" = r."k_given_dob"',
    'l."k_given_dob" = r."k_family_dob"',
    'l."k_postcode_year" = r."k_postcode_year"',
    'l."k_names_year" = r."k_names_year"',
    'l."k_family_postcode" = r."k_family_postcode"',
    'l."k_given_postcode" = r."k_given_postcode"',
    'l."k_family_postcode" = r."k_given_postcode"',
    'l."k_given_postcode" = r."k_family_postcode"',
    'l."k_names_district" = r."k_names_district"',
]

DETERMINISTIC_RULES = [
    'l."given_name" = r."given_name" AND l."family_name" = r."family_name" '
    'AND l."birth_date" = r."birth_date"',
    'l."family_name" = r."family_name" AND l."birth_date" = r."birth_date" '
    'AND l."postcode" = r."postcode"',
]

# Levels whose m EM cannot estimate from tracing data: swaps, nicknames and
# transposed dates are rare in any sample, so EM drives their m towards 0 (a
# huge penalty for a real, if unusual, error) or leaves them unobserved. These
# are the values we hold them at, from the error rates reported for
# demographic data (a few per thousand look-ups).
PINNED_M = {
    ("family_name", "given and family swapped"): 0.002,
    ("given_name", "nickname"): 0.01,
    ("birth_date", "day and month transposed"): 0.002,
}
# Levels held neutral (m = u): the evidence is counted in another comparison.
NEUTRAL = {("given_name", "given and family swapped")}
# No level of a true match is rarer than this: EM on clean training data drives
# "else" levels to ~0, which would let one typo veto an otherwise certain match.
M_FLOOR = 0.001
U_FLOOR = 1e-6  # a level never seen among random pairs (Splink's own value)
ASSUMED_RECALL = 0.7


@dataclass
class TrainedModel:
    model: dict[str, Any]
    pins: list[dict[str, Any]] = field(default_factory=list)
    link_type: str = "link_only"

    @property
    def model_json(self) -> str:
        return json.dumps(self.model, indent=2, sort_keys=True)


def settings_dict(link_type: str) -> dict[str, Any]:
    """The Splink settings (before training) for the model's comparisons."""
    return {
        "link_type": link_type,
        "unique_id_column_name": "unique_id",
        "comparisons": [c.as_splink() for c in COMPARISONS],
        "blocking_rules_to_generate_predictions": list(PREDICTION_BLOCKING_RULES),
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "additional_columns_to_retain": ["nhs_number"],
        "probability_two_random_records_match": 1e-4,
        "max_iterations": 50,
        "em_convergence": 1e-4,
    }


def train(register: pd.DataFrame, lookups: pd.DataFrame | None = None, *, seed: int = 42,
          max_pairs: float = 5e6, register_size: int | None = None) -> TrainedModel:
    """Train on a register frame (and optionally look-ups) from ``people_frame``.

    ``register_size`` is the number of people the model will trace against
    (default: the people in ``register``); it sets the prior (see
    :func:`scale_prior`), so a model trained on a sample is right for the
    whole register.

    Example:
        >>> model = train(people_frame(register_people), people_frame(requests))  # doctest: +SKIP
    """
    import splink
    from splink import DuckDBAPI, Linker

    logging.getLogger("splink").setLevel(logging.ERROR)
    db_api = DuckDBAPI()
    drop = [c for c in register.columns if c.startswith("tf_")]
    if lookups is not None:
        link_type = "link_only"
        tables = [db_api.register(lookups.drop(columns=drop, errors="ignore"),
                                  dataset_display_name="lookups"),
                  db_api.register(register.drop(columns=drop), dataset_display_name="register")]
    else:
        link_type = "dedupe_only"
        tables = [db_api.register(register.drop(columns=drop))]
    linker = Linker(tables, settings_dict(link_type), log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        list(DETERMINISTIC_RULES), recall=ASSUMED_RECALL)
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(
        splink.block_on("birth_date"), estimate_without_term_frequencies=True)
    linker.training.estimate_parameters_using_expectation_maximisation(
        splink.block_on("postcode"), estimate_without_term_frequencies=True)
    model = linker.misc.save_model_to_json()
    pins = pin_extremes(model)
    pins.append(scale_prior(model, register_size or _people_in(register)))
    return TrainedModel(model=model, pins=pins, link_type=link_type)


def _people_in(register: pd.DataFrame) -> int:
    if "nhs_number" in register.columns and register["nhs_number"].notna().all():
        return int(register["nhs_number"].nunique())
    return len(register)


def scale_prior(model: dict[str, Any], register_size: int) -> dict[str, Any]:
    """Set λ to 1 / (people in the register); return the pin that says so.

    A tracing request names at most one person, so of a request's pairs with
    the register's N people at most one is a match: λ = 1/N. Splink's estimate
    (deterministic rules with an assumed recall) describes the training pairs,
    not the register a model is used on; a model trained on 5,000 people and
    used on 1,000,000 would otherwise be 200 times (7.6 bits) too ready to
    believe a pair. Each further doubling of the register costs a pair one bit.
    """
    if register_size < 2:
        raise ValueError("the register needs at least two people")
    trained = float(model["probability_two_random_records_match"])
    model["probability_two_random_records_match"] = 1.0 / register_size
    return {"comparison": "prior", "level": f"1 / {register_size} people",
            "parameter": "probability_two_random_records_match", "trained": trained,
            "pinned": 1.0 / register_size}


def _as_float(value: Any) -> float | None:
    if isinstance(value, str):  # "level not observed in training dataset"
        return None
    return None if value is None else float(value)


def pin_extremes(model: dict[str, Any]) -> list[dict[str, Any]]:
    """Hold the levels EM cannot estimate at stated values; return what changed.

    m of each comparison is renormalised to sum to 1 after pinning, scaling the
    levels EM did estimate.
    """
    pins: list[dict[str, Any]] = []
    for comparison in model["comparisons"]:
        name = comparison["output_column_name"]
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        fixed: dict[int, float] = {}
        for index, level in enumerate(levels):
            label = level.get("label_for_charts", "")
            trained_m = _as_float(level.get("m_probability"))
            trained_u = _as_float(level.get("u_probability"))
            if trained_m is None and trained_u is None:
                # Never seen, among matches or random pairs: the data says
                # nothing (sex absent, or a non-UK postcode has no sector), so
                # the level is neutral (weight 0), not a guess.
                fixed[index] = U_FLOOR
                level["u_probability"] = U_FLOOR
                pins.append({"comparison": name, "level": label, "parameter": "m=u",
                             "trained": None, "pinned": U_FLOOR})
                continue
            if (name, label) in NEUTRAL and trained_u is not None:
                fixed[index] = trained_u
                pins.append({"comparison": name, "level": label, "parameter": "m=u",
                             "trained": trained_m, "pinned": trained_u})
                continue
            target = PINNED_M.get((name, label))
            if target is not None and (trained_m is None or trained_m < target):
                fixed[index] = target
            elif trained_m is None or trained_m < M_FLOOR:
                fixed[index] = M_FLOOR
            if index in fixed:
                pins.append({"comparison": name, "level": label, "parameter": "m",
                             "trained": trained_m, "pinned": fixed[index]})
            if trained_u is None or trained_u < U_FLOOR:
                level["u_probability"] = U_FLOOR
                pins.append({"comparison": name, "level": label, "parameter": "u",
                             "trained": trained_u, "pinned": U_FLOOR})
        free = [i for i in range(len(levels)) if i not in fixed]
        free_total = sum(_as_float(levels[i].get("m_probability")) or 0.0 for i in free)
        fixed_total = sum(fixed.values())
        scale = max(1.0 - fixed_total, 0.0) / free_total if free_total else 0.0
        for index, level in enumerate(levels):
            m = fixed.get(index)
            level["m_probability"] = m if m is not None else (
                (_as_float(level.get("m_probability")) or 0.0) * scale)
    return pins
