"""The ways a tracing request gets a person's details wrong.

Each noise takes the query being built (a :class:`Draft`), the person it is
about and a random source, changes the draft and returns True, or returns
False when it cannot apply to this person (no old address, no nickname…), so
the caller can choose another person. Noises compose: a query may carry two.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from random import Random

from caldicott.register.records import PatientRecord
from caldicott.synth.names import spelling_variants
from caldicott.synth.people import AS_OF, strip_accents


@dataclass(slots=True)
class Draft:
    """A look-up as a request would carry it; empty strings are missing fields."""

    given_name: str
    family_name: str
    birth_date: dt.date | None
    postcode: str
    sex: str

    @classmethod
    def of(cls, person: PatientRecord) -> Draft:
        address = person.last_known_address
        return cls(person.given_name, person.family_name, person.birth_date,
                   address.postcode if address else "", person.sex)


Noise = Callable[[Draft, PatientRecord, Random], bool]

# Neighbouring keys on a UK QWERTY keyboard: the commonest substitution typos.
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS = {
    ch: "".join(row[j] for j in (i - 1, i + 1) if 0 <= j < len(row))
    for row in _ROWS for i, ch in enumerate(row)
}
# Spellings that sound alike (what a name taken down over the phone turns into).
_SOUNDS_ALIKE = (("ph", "f"), ("ck", "k"), ("ie", "y"), ("ey", "y"), ("ou", "ow"), ("ei", "ie"),
                 ("ll", "l"), ("tt", "t"), ("nn", "n"), ("ss", "s"), ("mm", "m"), ("ae", "e"),
                 ("th", "t"), ("c", "k"), ("z", "s"), ("y", "i"), ("i", "y"), ("ee", "i"))


def _typo_in(word: str, rng: Random) -> str:
    if not word:
        return word
    if len(word) < 3:
        return word + word[-1]
    i = 1 + int(rng.random() * (len(word) - 1))  # the first letter is usually right
    kind = rng.random()
    if kind < 0.35 and word[i].lower() in _NEIGHBOURS:
        options = _NEIGHBOURS[word[i].lower()]
        return word[:i] + options[int(rng.random() * len(options))] + word[i + 1:]
    if kind < 0.55:
        return word[:i] + word[i + 1:]
    if kind < 0.75:
        return word[:i] + word[i] + word[i:]
    if i < len(word) - 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i - 1] + word[i] + word[i - 1]


def typo(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    if rng.random() < 0.6:
        changed = _typo_in(draft.family_name, rng)
        applied, draft.family_name = changed != draft.family_name, changed
    else:
        changed = _typo_in(draft.given_name, rng)
        applied, draft.given_name = changed != draft.given_name, changed
    return applied


def phonetic(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    field = "family_name" if rng.random() < 0.6 else "given_name"
    name: str = getattr(draft, field)
    lower = name.lower()
    rules = [(a, b) for a, b in _SOUNDS_ALIKE if a in lower[1:]]
    if not rules:
        return False
    old, new = rules[int(rng.random() * len(rules))]
    at = lower.index(old, 1)
    setattr(draft, field, name[:at] + new + name[at + len(old):])
    return True


@cache
def _nicknamer():  # type: ignore[no-untyped-def]
    from nicknames import NickNamer

    return NickNamer()


def nickname(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    first = draft.given_name.partition(" ")[0]
    options = sorted(_nicknamer().nicknames_of(first.lower()))  # sorted: sets are unordered
    options = [o for o in options if len(o) > 1 and o != first.lower()]
    if not options:
        return False
    draft.given_name = options[int(rng.random() * len(options))].title()
    return True


def spelling_variant(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    variants = spelling_variants()
    first = draft.given_name.partition(" ")[0]
    if draft.family_name in variants and (first not in variants or rng.random() < 0.5):
        options = variants[draft.family_name]
        draft.family_name = options[int(rng.random() * len(options))]
        return True
    if first in variants:
        options = variants[first]
        draft.given_name = options[int(rng.random() * len(options))]
        return True
    return False


def swapped_names(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    draft.given_name, draft.family_name = draft.family_name, draft.given_name
    return True


def transposed_day_month(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    born = draft.birth_date
    if born is None or born.day > 12 or born.day == born.month:
        return False
    draft.birth_date = born.replace(day=born.month, month=born.day)
    return True


def birth_date_slip(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    """A year or a day out by one, or the 1 January placeholder for an unknown birthday."""
    born = draft.birth_date
    if born is None:
        return False
    roll = rng.random()
    if roll < 0.4:
        changed = born + dt.timedelta(days=1 if rng.random() < 0.5 else -1)
    elif roll < 0.8:
        year = born.year + (1 if rng.random() < 0.5 else -1)
        changed = born.replace(year=year, day=min(born.day, 28))
    else:
        changed = born.replace(month=1, day=1)
    if changed == born or changed >= AS_OF:
        return False
    draft.birth_date = changed
    return True


def old_postcode(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    earlier = sorted({a.postcode for a in person.addresses if not a.is_current} - {draft.postcode})
    if not earlier:
        return False
    draft.postcode = earlier[int(rng.random() * len(earlier))]
    return True


def maiden_name(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    old = [n.family for n in person.previous_names if n.family != draft.family_name]
    if not old:
        return False
    draft.family_name = old[-1]
    return True


def missing_postcode(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    applied, draft.postcode = bool(draft.postcode), ""
    return applied


def missing_sex(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    draft.sex = "" if rng.random() < 0.7 else "unknown"
    return True


def missing_given_name(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    draft.given_name = ""
    return True


def missing_birth_date(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    draft.birth_date = None
    return True


def wrong_sex(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    flipped = {"male": "female", "female": "male"}.get(draft.sex)
    if flipped is None:
        return False
    draft.sex = flipped
    return True


def middle_name_dropped(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    first, space, _ = draft.given_name.partition(" ")
    draft.given_name = first
    return bool(space)


def middle_name_added(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    extra = ("John", "James", "Marie", "Ann", "Louise", "Ali", "Kumar", "Grace", "Paul")
    middle = extra[int(rng.random() * len(extra))]
    if middle in draft.given_name or not draft.given_name:
        return False
    draft.given_name = f"{draft.given_name} {middle}"
    return True


def initial_only(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    if not draft.given_name:
        return False
    draft.given_name = draft.given_name[0]
    return True


def partial_family_name(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    parts = draft.family_name.replace("-", " ").split()
    if len(parts) < 2:
        return False
    draft.family_name = parts[0] if rng.random() < 0.6 else parts[-1]
    return True


def punctuation(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    """O'Neil → ONeil or O Neil; Smith-Jones → Smith Jones."""
    for field in ("family_name", "given_name"):
        name: str = getattr(draft, field)
        for mark in ("'", "\u2019", "-", "."):
            if mark in name:
                setattr(draft, field, name.replace(mark, "" if rng.random() < 0.5 else " "))
                return True
    return False


def accents_dropped(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    given, family = strip_accents(draft.given_name), strip_accents(draft.family_name)
    applied = (given, family) != (draft.given_name, draft.family_name)
    draft.given_name, draft.family_name = given, family
    return applied


def formatting(draft: Draft, person: PatientRecord, rng: Random) -> bool:
    """Shouty names and a squashed lower-case postcode, as typed in a hurry."""
    draft.family_name = draft.family_name.upper()
    if rng.random() < 0.5:
        draft.given_name = draft.given_name.upper()
    draft.postcode = draft.postcode.replace(" ", "").lower()
    return True


# Name → noise, for the column that names the noise applied.
NOISES: dict[str, Noise] = {
    fn.__name__: fn for fn in (
        typo, phonetic, nickname, spelling_variant, swapped_names, transposed_day_month,
        birth_date_slip, old_postcode, maiden_name, missing_postcode, missing_sex,
        missing_given_name, missing_birth_date, wrong_sex, middle_name_dropped,
        middle_name_added, initial_only, partial_family_name, punctuation, accents_dropped,
        formatting,
    )
}
