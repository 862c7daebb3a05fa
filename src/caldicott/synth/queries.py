"""Noisy look-ups of a synthetic register, each with its true answer: the test
bed for matching.

One pass over the register keeps random samples (N people of anyone, N/10 of
each special kind) of the people each scenario needs (anyone, movers, the married, people who share
name and date of birth with someone, twins, accented or compound names…) and
remembers every (given name, family name, date of birth) as an 8-byte digest,
so a look-up meant to find nobody is checked to find nobody. Memory is the
samples plus about 130 bytes a person for the digests.

Then each query picks a scenario: a clean look-up, one noise, or two; a
namesake or a twin (the other person's record is in the register too); or
someone who is not in the register at all (a stranger, or a near miss: a
registered person's name with another birthday and address). ``noise`` names
what was done, ``;``-separated; ``true_nhs_number`` is empty when the right
answer is "nobody".
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from random import Random

from caldicott.errors import InvalidInput
from caldicott.register.records import PatientRecord
from caldicott.synth.names import Weighted, spelling_variants
from caldicott.synth.noise import NOISES, Draft, missing_postcode
from caldicott.synth.people import AS_OF, generate_people, strip_accents

QUERY_COLUMNS = ("query_id", "given_name", "family_name", "birth_date", "postcode", "sex",
                 "true_nhs_number", "noise")
# Scenario → weight. Noises are looked up in NOISES; the rest are handled here.
_SCENARIOS = Weighted(
    ["clean", "typo", "phonetic", "nickname", "spelling_variant", "swapped_names",
     "transposed_day_month", "birth_date_slip", "old_postcode", "maiden_name",
     "missing_postcode", "missing_sex", "missing_given_name", "missing_birth_date", "wrong_sex",
     "middle_name_dropped", "middle_name_added", "initial_only", "partial_family_name",
     "punctuation", "accents_dropped", "formatting", "namesake", "twin", "not_in_register",
     "near_miss"],
    [10, 10, 4, 7, 4, 4, 4, 3, 7, 4, 5, 2, 1, 1, 1, 2, 1, 1, 2, 2, 2, 3, 5, 2, 8, 4],
)
# Noises that can ride along as a second one.
_SECOND = Weighted(["typo", "old_postcode", "missing_postcode", "formatting", "nickname",
                    "missing_sex", "transposed_day_month", "phonetic"])
# Scenarios that need a particular kind of person draw from a sample of that kind.
_POOL_OF = {"old_postcode": "movers", "maiden_name": "married", "namesake": "namesakes",
            "twin": "twins", "accents_dropped": "accented", "punctuation": "punctuated",
            "partial_family_name": "compound", "middle_name_dropped": "middle",
            "spelling_variant": "variant", "transposed_day_month": "low_day"}


def _kinds(person: PatientRecord) -> Iterator[str]:
    """The samples a person belongs to (besides anyone, namesakes and twins)."""
    given, family = person.given_name, person.family_name
    if any(not a.is_current for a in person.addresses):
        yield "movers"
    if person.previous_names:
        yield "married"
    if strip_accents(given + family) != given + family:
        yield "accented"
    if any(mark in given + family for mark in "'\u2019-."):
        yield "punctuated"
    if " " in family or "-" in family:
        yield "compound"
    if " " in given:
        yield "middle"
    variants = spelling_variants()
    if family in variants or given.partition(" ")[0] in variants:
        yield "variant"
    if person.birth_date.day <= 12 and person.birth_date.day != person.birth_date.month:
        yield "low_day"


@dataclass(frozen=True, slots=True)
class Query:
    """One look-up as a tracing request carries it, with the true answer beside it."""

    query_id: str
    given_name: str
    family_name: str
    birth_date: str
    postcode: str
    sex: str
    true_nhs_number: str
    noise: str

    def as_row(self) -> dict[str, str]:
        return {c: getattr(self, c) for c in QUERY_COLUMNS}


def _digest(*parts: object) -> int:
    # Stable across processes (unlike hash()), and 8 bytes however long the names.
    text = "\x1f".join(str(p).casefold() for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


class _Sample:
    """A uniform random sample of at most ``size`` items from a stream (algorithm R)."""

    def __init__(self, size: int, rng: Random) -> None:
        self.items: list[PatientRecord] = []
        self._size, self._seen, self._rng = size, 0, rng

    def offer(self, item: PatientRecord) -> None:
        self._seen += 1
        if len(self.items) < self._size:
            self.items.append(item)
        else:
            slot = int(self._rng.random() * self._seen)
            if slot < self._size:
                self.items[slot] = item

    def pick(self, rng: Random) -> PatientRecord | None:
        return self.items[int(rng.random() * len(self.items))] if self.items else None


class _Register:
    """What one pass over the register leaves: samples by kind and the known keys."""

    def __init__(self, people: Iterable[PatientRecord], size: int, rng: Random) -> None:
        kinds = ("namesakes", "twins", *{p for p in _POOL_OF.values()})
        # A special scenario is a few percent of queries: a tenth of N people is plenty.
        self.pools = {name: _Sample(max(50, size // 10), rng) for name in sorted(kinds)}
        self.pools["anyone"] = _Sample(size, rng)
        self.keys: set[int] = set()
        homes: set[int] = set()
        for person in people:
            self._sort(person, homes)

    def _sort(self, person: PatientRecord, homes: set[int]) -> None:
        self.pools["anyone"].offer(person)
        for kind in _kinds(person):
            self.pools[kind].offer(person)
        key = _digest(person.given_name, person.family_name, person.birth_date)
        if key in self.keys:
            self.pools["namesakes"].offer(person)
        self.keys.add(key)
        address = person.last_known_address
        home = _digest(person.family_name, person.birth_date, address and address.postcode)
        if home in homes:
            self.pools["twins"].offer(person)
        homes.add(home)

    def knows(self, draft: Draft) -> bool:
        return _digest(draft.given_name, draft.family_name, draft.birth_date) in self.keys


def _render(number: int, draft: Draft, answer: str, noise: list[str]) -> Query:
    born = draft.birth_date.isoformat() if draft.birth_date else ""
    return Query(f"q{number:07d}", draft.given_name, draft.family_name, born, draft.postcode,
                 draft.sex, answer, ";".join(noise) or "clean")


class _QueryMaker:
    def __init__(self, register: _Register, seed: int, rng: Random) -> None:
        self.register, self.rng = register, rng
        self.strangers = generate_people(10**9, seed=seed + 104_729)

    def make(self, number: int) -> Query:
        for _ in range(20):
            scenario = _SCENARIOS.pick(self.rng)
            query = self._try(number, scenario)
            if query:
                return query
        return self._clean(number)

    def _clean(self, number: int) -> Query:
        person = self.register.pools["anyone"].pick(self.rng)
        assert person is not None
        return _render(number, Draft.of(person), person.nhs_number, [])

    def _try(self, number: int, scenario: str) -> Query | None:
        if scenario == "not_in_register":
            return self._stranger(number)
        if scenario == "near_miss":
            return self._near_miss(number)
        person = self.register.pools[_POOL_OF.get(scenario, "anyone")].pick(self.rng)
        if person is None:
            return None
        draft, noise = Draft.of(person), []
        if scenario in ("namesake", "twin"):
            noise.append(scenario)  # the other record is in the register; still the right answer
            if scenario == "namesake" and self.rng.random() < 0.4:
                noise += ["missing_postcode"] if missing_postcode(draft, person, self.rng) else []
                return _render(number, draft, person.nhs_number, noise)  # truly ambiguous
        elif scenario != "clean":
            if not NOISES[scenario](draft, person, self.rng):
                return None
            noise.append(scenario)
        if scenario != "clean" and self.rng.random() < 0.15:
            second = _SECOND.pick(self.rng)
            if second not in noise and NOISES[second](draft, person, self.rng):
                noise.append(second)
        return _render(number, draft, person.nhs_number, noise)

    def _stranger(self, number: int) -> Query | None:
        draft = Draft.of(next(self.strangers))
        if self.register.knows(draft):
            return None
        return _render(number, draft, "", ["not_in_register"])

    def _near_miss(self, number: int) -> Query | None:
        person = self.register.pools["anyone"].pick(self.rng)
        stranger = next(self.strangers)
        if person is None:
            return None
        draft = Draft.of(person)
        shift = dt.timedelta(days=int(self.rng.choice((-1, 1)) * (400 + self.rng.random() * 4000)))
        draft.birth_date = min(person.birth_date + shift, AS_OF - dt.timedelta(days=1))
        draft.postcode = Draft.of(stranger).postcode
        if self.register.knows(draft):
            return None
        return _render(number, draft, "", ["near_miss"])


def generate_queries(people: Iterable[PatientRecord], n: int, seed: int) -> Iterator[Query]:
    """Make ``n`` noisy look-ups of ``people`` (read once), the same for the same seed.

    Example:
        >>> from caldicott.synth.people import generate_people
        >>> queries = list(generate_queries(generate_people(200, seed=1), 5, seed=2))
        >>> len(queries), queries[0].query_id
        (5, 'q0000001')
    """
    rng = Random(f"queries-{seed}")
    register = _Register(people, max(n, 1), rng)
    if not register.pools["anyone"].items:
        raise InvalidInput("the register is empty: there is nobody to look up")
    maker = _QueryMaker(register, seed, rng)
    for number in range(1, n + 1):
        yield maker.make(number)
