"""The pure core of signatories: rank ladders and the signature procedure check."""

from caldicott.signatories.core.procedure import (
    COUNTERSIGNATORY_RANK_TOO_LOW,
    MISSING_COUNTERSIGNATURE,
    REASON_CODES,
    SELF_COUNTERSIGNED,
    UNAUTHORISED_COUNTERSIGNATORY,
    UNAUTHORISED_SIGNATORY,
    ProcedureReason,
    SignatoryEntry,
    normalise_number,
    procedure_reasons,
)
from caldicott.signatories.core.ranks import (
    LADDERS,
    UnknownRank,
    canonical_rank,
    describe,
    ladder,
    meets,
)

__all__ = [
    "COUNTERSIGNATORY_RANK_TOO_LOW", "LADDERS", "MISSING_COUNTERSIGNATURE", "REASON_CODES",
    "SELF_COUNTERSIGNED", "UNAUTHORISED_COUNTERSIGNATORY", "UNAUTHORISED_SIGNATORY",
    "ProcedureReason", "SignatoryEntry", "UnknownRank", "canonical_rank", "describe", "ladder",
    "meets", "normalise_number", "procedure_reasons",
]
