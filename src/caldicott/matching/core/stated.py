"""Stated m and u for each comparison level (pure data): values of the size training on
synthetic registers gives. The hand-set model is made of them, and training falls back
on them where data holds no evident match (m cannot be learnt from it)."""

from __future__ import annotations

STATED_M_U: dict[str, list[tuple[float, float]]] = {
    # exact, swapped (neutral), nickname, damerau 1, jw 0.92, jw 0.8, crossed, else
    "given_name": [(0.80, 0.004), (0.002, 0.002), (0.03, 0.001), (0.06, 0.0006),
                   (0.03, 0.0004), (0.03, 0.005), (0.002, 0.0005), (0.046, 0.9875)],
    # exact, swapped, damerau 1, jw 0.92, jw 0.8, crossed, else
    "family_name": [(0.80, 0.003), (0.01, 0.00001), (0.08, 0.0008), (0.03, 0.0003),
                    (0.02, 0.003), (0.002, 0.0005), (0.058, 0.99239)],
    # exact, day/month transposed, damerau 1, one field wrong, else
    "birth_date": [(0.90, 0.0001), (0.02, 0.00001), (0.02, 0.001), (0.03, 0.003),
                   (0.03, 0.99589)],
    # full, sector, district, levenshtein 1, damerau 1 (transposition), else
    "postcode": [(0.60, 0.00003), (0.05, 0.0001), (0.10, 0.0005), (0.01, 0.000003),
                 (0.005, 0.000001), (0.235, 0.999366)],
    "sex": [(0.97, 0.5), (0.03, 0.5)],
}
