"""What a tracing request carries, and whether that is enough to trace (pure).

A request is traced with whatever it carries: any of the five fields the model
compares may be missing, and a missing field is no evidence either way (the
comparison's null level, weight 0). Only a request with nothing identifying
left is refused before anyone looks for the person:

- no name at all (neither a given nor a family name): whom to look for?
- nothing but a name: a name (even a full one) is shared by namesakes, and sex
  narrows nobody down. Besides the name a request needs a date of birth or a
  postcode.

The release rule (:mod:`caldicott.matching.core.release`) then asks for more
evidence the fewer fields a request carries.
"""

from __future__ import annotations

from collections.abc import Collection

from caldicott.matching.core.normalise import Person

#: The request fields the model compares, in the order of its comparisons.
FIELDS = ("given_name", "family_name", "birth_date", "postcode", "sex")
#: Each field in the words a requester and a reviewer read.
WORDS = {"given_name": "given name", "family_name": "family name",
         "birth_date": "date of birth", "postcode": "postcode", "sex": "sex"}
NAMES = ("given_name", "family_name")
#: What makes a name traceable: one of these besides it.
BESIDES_A_NAME = ("birth_date", "postcode")


def in_words(fields: Collection[str]) -> str:
    """The fields in plain words, in the model's order.

    Example:
        >>> in_words({"sex", "birth_date"})
        'date of birth, sex'
    """
    return ", ".join(WORDS[f] for f in FIELDS if f in fields)


def missing_of(person: Person) -> tuple[str, ...]:
    """The fields a normalised request lacks (a field without letters or digits to
    compare counts as missing), in the model's order.

    Example:
        >>> from caldicott.matching.core.normalise import normalise_person
        >>> missing_of(normalise_person("q", "Ann", None, None, "LS1 4AP"))
        ('family_name', 'birth_date', 'sex')
    """
    return tuple(f for f in FIELDS if getattr(person, f) is None)


def why_untraceable(present: Collection[str]) -> str | None:
    """Why a request carrying only ``present`` fields cannot be traced, or None.

    Example:
        >>> why_untraceable({"given_name", "family_name", "birth_date"}) is None
        True
        >>> why_untraceable({"family_name", "sex"}).split(" (")[1]
        'missing: given name, date of birth, postcode)'
    """
    missing = [f for f in FIELDS if f not in present]
    if not any(f in present for f in NAMES):
        return ("no name: a given name or a family name is needed, and a date of birth or "
                f"a postcode (missing: {in_words(missing)})")
    if not any(f in present for f in BESIDES_A_NAME):
        return ("only a name: besides a name, a date of birth or a postcode is needed "
                f"(missing: {in_words(missing)})")
    return None
