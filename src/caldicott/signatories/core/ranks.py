"""Rank ladders of the requesting organisations, and whether a rank meets a bar (pure).

Each organisation kind that may ask for tracing has one ladder, lowest rung
first. A signatory's rank is stored as a rung of its organisation's ladder;
a title that is not itself a rung (an immigration officer's) maps onto one
through :data:`ALIASES`. A requirement such as "countersigned by an inspector
or above" (domain.md §6.3) is then one comparison: :func:`meets`.

Sources and assumptions:

* Police: the ranks of the police forces of England and Wales (constable to
  chief constable). The Metropolitan Police and City of London use other titles
  at the top (commander, commissioner); they are aliases here of the rungs
  they sit beside, an assumption.
* Home Office: the civil-service grades. Immigration-officer titles map onto
  them by ASSUMPTION (no source was retrieved that states the equivalence):
  immigration officer ≈ EO, chief immigration officer ≈ HEO, immigration
  inspector ≈ SEO.
* NCA: officers are graded 6 (most junior) to 1 (NCA Remuneration Review Body
  evidence: "Officers at Grades 6-3 inclusive ..."); the rungs above grade 1
  (deputy director, director, director general) are an ASSUMPTION.
* Courts, coroners and the CCRC: one rung, "authorised officer": whoever the
  body authorises signs; seniority is not compared.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

LADDERS: Mapping[str, tuple[str, ...]] = {
    "police": (
        "constable", "sergeant", "inspector", "chief inspector", "superintendent",
        "chief superintendent", "assistant chief constable", "deputy chief constable",
        "chief constable",
    ),
    "home_office": ("AO", "EO", "HEO", "SEO", "G7", "G6", "SCS"),
    "nca": (
        "grade 6", "grade 5", "grade 4", "grade 3", "grade 2", "grade 1",
        "deputy director", "director", "director general",
    ),
    "court": ("authorised officer",),
    "coroner": ("authorised officer",),
    "ccrc": ("authorised officer",),
}

#: Titles that are not rungs themselves, and the rung each is taken to equal.
ALIASES: Mapping[str, Mapping[str, str]] = {
    "police": {
        "pc": "constable", "police constable": "constable", "detective constable": "constable",
        "ps": "sergeant", "detective sergeant": "sergeant",
        "detective inspector": "inspector",
        "detective chief inspector": "chief inspector",
        "detective superintendent": "superintendent",
        "detective chief superintendent": "chief superintendent",
        # Metropolitan Police / City of London titles (assumed equivalences).
        "commander": "assistant chief constable",
        "deputy assistant commissioner": "assistant chief constable",
        "assistant commissioner": "deputy chief constable",
        "commissioner": "chief constable",
    },
    "home_office": {
        # ASSUMPTION, see the module docstring: no source states these equivalences.
        "immigration officer": "EO",
        "chief immigration officer": "HEO",
        "immigration inspector": "SEO",
        "inspector": "SEO",
        "administrative officer": "AO",
        "executive officer": "EO",
        "higher executive officer": "HEO",
        "senior executive officer": "SEO",
        "grade 7": "G7",
        "grade 6": "G6",
        "senior civil service": "SCS",
    },
}


class UnknownRank(ValueError):
    """A rank, grade or organisation kind that no ladder holds; the message names the ladder."""


def ladder(kind: str) -> tuple[str, ...]:
    """The rungs of ``kind``'s ladder, lowest first.

    Example:
        >>> ladder("home_office")
        ('AO', 'EO', 'HEO', 'SEO', 'G7', 'G6', 'SCS')
    """
    rungs = LADDERS.get(kind)
    if rungs is None:
        raise UnknownRank(f"organisation kind {kind!r} has no ladder of ranks (it does not "
                          f"request tracing); kinds with one: {', '.join(LADDERS)}")
    return rungs


def describe(kind: str) -> str:
    """The ladder as one line, for error messages.

    Example:
        >>> describe("court")
        'court ranks: authorised officer'
    """
    return f"{kind} ranks: " + " < ".join(ladder(kind))


def canonical_rank(kind: str, rank: str) -> str:
    """The rung that ``rank`` names on ``kind``'s ladder (case and spacing do not matter).

    Example:
        >>> canonical_rank("police", "Detective  Chief Inspector")
        'chief inspector'
        >>> canonical_rank("home_office", "chief immigration officer")
        'HEO'
        >>> canonical_rank("police", "admiral")
        Traceback (most recent call last):
        ...
        caldicott.signatories.core.ranks.UnknownRank: unknown rank 'admiral' for police; \
police ranks: constable < sergeant < inspector < chief inspector < superintendent < \
chief superintendent < assistant chief constable < deputy chief constable < chief constable
    """
    rungs = ladder(kind)
    key = _key(rank)
    for rung in rungs:
        if _key(rung) == key:
            return rung
    aliased = {_key(title): rung for title, rung in ALIASES.get(kind, {}).items()}.get(key)
    if aliased is None:
        raise UnknownRank(f"unknown rank {rank.strip()!r} for {kind}; {describe(kind)}")
    return aliased


def meets(kind: str, rank: str, required: str) -> bool:
    """Is ``rank`` at or above ``required`` on ``kind``'s ladder?

    Raises :class:`UnknownRank` (naming the ladder) if either is not on it.

    Example:
        >>> meets("police", "sergeant", "inspector")
        False
        >>> meets("police", "chief inspector", "inspector")
        True
        >>> meets("home_office", "chief immigration officer", "HEO")
        True
    """
    rungs = ladder(kind)
    return rungs.index(canonical_rank(kind, rank)) >= rungs.index(canonical_rank(kind, required))


def _key(text: str) -> str:
    return re.sub(r"[\s_-]+", " ", text).strip().casefold()
