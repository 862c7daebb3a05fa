"""Training the Fellegi-Sunter model with Splink 5 on DuckDB.

Steps (Splink's documented approach):

1. λ, the probability that two random records match, from deterministic rules
   with an assumed recall (1/N where they find no pair: λ = 0 would stop EM
   with a math domain error);
2. u for every level by random sampling of pairs;
3. m by expectation maximisation, in two sessions: blocked on date of birth
   (estimates names, postcode, sex) and on postcode (estimates date of birth
   and names), each falling back to a wider column where its own pairs nobody
   or EM fails (:data:`EM_BLOCKING`). Data with no evident match (a clean
   register, no look-ups) skips EM: it has no matches to learn m from, and m
   takes stated values (:func:`state_unestimated`);
4. pinning (:func:`pin_extremes`): levels that EM drives to an extreme the data
   cannot support are set to stated values, and the model says which;
5. the prior set to one in the register's people (:func:`scale_prior`).

With look-ups (past or synthetic tracing requests) the model is trained as a
``link_only`` job between look-ups and the register; without, as a
``dedupe_only`` job over the register's rows (current and previous names and
addresses, so the same person appears more than once).
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
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


# The EM sessions, each blocked on the first column that gives record pairs:
# date of birth (estimates names, postcode, sex), then postcode (estimates date
# of birth and names). The wider columns after them serve registers too small or
# too clean for the first to pair anyone (every postcode different).
EM_BLOCKING = (
    ("birth_date", "birth_year"),
    ("postcode", "postcode_district", "family_name"),
)


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
    from splink import DuckDBAPI, Linker

    logging.getLogger("splink").setLevel(logging.ERROR)
    people = register_size or _people_in(register)
    if people < 2:
        raise ValueError("the register needs at least two people")
    link_type, tables = _tables(DuckDBAPI(), register, lookups)
    linker = Linker(tables, settings_dict(link_type), log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        list(DETERMINISTIC_RULES), recall=ASSUMED_RECALL)
    settings = linker._settings_obj  # Splink has no public reader or setter for λ
    evident_matches = float(settings._probability_two_random_records_match) > 0.0
    if not evident_matches:
        # log(λ = 0) would stop EM with a math domain error; 1/N is λ for a
        # tracing request (see scale_prior).
        settings._probability_two_random_records_match = 1.0 / people
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    model = linker.misc.save_model_to_json()
    if evident_matches:
        def relink(saved: dict[str, Any]) -> Any:
            return Linker(tables, saved, log_level=None)

        for rules in EM_BLOCKING:
            linker, model = _expectation_maximisation(linker, model, rules, relink)
    pins = state_unestimated(model)
    pins += pin_extremes(model)
    pins.append(scale_prior(model, people))
    return TrainedModel(model=model, pins=pins, link_type=link_type)


def _tables(db_api: Any, register: pd.DataFrame,
            lookups: pd.DataFrame | None) -> tuple[str, list[Any]]:
    """The link type and Splink's tables: look-ups against the register, or the
    register's rows against each other."""
    drop = [c for c in register.columns if c.startswith("tf_")]
    if lookups is None:
        return "dedupe_only", [db_api.register(register.drop(columns=drop))]
    return "link_only", [
        db_api.register(lookups.drop(columns=drop, errors="ignore"),
                        dataset_display_name="lookups"),
        db_api.register(register.drop(columns=drop), dataset_display_name="register")]


def _expectation_maximisation(linker: Any, model: dict[str, Any], rules: tuple[str, ...],
                              relink: Callable[[dict[str, Any]], Any]
                              ) -> tuple[Any, dict[str, Any]]:
    """One EM session, blocked on the first of ``rules`` where EM runs to the end.

    A rule can pair no records (every postcode different) or pair only
    non-matches, where EM's estimates underflow (Splink refuses an m below
    1e-300) or λ reaches 0 (a log of 0, a division by 0). Such a session leaves
    Splink's linker half-changed, so the next rule starts from a linker rebuilt
    from ``model``, the parameters before the session. If no rule works, the
    session's comparisons keep what another session estimated, or stated
    values (:func:`state_unestimated`). Returns the linker and its parameters.
    """
    import splink
    from splink.internals.exceptions import EMTrainingException

    for column in rules:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                splink.block_on(column), estimate_without_term_frequencies=True)
        except (EMTrainingException, ArithmeticError, ValueError):
            linker = relink(copy.deepcopy(model))
            continue
        return linker, linker.misc.save_model_to_json()
    return linker, model


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


def state_unestimated(model: dict[str, Any]) -> list[dict[str, Any]]:
    """Give a comparison no EM session estimated the hand-set m; return the pins.

    For data without evident matches (a clean register and no look-ups) or
    where no EM session could run: m (how often a true match falls in each
    level) cannot come from data that holds no matches, so it comes from the
    stated values of :mod:`caldicott.matching.handmade`, as does u where random
    sampling never saw the level.
    """
    from caldicott.matching.core.stated import STATED_M_U

    pins: list[dict[str, Any]] = []
    for comparison in model["comparisons"]:
        name = comparison["output_column_name"]
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        if any(_as_float(lv.get("m_probability")) is not None for lv in levels):
            continue
        for level, (stated_m, stated_u) in zip(levels, STATED_M_U[name], strict=True):
            label = level.get("label_for_charts", "")
            level["m_probability"] = stated_m
            pins.append({"comparison": name, "level": label, "parameter": "m",
                         "trained": None, "pinned": stated_m})
            if _as_float(level.get("u_probability")) is None:
                # Unseen among a small register's few random pairs: u says
                # how common agreement is by chance, which the stated u knows.
                level["u_probability"] = stated_u
                pins.append({"comparison": name, "level": label, "parameter": "u",
                             "trained": None, "pinned": stated_u})
    return pins


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
