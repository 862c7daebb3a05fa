"""An organisation code shaped like a postcode or an NHS number is refused when it is
added: codes go into ledger events in the clear, which refuse such shapes (a 500 later)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from caldicott.errors import InvalidInput
from caldicott.orgs.service import add_organisation
from caldicott.settings import Settings


@pytest.mark.parametrize("code", ["SW1A 1AA", "SW1A1AA", "sw1a1aa", "M1 1AE", "LS62AB",
                                  "X-B11AA", "9990000018", "999-000-0018"])
def test_a_code_shaped_like_a_postcode_or_nhs_number_is_refused(session: Session,
                                                                 code: str) -> None:
    with pytest.raises(InvalidInput, match="looks like a postcode or an NHS number"):
        add_organisation(session, code, "Synthetic Organisation", "local_authority")


@pytest.mark.parametrize("code", ["X26", "RJ1", "HO-IE", "HO-CAS", "E09000033", "RRK99"])
def test_ordinary_codes_are_still_accepted(session: Session, code: str) -> None:
    assert add_organisation(session, code, "Synthetic Organisation", "nhs_trust").code == code


def test_org_add_with_a_postcode_is_one_plain_line(settings: Settings, engine: Engine) -> None:
    env = {**os.environ, "CALDICOTT_DATABASE_URL": settings.resolved_database_url,
           "CALDICOTT_DATA_DIR": str(settings.data_dir)}
    for code in ("SW1A 1AA", "SW1A1AA"):
        result = subprocess.run(
            [sys.executable, "-m", "caldicott", "org", "add", code, "--name", "Synthetic",
             "--kind", "local_authority"], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert "looks like a postcode or an NHS number" in result.stderr
