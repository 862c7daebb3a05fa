"""Wire shapes of billing: bills in integer pence (and the same in words, exactly)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from caldicott.billing.core.bills import Bill, pounds


class BillOut(BaseModel):
    organisation: str
    period: str
    calls: int
    call_seconds: int
    call_pence: int
    officer_seconds: int
    officer_pence: int
    credited_pence: int
    total_pence: int
    total: str = Field(description="The total in pounds, e.g. £4,342.00")

    @classmethod
    def of(cls, bill: Bill) -> BillOut:
        return cls(organisation=bill.organisation, period=bill.period, calls=bill.calls,
                   call_seconds=bill.call_seconds, call_pence=bill.call_pence,
                   officer_seconds=bill.officer_seconds, officer_pence=bill.officer_pence,
                   credited_pence=bill.credited_pence, total_pence=bill.total_pence,
                   total=pounds(bill.total_pence))


class CreditNoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=80)
    reason: str = Field(min_length=1, max_length=300)


class CreditNoteOut(BaseModel):
    id: int
    event_id: str
    amount_pence: int
