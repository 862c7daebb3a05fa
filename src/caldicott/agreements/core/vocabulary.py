"""The policy vocabulary: channels, the field names a release may carry, outcomes.

Every name a pack may use is listed here, so a typo in a pack is a load error,
not a field that silently never matches.
"""

from __future__ import annotations

import enum

from caldicott.orgs.kinds import ORGANISATION_KINDS as ALL_KINDS


class Channel(enum.StrEnum):
    """The three ways patient data can leave for an outside body."""

    TRACE = "trace"
    STATUS_CHECK = "status_check"
    DEBT_REFERRAL = "debt_referral"


class Outcome(enum.StrEnum):
    PERMIT = "permit"
    DENY = "deny"
    QUEUE = "queue"  # the agreement is suspended pending review


class Approval(enum.StrEnum):
    """Who must sign a release off before it leaves."""

    NONE = "none"
    ONE_REVIEWER = "one_reviewer"
    TWO_REVIEWERS = "two_reviewers"


# Non-clinical items only: no pack may name a clinical field, because there is none to name.
FIELDS: frozenset[str] = frozenset(
    {
        "name",
        "previous_names",
        "date_of_birth",
        "sex",
        "address",  # last known (trace) or current (debt referral) address
        "gp_practice",
        "registration_date",
        "primary_care_area",
        "nationality",
        "national_insurance_number",
        "home_office_reference",
        "travel_document_number",
        "debt_details",  # amount, date of the debt and the trust it is owed to
        "immigration_status",  # what a status check brings back
    }
)

# A restricted ("S-flagged") patient's location is never released under any pack:
# PDS itself strips these for restricted records. The primary care area is a location
# too: PDS returns no restricted patient to a search that includes a postcode
# (domain.md §5.5), so the area code that narrows where they live is withheld with them.
RESTRICTED_FIELDS: frozenset[str] = frozenset({"address", "gp_practice", "primary_care_area"})

RESTRICTED_CLAUSE_ID = "caldicott-restricted"
RESTRICTED_CLAUSE_TEXT = (
    "The address, GP practice and primary care area of a patient whose record is "
    "restricted are never released, under any agreement."
)

# The kinds of organisation a pack's parties name: the organisations capability's own list.
ORGANISATION_KINDS: frozenset[str] = frozenset(ALL_KINDS)


class PartyRole(enum.StrEnum):
    """What a party does under an agreement; only a ``requester`` may use it to ask."""

    REQUESTER = "requester"
    CUSTODIAN = "custodian"  # holds the data and decides (NHS Digital, a trust)
    INTERMEDIARY = "intermediary"  # passes requests or data on (DHSC for debt referrals)
    RECIPIENT = "recipient"  # receives what is released, when not the requester


# Where a deportation case stands (trace requests' ``deportation_stage``), in order.
DEPORTATION_STAGES: tuple[str, ...] = (
    "none",
    "considered",
    "decision_made",
    "order_signed",
    "appeal",
    "removed",
)

# Named categories of "risk to the public" a request may assert (``risk_category``), with
# the basis shown to the reviewer. ASSUMED list [U]: no source gives the Home Office's own
# categories; these follow the words the sources use (NHS Digital: "a risk to public
# security"; the minister: "a serious criminal offence").
RISK_CATEGORIES: frozenset[str] = frozenset(
    {
        "national_security",
        "terrorism",
        "serious_violence",
        "sexual_offending",
        "serious_organised_crime",
    }
)
