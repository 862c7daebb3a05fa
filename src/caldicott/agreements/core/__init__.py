"""The pure core of agreements: the document model, loading, Cedar, ``decide``.

Public API (kept small on purpose; other capabilities import only these):

* :func:`decide` — ``decide(request, as_of, agreement) -> Decision``
* :func:`decide_under` — the same under one named version (replay)
* :func:`load_packs` — the shipped packs (plus any extra directory) and their problems
* :func:`check_file` — every problem in one pack file, with its line
* :class:`Decision`, :class:`Agreement`, :class:`AgreementVersion`, :class:`UnmetCondition`,
  :class:`Party`, :class:`Purpose`, :class:`LegalBasis`, :func:`version_status`
* requests: :class:`TraceRequest`, :class:`StatusCheckRequest`, :class:`DebtReferralRequest`,
  :func:`request_from_facts`
* vocabulary: :class:`Channel`, :class:`Outcome`, :data:`FIELDS`, :data:`RESTRICTED_FIELDS`
"""

from caldicott.agreements.core.decide import decide, decide_under
from caldicott.agreements.core.loader import PACKS_DIR, PackSet, Problem, check_file, load_packs
from caldicott.agreements.core.model import (
    Agreement,
    AgreementVersion,
    Charges,
    Clause,
    Decision,
    LegalBasis,
    Party,
    Purpose,
    UnmetCondition,
    version_status,
)
from caldicott.agreements.core.requests import (
    DebtReferralRequest,
    Request,
    RequestError,
    StatusCheckRequest,
    TraceRequest,
    request_from_facts,
)
from caldicott.agreements.core.vocabulary import (
    FIELDS,
    RESTRICTED_FIELDS,
    Approval,
    Channel,
    Outcome,
    PartyRole,
)

__all__ = [
    "FIELDS",
    "PACKS_DIR",
    "RESTRICTED_FIELDS",
    "Agreement",
    "AgreementVersion",
    "Approval",
    "Channel",
    "Charges",
    "Clause",
    "DebtReferralRequest",
    "Decision",
    "LegalBasis",
    "Outcome",
    "PackSet",
    "Party",
    "PartyRole",
    "Problem",
    "Purpose",
    "Request",
    "RequestError",
    "StatusCheckRequest",
    "TraceRequest",
    "UnmetCondition",
    "check_file",
    "decide",
    "decide_under",
    "load_packs",
    "request_from_facts",
    "version_status",
]
