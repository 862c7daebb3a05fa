"""A stored model that no longer fits the code's comparisons is a clear error, not a crash."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.orm import Session

from caldicott.errors import Unprocessable
from caldicott.matching import repository
from caldicott.matching.core.scorer import model_hash
from caldicott.matching.service import check_request, trace_request

from .factories import fill_register, register_people


def test_a_model_trained_for_other_comparisons_asks_for_retraining(session: Session) -> None:
    fill_register(session, register_people())
    version, _ = repository.active_model_version(session)  # type: ignore[misc]
    row = repository.model_by_version(session, version)
    assert row is not None
    stored = json.loads(row.model_json)
    stored["comparisons"][0]["output_column_name"] = "forename"  # an older shape
    old = json.dumps(stored)
    repository.save_model(session, model_json=old, sha256=model_hash(old), pins=[],
                          link_type="link_only", trained_on="an older caldicott")
    with pytest.raises(Unprocessable, match="caldicott model train"):
        trace_request(session, check_request("Zanthe", "Quillfeather", "1984-03-12"))
