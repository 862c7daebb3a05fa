"""Wire shapes of the ledger's routes. Hashes are base64, as in RFC 9162 and C2SP."""

from __future__ import annotations

import base64

from pydantic import BaseModel, Field


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
