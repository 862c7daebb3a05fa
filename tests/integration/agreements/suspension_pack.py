"""A test-only draft: suspended, resumed, then withdrawn, in the pack format of issue 18/19.

For the trace-request lifecycle's queue tests (the old SUSPENDED_PACK there predates
structured parties, purpose codes and the legal basis, so it no longer loads). As a
draft it is in force only once each version is activated: see
:func:`activate_every_version`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from caldicott.settings import Settings

_LEGAL = """
[version.legal_basis]
lawful_basis = ["test only: no real disclosure"]
gateway = "test only"
public_interest_document = "test only"
public_interest_approver = "test only"
review_date = 2019-01-01
"""

_PURPOSE = """
[[version.purpose]]
code = "trace_for_deportation"
text = "tracing a person considered for deportation"
"""

_CLAUSES = '''
[[version.clause]]
id = "1.1"
text = """Tracing a person considered for deportation (test only)."""

[[version.clause]]
id = "2.1"
text = """The person is being considered for deportation action."""
requires = "context.deportation_considered"

[[version.clause]]
id = "3.1"
text = """Only name, date of birth and address are released."""
release = ["name", "date_of_birth", "address"]
'''

SUSPENDED_PACK = f'''
id = "tracing-suspension-test"
title = "A tracing agreement suspended pending review, resumed, then withdrawn (test only)"
channels = ["trace"]

[[party]]
role = "requester"
kind = "home_office"

[[party]]
role = "custodian"
kind = "nhs_digital"

[[version]]
version = "1"
effective_from = 2018-05-09
effective_to = 2018-08-01
suspended = true
purpose_clause = "1.1"
approval = "one_reviewer"
public_interest_test = true
{_PURPOSE}{_LEGAL}{_CLAUSES}
[[version]]
version = "2"
effective_from = 2018-08-01
effective_to = 2018-11-09
purpose_clause = "1.1"
approval = "one_reviewer"
public_interest_test = true
{_PURPOSE}{_LEGAL}{_CLAUSES}
[[version]]
version = "3"
effective_from = 2018-11-09
approval = "one_reviewer"
public_interest_test = false
{_LEGAL}
[[version.clause]]
id = "W.1"
text = """The agreement was withdrawn. No request is answered under it."""
forbids = "true"
'''


def activate_every_version(session: Session, settings: Settings, admin_email: str) -> None:
    """Put versions 1, 2 and 3 of the draft (in ``<data_dir>/agreements``) in force."""
    from caldicott.agreements.service import activate

    for version in ("1", "2", "3"):
        activate(session, settings, "tracing-suspension-test", version, admin_email)
