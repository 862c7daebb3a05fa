"""Wire shapes of people and access."""

from __future__ import annotations

from pydantic import BaseModel, Field


class OrganisationOut(BaseModel):
    id: int
    code: str = Field(examples=["X26"])
    name: str = Field(examples=["NHS Digital"])
    kind: str = Field(examples=["nhs_digital"])


class UserOut(BaseModel):
    id: int
    email: str
    name: str


class Me(BaseModel):
    """Who the caller is, and what the access matrix lets them do."""

    user: UserOut
    organisation: OrganisationOut
    roles: list[str] = Field(examples=[["tracer"]])
    permissions: dict[str, str] = Field(
        description="Each action the caller may perform with this token, with its reach: "
                    "any, own_org (their organisation's data only) or self",
        examples=[{"run_trace": "any", "read_statistics": "any"}],
    )
    token_id: int | None = None
    token_scope: str = Field("full", description="What the token presented may be used for: "
                             "read, submit, review or full", examples=["read"])
