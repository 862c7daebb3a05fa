"""Synthetic UK people for the register: realistic at any size, deterministic
for a seed, streamed one at a time (memory stays flat).

A person is drawn in this order: origin (British or one of many migrant
origins) → sex and age (a UK-like age pyramid; migrants mostly of working
age, arriving as adults) → names (married women often carry a previous
family name) → date of death (likelier with age) → an address history from
birth or arrival to death or today, with moves mostly within the same area →
a GP practice near the last address, its care board, the NHS registration
date, and now and then a restriction. Some people come in pairs that are hard
to tell apart: twins (same family name, birthday and home) and namesakes
(same given and family name and date of birth, otherwise unrelated). Migrants
from places without birth registration often carry 1 January as birthday, as
the Home Office records them. A few newcomers have one name (no given name).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections import deque
from collections.abc import Iterator
from random import Random

from caldicott.register.records import Address, GPPractice, PatientRecord, PreviousName
from caldicott.synth.names import Origin, Weighted, is_name, origins
from caldicott.synth.places import (
    AREA_BY_CODE,
    AREA_CHOICE,
    NO_FIXED_ABODE,
    Area,
    address_lines,
    gp_practices,
    postcode_in,
)

AS_OF = dt.date(2026, 1, 1)  # "today" for every register, so a seed always gives the same people
NHS_FOUNDED = dt.date(1948, 7, 5)
_YEAR = 365.25
# Five-year age bands 0-4 ... 100-104, weighted like the UK population (ONS mid-year, rounded).
_UK_AGES = Weighted([str(b) for b in range(21)],
                    [5.6, 6.0, 6.0, 5.7, 6.0, 6.6, 6.9, 6.7, 6.4, 6.3, 6.9, 6.8, 5.9, 5.1, 4.9,
                     3.7, 2.4, 1.4, 0.6, 0.15, 0.02])
_MIGRANT_AGES = Weighted([str(b) for b in range(21)],
                         [2, 2.5, 2.5, 3, 9, 13, 14, 13, 10, 8, 6.5, 5, 4, 3, 2, 1.5, 0.7, 0.3, 0.1,
                          0.05, 0.01])
_JAN_FIRST_ORIGINS = {"somali", "eritrean", "afghan", "arab", "kurdish_iranian"}
_DOUBLE_SURNAME_ORIGINS = {"spanish", "portuguese"}
_DIACRITIC_ORIGINS = {"polish", "romanian", "lithuanian", "turkish", "vietnamese", "hungarian",
                      "slovak", "latvian", "spanish", "portuguese", "french", "german", "irish"}


def _weighted_digit_sums(weights: tuple[int, int, int]) -> list[int]:
    return [sum(int(d) * w for d, w in zip(f"{i:03d}", weights, strict=True))
            for i in range(1000)]


# Modulus-11 weighted sums of digits 1-3, 4-6 and 7-9 of an NHS number, tabulated for speed.
_FIRST = _weighted_digit_sums((10, 9, 8))
_MIDDLE, _LAST = _weighted_digit_sums((7, 6, 5)), _weighted_digit_sums((4, 3, 2))


class NhsNumbers:
    """Distinct valid test-range NHS numbers (999…, then 998… when 999 runs out).

    An affine permutation of the 1,000,000 stems after the prefix, chosen by the
    seed, so the numbers look scattered yet need no memory to stay distinct.
    About one stem in eleven has no valid check digit and is skipped.
    """

    def __init__(self, seed: int) -> None:
        rng = Random(f"nhs-{seed}")
        self._step = rng.choice([s for s in range(300_001, 700_000, 2) if s % 5][:5000])
        self._offset = rng.randrange(1_000_000)
        self._index = 0
        self._use_prefix(999)

    def _use_prefix(self, prefix: int) -> None:
        self._prefix, self._prefix_sum = prefix, _FIRST[prefix]

    def __next__(self) -> str:
        while True:
            if self._index == 1_000_000:
                self._use_prefix(self._prefix - 1)
                self._index = 0
            serial = (self._offset + self._index * self._step) % 1_000_000
            self._index += 1
            high, low = divmod(serial, 1000)
            total = self._prefix_sum + _MIDDLE[high] + _LAST[low]
            check = (11 - total % 11) % 11  # modulus 11; 10 means no valid number
            if check < 10:
                return f"{self._prefix}{serial:06d}{check}"

    def __iter__(self) -> Iterator[str]:
        return self


def strip_accents(text: str) -> str:
    """Drop diacritics as many UK systems do (Wójcik → Wojcik, Nguyễn → Nguyen)."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ł", "l").replace("Ł", "L"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class _World:
    """What every person of one register draws from."""

    def __init__(self, seed: int, as_of: dt.date) -> None:
        table, self.origin_choice = origins()
        self.origins = {o.name: o for o in table}
        self.seed = seed
        self.british = self.origins["british"]
        self.practices = gp_practices(seed, self.british.family)
        self.as_of = as_of.toordinal()


def _date(ordinal: int | float) -> dt.date:
    return dt.date.fromordinal(int(ordinal))


def _sex(rng: Random) -> str:
    roll = rng.random()
    return "male" if roll < 0.493 else "female" if roll < 0.9994 else \
        "unknown" if roll < 0.9997 else "other"


def _family_name(origin: Origin, sex: str, rng: Random) -> str:
    family = origin.family.pick(rng)
    if origin.name in _DOUBLE_SURNAME_ORIGINS and rng.random() < 0.6:
        family = f"{family} {origin.family.pick(rng)}"
    elif origin.name == "british" and rng.random() < 0.015:
        family = f"{family}-{origin.family.pick(rng)}"
    if sex == "female" and origin.female_family:
        family = origin.female_family.get(family, family)
    return family


def _given_name(origin: Origin, sex: str, rng: Random) -> str:
    names = origin.female if sex == "female" or (sex != "male" and rng.random() < 0.5) \
        else origin.male
    given = names.pick(rng)
    if rng.random() < 0.1:  # a middle name, recorded with the first as PDS often has it
        second = names.pick(rng)
        if second != given:
            given = f"{given} {second}"
    return given


def _ascii(origin: Origin, rng: Random, *names: str) -> tuple[str, ...]:
    if origin.name in _DIACRITIC_ORIGINS and rng.random() < 0.4:
        stripped = tuple(strip_accents(n) for n in names)
        if all(is_name(n) for n in stripped):
            return stripped
    return names


def _names(world: _World, origin: Origin, sex: str, age: float, rng: Random
           ) -> tuple[str, str, tuple[PreviousName, ...]]:
    given = _given_name(origin, sex, rng)
    family = _family_name(origin, sex, rng)
    previous: tuple[PreviousName, ...] = ()
    if sex == "female" and age > 21 and rng.random() < 0.4:  # married, took the spouse's name
        spouse = origin if rng.random() < 0.75 else world.british
        married = _family_name(spouse, sex, rng)
        if married != family:
            previous, family = (PreviousName(*_ascii(origin, rng, given, family)),), married
    elif rng.random() < 0.004:  # deed poll, or an anglicised given name
        previous = (PreviousName(given, family),)
        given = _given_name(world.british, sex, rng)
    given, family = _ascii(origin, rng, given, family)
    return given, family, previous


_LONDON = ("E", "N", "NW", "SE", "SW", "W", "IG", "UB", "HA")
_HISTORY_YEARS = 20  # the register keeps about the last twenty years of moves


def _move_dates(rng: Random, start: int, end: int, migrant: bool) -> list[int]:
    """When each address began: the first at birth or arrival (or before the
    history window), then moves; a Briton moves about once in twenty years."""
    window = max(start, end - int(_HISTORY_YEARS * _YEAR))
    first = start if start == window else max(start, window - int(rng.random() * 15 * _YEAR))
    expected = (end - window) / _YEAR / (6.0 if migrant else 20.0)
    moves = 0
    while moves < 6 and rng.random() < expected / (expected + 1):
        moves += 1
    span = max(1, end - window - 1)
    return [first, *sorted({window + 1 + int(rng.random() * span) for _ in range(moves)})]


def _history(world: _World, rng: Random, start: int, end: int, migrant: bool
             ) -> tuple[Address, ...]:
    starts = _move_dates(rng, start, end, migrant)
    area = AREA_BY_CODE[AREA_CHOICE.pick(rng)]
    if migrant and rng.random() < 0.3:  # newcomers settle in London more often
        area = AREA_BY_CODE[_LONDON[int(rng.random() * len(_LONDON))]]
    addresses = []
    for i, begin in enumerate(starts):
        if i and rng.random() > 0.65:
            area = AREA_BY_CODE[AREA_CHOICE.pick(rng)]
        line1, line2 = address_lines(rng, world.british.family)
        closed = _date(starts[i + 1] - 1) if i + 1 < len(starts) else None
        addresses.append(Address(line1, line2, area.town, postcode_in(area, rng), _date(begin),
                                 closed))
    if rng.random() < (0.012 if migrant else 0.002):  # now of no fixed abode
        last = addresses[-1]
        moved = max(last.from_date.toordinal() + 1, end - int(rng.random() * 400))  # type: ignore[union-attr]
        if moved < end:
            addresses[-1] = Address(last.line1, last.line2, last.town, last.postcode,
                                    last.from_date, _date(moved - 1))
            addresses.append(Address("No fixed abode", "", "", NO_FIXED_ABODE, _date(moved)))
    return tuple(addresses)


def _death(world: _World, rng: Random, birth: int, start: int) -> int | None:
    age = (world.as_of - birth) / _YEAR
    chance = 0.004 if age < 50 else 0.02 if age < 70 else 0.08 if age < 85 else 0.2
    if rng.random() >= chance:
        return None
    earliest = max(start + 1, world.as_of - 3650)
    return earliest + int(rng.random() * max(1, world.as_of - earliest))


def _area_of(address: Address) -> Area | None:
    outward = address.postcode
    return AREA_BY_CODE.get(outward[:2] if outward[1].isalpha() else outward[:1])


def _gp(world: _World, rng: Random, addresses: tuple[Address, ...], migrant: bool
        ) -> tuple[GPPractice | None, str | None]:
    if rng.random() < (0.1 if migrant else 0.03):
        return None, None  # not registered with a practice
    known = [a for a in (_area_of(x) for x in reversed(addresses)) if a]
    if not known:
        return None, None
    area = known[1] if len(known) > 1 and rng.random() < 0.05 else known[0]  # never re-registered
    practices = world.practices[area.code]
    return practices[int(rng.random() * len(practices))], area.care_board or None


def _person(world: _World, rng: Random, nhs: str, like: PatientRecord | None = None
            ) -> PatientRecord:
    """One person; ``like`` gives a namesake: the same names, sex and birthday."""
    origin = world.origins[world.origin_choice.pick(rng)]
    migrant = origin.migrant and rng.random() < 0.8
    sex = like.sex if like else _sex(rng)
    band = int((_MIGRANT_AGES if migrant else _UK_AGES).pick(rng))
    age_days = (band * 5 + rng.random() * 5) * _YEAR
    birth = like.birth_date.toordinal() if like else world.as_of - 1 - int(age_days)
    if not like and migrant and origin.name in _JAN_FIRST_ORIGINS and rng.random() < 0.3:
        birth = dt.date(_date(birth).year, 1, 1).toordinal()
    start = birth
    if migrant:  # arrived within the last 25 years, mostly as an adult
        earliest = max(birth + int(16 * _YEAR * rng.random()), world.as_of - int(25 * _YEAR))
        start = earliest + int(rng.random() * max(1, world.as_of - 30 - earliest))
    given, family, previous = _names(world, origin, sex, (world.as_of - birth) / _YEAR, rng)
    if migrant and _has_one_name(world.seed, nhs, origin.name):
        given, previous = "", tuple(PreviousName("", p.family) for p in previous)
    if like:
        given, family, previous = like.given_name, like.family_name, ()
    death = _death(world, rng, birth, start)
    addresses = _history(world, rng, start, death or world.as_of, migrant)
    gp, care_board = _gp(world, rng, addresses, migrant)
    registered = max(start, NHS_FOUNDED.toordinal()) + int(rng.random() * (300 if migrant else 42))
    return PatientRecord(
        nhs_number=nhs, given_name=given, family_name=family, birth_date=_date(birth), sex=sex,
        death_date=_date(death) if death else None, addresses=addresses,
        previous_names=previous, gp=gp, primary_care_area=care_board,
        registered_on=_date(min(registered, death or world.as_of, world.as_of - 1)),
        restricted=rng.random() < 0.005,
    )


# Newcomers who have one name, held by PDS as a family name with no given name.
# Common among people from Afghanistan (many use one name) and rare elsewhere.
_ONE_NAME_SHARE = {"afghan": 0.25}
_ONE_NAME_ELSEWHERE = 0.01


def _has_one_name(seed: int, nhs: str, origin: str) -> bool:
    # Drawn from its own stream (seed and NHS number), not the person's: adding
    # one-name people left every other person of a seed as it was.
    share = _ONE_NAME_SHARE.get(origin, _ONE_NAME_ELSEWHERE)
    return Random(f"one-name:{seed}:{nhs}").random() < share


def _twin(person: PatientRecord, world: _World, rng: Random, nhs: str) -> PatientRecord:
    sex = person.sex if rng.random() < 0.6 else ("female" if person.sex == "male" else "male")
    given = person.given_name
    while given == person.given_name:
        given = _given_name(world.british, sex, rng)
    return PatientRecord(nhs, given, person.family_name, person.birth_date, sex,
                         person.death_date, person.addresses, (), person.gp,
                         person.primary_care_area, person.registered_on, person.restricted)


def generate_people(n: int, seed: int, as_of: dt.date = AS_OF) -> Iterator[PatientRecord]:
    """Stream ``n`` synthetic people, the same ones for the same seed.

    Example:
        >>> people = list(generate_people(3, seed=1))
        >>> len(people), all(p.nhs_number.startswith("999") for p in people)
        (3, True)
    """
    world = _World(seed, as_of)
    rng = Random(seed)
    numbers = NhsNumbers(seed)
    recent: deque[PatientRecord] = deque(maxlen=512)
    made = 0
    while made < n:
        roll = rng.random()
        like = recent[int(rng.random() * len(recent))] if roll < 0.004 and recent else None
        person = _person(world, rng, next(numbers), like)  # like: a namesake of someone
        if roll < 0.014 and person.birth_date.toordinal() > world.as_of - 25 * _YEAR \
                and made + 1 < n:
            yield person
            made += 1
            person = _twin(person, world, rng, next(numbers))
        recent.append(person)
        yield person
        made += 1
