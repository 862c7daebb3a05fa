"""The in-process Fellegi-Sunter scorer.

It reads a Splink model (the JSON ``save_model_to_json`` writes) and computes,
for one (request, candidate) pair, exactly what Splink's ``predict`` computes
in SQL (``splink/internals/predict.py`` and ``comparison_level.py``):

    match_weight = log2(λ / (1 - λ)) + Σ_c [ w_c(level) + tf_c ]
    w(level)     = log2(max(m, 1e-300) / max(u, 1e-300))      (0 for a null level)
    tf           = tf_weight · (log2 u_exact - log2 max(tf_l ⊔ tf_r, tf_r ⊔ tf_l, tf_min))
                   on a level with a term-frequency column when either tf is known
    p            = 1 / (1 + 2^-mw)  if mw ≥ 0,  else 2^mw / (1 + 2^mw)

where ``a ⊔ b`` is SQL ``coalesce`` and ``u_exact`` is the u of the comparison's
exact-match level on the term-frequency column. A level "not observed in
training" has m or u of 1e-6, as in Splink. The terms are added in Splink's
order, so the float sums agree to rounding.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from caldicott.matching.core.comparisons import COMPARISONS, Comparison
from caldicott.matching.core.normalise import Person

_CLAMP = 1e-300
_NOT_OBSERVED = "level not observed in training dataset"


class ModelMismatch(ValueError):
    """The model JSON does not describe the comparisons this scorer knows."""


@dataclass(frozen=True, slots=True)
class LevelWeights:
    label: str
    m: float | None
    u: float | None
    weight: float
    tf_column: str | None
    tf_weight: float
    tf_min_u: float
    log2_u_exact: float | None


@dataclass(frozen=True, slots=True)
class Part:
    """One bar of the waterfall: a comparison, the level it fell in, its weight."""

    comparison: str
    level: str
    weight: float
    tf_adjustment: float

    @property
    def total(self) -> float:
        return self.weight + self.tf_adjustment


@dataclass(frozen=True, slots=True)
class Score:
    match_weight: float
    match_probability: float
    prior_weight: float
    parts: tuple[Part, ...]


def _probability(value: Any) -> float | None:
    if value == _NOT_OBSERVED:
        return 1e-6
    return None if value is None else float(value)


def _level_weight(m: float | None, u: float | None, is_null: bool) -> float:
    if is_null:
        return 0.0
    if m is None or u is None:
        raise ModelMismatch("a comparison level has no trained m or u probability")
    return math.log2(max(m, _CLAMP) / max(u, _CLAMP))


def probability_from_weight(match_weight: float) -> float:
    """Splink's numerically stable logistic in base 2.

    Example:
        >>> probability_from_weight(0.0)
        0.5
    """
    if match_weight >= 0:
        return 1.0 / (1.0 + math.pow(2.0, -match_weight))
    return math.pow(2.0, match_weight) / (1.0 + math.pow(2.0, match_weight))


def model_hash(model_json: str) -> str:
    """SHA-256 of the model's canonical JSON (sorted keys), as hex."""
    canonical = json.dumps(json.loads(model_json), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Scorer:
    """Scores pairs with a trained model, as Splink would.

    Example:
        >>> scorer = Scorer.from_json(model_json)            # doctest: +SKIP
        >>> scorer.score(request, candidate).match_probability  # doctest: +SKIP
        0.99987
    """

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        lam = float(settings["probability_two_random_records_match"])
        self.prior_weight = math.log2(lam / (1.0 - lam))
        saved = {c["output_column_name"]: c for c in settings["comparisons"]}
        self._tables = [(c, self._weights_for(c, saved)) for c in COMPARISONS]

    @classmethod
    def from_json(cls, model_json: str) -> Scorer:
        return cls(json.loads(model_json))

    @staticmethod
    def _weights_for(comparison: Comparison,
                     saved: dict[str, dict[str, Any]]) -> tuple[LevelWeights, ...]:
        levels = saved.get(comparison.name, {}).get("comparison_levels")
        if levels is None or len(levels) != len(comparison.levels):
            raise ModelMismatch(f"model has no comparison {comparison.name!r} of this shape")
        m_u = []
        for spec, level in zip(comparison.levels, levels, strict=True):
            if level["sql_condition"].strip() != spec.sql:
                raise ModelMismatch(f"{comparison.name}: level {spec.label!r} differs in the model")
            m_u.append((_probability(level.get("m_probability")),
                        _probability(level.get("u_probability"))))
        exact_u = {spec.tf_column: u for spec, (_, u) in zip(comparison.levels, m_u, strict=True)
                   if spec.tf_column}
        out = []
        for spec, level, (m, u) in zip(comparison.levels, levels, m_u, strict=True):
            tf_col = level.get("tf_adjustment_column")
            u_exact = exact_u.get(tf_col) if tf_col else None
            out.append(LevelWeights(
                label=spec.label, m=m, u=u, weight=_level_weight(m, u, spec.is_null),
                tf_column=tf_col, tf_weight=float(level.get("tf_adjustment_weight", 1.0)),
                tf_min_u=float(level.get("tf_minimum_u_value", 0.0)),
                log2_u_exact=math.log2(u_exact) if u_exact else None))
        return tuple(out)

    @staticmethod
    def _tf_adjustment(lw: LevelWeights, left: Person, right: Person) -> float:
        if lw.tf_column is None or lw.tf_weight == 0 or lw.log2_u_exact is None:
            return 0.0
        tf_l = getattr(left, f"tf_{lw.tf_column}")
        tf_r = getattr(right, f"tf_{lw.tf_column}")
        if tf_l is None and tf_r is None:
            return 0.0
        a = tf_l if tf_l is not None else tf_r
        b = tf_r if tf_r is not None else tf_l
        return lw.tf_weight * (lw.log2_u_exact - math.log2(max(a, b, lw.tf_min_u)))

    def score(self, left: Person, right: Person) -> Score:
        """Score one pair; ``left`` is the request, ``right`` the register row."""
        total = self.prior_weight
        parts = []
        for comparison, weights in self._tables:
            lw = weights[comparison.level_of(left, right)]
            tf = self._tf_adjustment(lw, left, right)
            total = total + lw.weight
            if lw.tf_column is not None:
                total = total + tf
            parts.append(Part(comparison.name, lw.label, lw.weight, tf))
        return Score(total, probability_from_weight(total), self.prior_weight, tuple(parts))

    def parameters(self) -> list[dict[str, Any]]:
        """Every level's m, u and weight (what ``caldicott model train`` prints)."""
        rows = []
        for comparison, weights in self._tables:
            for lw in weights:
                rows.append({"comparison": comparison.name, "level": lw.label, "m": lw.m,
                             "u": lw.u, "weight": lw.weight})
        return rows
