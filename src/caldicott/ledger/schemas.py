"""Wire shapes of the ledger's routes. Hashes are base64, as in RFC 9162 and C2SP."""

from __future__ import annotations

import base64

from pydantic import BaseModel, Field

from caldicott.ledger.person import PersonEntry, PersonReport


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


class InclusionProofOut(BaseModel):
    leaf_index: int
    tree_size: int
    leaf_hash: str = Field(description="base64 SHA-256 leaf hash")
    root: str = Field(description="base64 root of the tree of tree_size leaves")
    inclusion_path: list[str] = Field(description="base64 hashes, leaf end first (RFC 9162)")


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    first_root: str
    second_root: str
    consistency_path: list[str]


class EntryOut(BaseModel):
    index: int
    leaf_hash: str
    entry: str = Field(description="the leaf entry, canonical JSON; its UTF-8 bytes are hashed")


class EntriesOut(BaseModel):
    tree_size: int
    entries: list[EntryOut]


class PersonEntryOut(BaseModel):
    index: int = Field(description="the entry's leaf index in the log")
    recorded: str
    type: str
    outcome: str
    channel: str = Field(description="trace, status_check, debt_referral, lookup or other")
    agreement: str | None
    agreement_version: str | None
    purpose: str | None
    request: str = Field(description="what the entry is about, e.g. trace-request/42")
    actor_organisation: str
    recipient_organisation: str | None = Field(
        description="the organisation that asked, where known")
    details: dict[str, str | int | bool | None]


class ChannelOut(BaseModel):
    channel: str
    disclosures: int
    entries: list[PersonEntryOut]


class PersonReportOut(BaseModel):
    total: int
    channels: list[ChannelOut]


def person_report_out(report: PersonReport) -> PersonReportOut:
    return PersonReportOut(total=report.total, channels=[
        ChannelOut(channel=name, disclosures=report.disclosures(name),
                   entries=[_entry_out(e) for e in entries])
        for name, entries in sorted(report.channels.items())])


def _entry_out(entry: PersonEntry) -> PersonEntryOut:
    return PersonEntryOut(
        index=entry.index, recorded=entry.recorded, type=entry.type, outcome=entry.outcome,
        channel=entry.channel, agreement=entry.agreement,
        agreement_version=entry.agreement_version, purpose=entry.purpose,
        request=entry.request, actor_organisation=entry.actor_organisation,
        recipient_organisation=entry.recipient_organisation, details=dict(entry.details))
