"""The kinds of organisation caldicott knows (pure): one list for the organisations it
registers, the parties agreements name and the roles each kind may hold."""

from __future__ import annotations

ORGANISATION_KINDS: tuple[str, ...] = (
    "nhs_trust",
    "nhs_digital",
    "home_office",
    "dhsc",
    "local_authority",
    "housing_association",
    "police",  # a police force
    "nca",  # the National Crime Agency
    "court",  # a court making an order
    "coroner",  # HM Coroner
    "ccrc",  # the Criminal Cases Review Commission
    "regulator",  # the ICO or an oversight committee: where outside auditors sit
)
