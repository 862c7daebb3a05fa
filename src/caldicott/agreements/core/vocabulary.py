"""The policy vocabulary: channels, the field names a release may carry, outcomes.

Every name a pack may use is listed here, so a typo in a pack is a load error,
not a field that silently never matches.
"""

from __future__ import annotations

import enum


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
# PDS itself strips these for restricted records.
RESTRICTED_FIELDS: frozenset[str] = frozenset({"address", "gp_practice"})

RESTRICTED_CLAUSE_ID = "caldicott-restricted"
RESTRICTED_CLAUSE_TEXT = (
    "The address and GP practice of a patient whose record is restricted are never "
    "released, under any agreement."
)
