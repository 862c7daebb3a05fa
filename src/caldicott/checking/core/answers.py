"""What a status check sends and what its answer means under the NHS (Charges to Overseas
Visitors) Regulations 2015 (SI 2015/238).

The Home Office answers with an immigration status and its evidence; the charging
consequence (chargeable or exempt, and the ground) is the trust's, worked out here from
the status. The grounds are OUR READING of the 2015 Regulations [U]: an overseas visitors
manager still decides, and a status the Home Office cannot confirm decides nothing.
A local authority or housing association checks for its own purposes (housing,
benefits): the NHS charging rules say nothing about its checks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from caldicott.errors import InvalidInput

Consequence = Literal["chargeable", "exempt", "undetermined", "not_applicable"]

#: status -> (consequence, ground). Grounds cite the 2015 Regulations as we read them [U].
STATUSES: dict[str, tuple[Consequence, str]] = {
    "british_citizen": ("exempt", "not an overseas visitor: ordinarily resident (reg. 2)"),
    "settled": ("exempt", "not an overseas visitor: indefinite leave, ordinarily "
                "resident (reg. 2)"),
    "leave_with_surcharge_paid": ("exempt", "immigration health charge paid (reg. 9(b))"),
    "refugee": ("exempt", "refugee (reg. 15(a))"),
    "asylum_seeker": ("exempt", "asylum claim pending (reg. 15(b))"),
    "refused_asylum_seeker_supported": ("exempt", "refused asylum seeker supported under "
                                        "s.4 or s.95 IAA 1999 (reg. 15(c))"),
    "visitor": ("chargeable", "overseas visitor with leave as a visitor; no exemption "
                "(reg. 3)"),
    "no_valid_leave": ("chargeable", "overseas visitor without leave to remain; no "
                       "exemption (reg. 3)"),
    "no_record": ("undetermined", "the Home Office holds no record it can match: the "
                  "status is not confirmed, and the manager decides from the patient's "
                  "own evidence"),
}
NHS_CHARGING_KINDS = frozenset({"nhs_trust"})
#: Field names of the agreement vocabulary -> the keys of the body that carries them.
WIRE_KEYS: dict[str, tuple[str, ...]] = {
    "name": ("given_name", "family_name"),
    "date_of_birth": ("date_of_birth",),
    "nationality": ("nationality",),
}


@dataclass(frozen=True, slots=True)
class Person:
    """Who is checked, as the requesting organisation knows them (never sent whole)."""

    given_name: str
    family_name: str
    birth_date: dt.date
    nationality: str

    def field(self, key: str) -> str:
        values = {"given_name": self.given_name, "family_name": self.family_name,
                  "date_of_birth": self.birth_date.isoformat(), "nationality": self.nationality}
        return values[key]


@dataclass(frozen=True, slots=True)
class StatusAnswer:
    """What the Home Office answered."""

    immigration_status: str
    evidence: str

    def __post_init__(self) -> None:
        if self.immigration_status not in STATUSES:
            raise InvalidInput(f"the checking service answered an unknown status "
                               f"{self.immigration_status!r}")


def consequence(answer: StatusAnswer, organisation_kind: str) -> tuple[Consequence, str]:
    """The charging consequence of an answer for the organisation that asked.

    Example:
        >>> consequence(StatusAnswer("visitor", "visit visa"), "nhs_trust")[0]
        'chargeable'
        >>> consequence(StatusAnswer("visitor", "visit visa"), "local_authority")[0]
        'not_applicable'
    """
    if organisation_kind not in NHS_CHARGING_KINDS:
        return "not_applicable", ("checked for the organisation's own purposes (housing, "
                                  "benefits): the NHS charging regulations do not apply")
    return STATUSES[answer.immigration_status]


def wire_person(person: Person, fields: frozenset[str]) -> dict[str, str]:
    """The person as sent: only the keys that carry ``fields`` (the agreement's release
    list); a field the channel has no key for is refused, never guessed at.

    Example:
        >>> p = Person("Ada", "Testperson", dt.date(1990, 1, 2), "Ruritanian")
        >>> sorted(wire_person(p, frozenset({"name", "nationality"})))
        ['family_name', 'given_name', 'nationality']
    """
    unknown = sorted(fields - set(WIRE_KEYS))
    if unknown:
        raise InvalidInput(f"the checking channel cannot send {', '.join(unknown)}")
    return {key: person.field(key) for name in sorted(fields) for key in WIRE_KEYS[name]}
