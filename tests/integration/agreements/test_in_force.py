"""Which agreement a request falls under (issue 18.1, 18.9): from the channel, the
requester's organisation and the date, only for the agreement's parties; drafts in
force only once an administrator activates them, exactly as activated."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from caldicott.access.service import add_user
from caldicott.agreements.core import PACKS_DIR, Channel
from caldicott.agreements.models import AgreementActivationRow
from caldicott.agreements.service import (
    activate,
    agreement_for_request,
    packs_in_force,
    statuses,
)
from caldicott.errors import Forbidden, InvalidInput, NotFound, Unprocessable
from caldicott.ledger.models import LedgerDetail, LedgerEntry, LedgerQueue
from caldicott.orgs.service import add_organisation
from caldicott.settings import Settings

D = dt.date.fromisoformat
POLICE = (PACKS_DIR / "police-crime-exemption.toml").read_text(encoding="utf-8")


@pytest.fixture()
def local(settings: Settings, tmp_path: Path) -> Settings:
    """Settings whose data directory holds a draft: a regulator's agreement (REG-1 only)."""
    (tmp_path / "agreements").mkdir()
    draft = POLICE.replace('id = "police-crime-exemption"', 'id = "regulator-pilot"').replace(
        'kind = "police"\n', 'kind = "regulator"\ncode = "REG-1"\n'
    )
    (tmp_path / "agreements" / "regulator-pilot.toml").write_text(draft, encoding="utf-8")
    return settings.model_copy(update={"data_dir": tmp_path})


def _admin(session: Session, kind: str = "nhs_digital", role: str = "administrator") -> str:
    # Letters only: a code shaped like a postcode is refused by the ledger.
    code = "T" + "".join(chr(65 + int(c, 16)) for c in uuid.uuid4().hex[:7])
    add_organisation(session, code, "Synthetic organisation", kind)
    email = f"{code.lower()}@example.org"
    add_user(session, email, code, [role])
    return email


def test_the_agreement_follows_from_the_organisation_and_the_date(
    session: Session, settings: Settings
) -> None:
    def pick(kind: str, code: str, day: str) -> str:
        return agreement_for_request(session, settings, Channel.TRACE, kind, code, D(day)).id

    assert pick("home_office", "HO-IE", "2017-06-01") == "tracing-mou"
    assert pick("home_office", "ho-ie", "2018-12-01") == "tracing-mou"  # withdrawn: W.1 says so
    assert pick("police", "MET", "2019-03-01") == "police-crime-exemption"
    assert pick("court", "RCJ", "2019-03-01") == "court-order"
    assert pick("nca", "NCA", "2019-03-01") == "nca-warrant-subjects"


def test_a_local_authority_cannot_use_the_home_office_memorandum(
    session: Session, settings: Settings
) -> None:
    with pytest.raises(Forbidden) as refused:
        agreement_for_request(session, settings, Channel.TRACE, "local_authority", "LA-LEEDS",
                              D("2017-06-01"))
    assert refused.value.diagnostics == (
        "no tracing agreement in force on 2017-06-01 has LA-LEEDS (local_authority) as a "
        "requester"
    )
    assert refused.value.status_code == 403


def test_a_home_office_team_the_memorandum_does_not_name_is_refused(
    session: Session, settings: Settings
) -> None:
    with pytest.raises(Forbidden, match=r"^no tracing agreement in force on 2026-11-28 has "
                       r"HO-XX \(home_office\) as a requester$"):
        agreement_for_request(session, settings, Channel.TRACE, "home_office", "HO-XX",
                              D("2026-11-28"))


def test_no_agreement_before_the_memorandum_began(session: Session, settings: Settings) -> None:
    with pytest.raises(Forbidden, match="in force on 2016-12-31 has HO-IE"):
        agreement_for_request(session, settings, Channel.TRACE, "home_office", "HO-IE",
                              D("2016-12-31"))


def test_what_if_packs_are_never_in_force(session: Session, settings: Settings) -> None:
    live = packs_in_force(session, settings).agreements
    assert "firewall" not in live and "tracing-mou-narrowed" not in live
    assert {"tracing-mou", "police-crime-exemption", "court-order"} <= set(live)


def test_a_draft_is_not_in_force_until_activated(session: Session, local: Settings) -> None:
    assert "regulator-pilot" not in packs_in_force(session, local).agreements
    with pytest.raises(Forbidden, match="has REG-1 \\(regulator\\) as a requester"):
        agreement_for_request(session, local, Channel.TRACE, "regulator", "REG-1",
                              D("2019-03-01"))
    row, new = activate(session, local, "regulator-pilot", "2", _admin(session))
    assert new and row.version == "2"
    found = agreement_for_request(session, local, Channel.TRACE, "regulator", "REG-1",
                                  D("2019-03-01"))
    assert found.id == "regulator-pilot"
    assert [v.version for v in found.versions] == ["2"]  # version 1 was never activated
    with pytest.raises(Forbidden):  # another regulator is not the party it names
        agreement_for_request(session, local, Channel.TRACE, "regulator", "REG-2",
                              D("2019-03-01"))


def test_a_draft_edited_after_activation_is_out_of_force_until_activated_again(
    session: Session, local: Settings
) -> None:
    admin = _admin(session)
    activate(session, local, "regulator-pilot", "2", admin)
    file = Path(local.data_dir) / "agreements" / "regulator-pilot.toml"
    file.write_text(file.read_text(encoding="utf-8").replace(
        "necessary and proportionate", "convenient"), encoding="utf-8")
    assert "regulator-pilot" not in packs_in_force(session, local).agreements
    # Even an edit that leaves every clause alone (a comment) changes the file's SHA-256.
    activate(session, local, "regulator-pilot", "2", admin)
    assert "regulator-pilot" in packs_in_force(session, local).agreements
    file.write_text("# reviewed\n" + file.read_text(encoding="utf-8"), encoding="utf-8")
    assert "regulator-pilot" not in packs_in_force(session, local).agreements


def _ledger_bodies(session: Session) -> list[tuple[dict[str, object], dict[str, object]]]:
    """(entry, details) of every ledger entry written in this transaction, either backend."""
    rows = [(e, d) for e, d in session.execute(
        select(LedgerEntry.entry, LedgerDetail.body).outerjoin(
            LedgerDetail, LedgerDetail.index == LedgerEntry.index))]
    rows += list(session.execute(select(LedgerQueue.entry, LedgerQueue.detail)))
    return [(json.loads(e), json.loads(d) if d else {}) for e, d in rows]


def test_activation_is_recorded_once_with_both_hashes_in_the_ledger(
    session: Session, local: Settings
) -> None:
    admin = _admin(session)
    row, _ = activate(session, local, "regulator-pilot", "2", admin)
    again, new = activate(session, local, "regulator-pilot", "2", admin)
    assert (again.id, new) == (row.id, False)
    file = Path(local.data_dir) / "agreements" / "regulator-pilot.toml"
    assert row.file_sha256 == hashlib.sha256(file.read_bytes()).hexdigest()
    entries = [(e, d) for e, d in _ledger_bodies(session)
               if e["type"] == "agreement-activated" and e["entity"] == {
                   "what": "agreement/regulator-pilot", "subjects": []}]
    assert len(entries) == 1
    entry, details = entries[0]
    assert entry["agreement"] == {"id": "regulator-pilot", "version": "2"}
    assert str(details["content_hash"]).replace("sha256:", "").replace(".", "") == (
        row.content_hash)
    assert str(details["file_sha256"]).replace("sha256:", "").replace(".", "") == (
        row.file_sha256)


def test_only_an_administrator_may_activate(session: Session, local: Settings) -> None:
    auditor = _admin(session, role="auditor")
    with pytest.raises(Forbidden):
        activate(session, local, "regulator-pilot", "2", auditor)
    assert session.scalar(select(AgreementActivationRow.id).where(
        AgreementActivationRow.agreement == "regulator-pilot")) is None


@pytest.mark.parametrize(
    ("agreement", "version", "error", "message"),
    [
        ("tracing-mou", "1", Unprocessable, "is a shipped pack"),
        ("firewall", "1", Unprocessable, "shipped pack"),
        ("regulator-pilot", "9", NotFound, "versions: 1, 2"),
        ("no-such", "1", NotFound, "no agreement 'no-such'"),
    ],
)
def test_activation_refusals_are_plain(
    session: Session, local: Settings, agreement: str, version: str,
    error: type[Exception], message: str,
) -> None:
    with pytest.raises(error, match=message):
        activate(session, local, agreement, version, _admin(session))


def test_statuses_show_drafts_until_activated(session: Session, local: Settings) -> None:
    def status_of(version: str) -> str:
        return next(s for a, v, s in statuses(session, local, D("2026-11-28"))
                    if a.id == "regulator-pilot" and v.version == version)

    assert status_of("2") == "draft"
    activate(session, local, "regulator-pilot", "2", _admin(session))
    assert (status_of("1"), status_of("2")) == ("draft", "in force")


def test_the_suspension_test_pack_for_the_lifecycle_loads_and_activates(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    from caldicott.agreements.core import Outcome, TraceRequest, decide
    from tests.integration.agreements.suspension_pack import (
        SUSPENDED_PACK,
        activate_every_version,
    )

    (tmp_path / "agreements").mkdir()
    (tmp_path / "agreements" / "suspension.toml").write_text(SUSPENDED_PACK, encoding="utf-8")
    local = settings.model_copy(update={"data_dir": tmp_path})
    activate_every_version(session, local, _admin(session))
    found = agreement_for_request(session, local, Channel.TRACE, "home_office", "HO-ANY",
                                  D("2018-06-01"))
    ask = TraceRequest("ho", frozenset({"name"}), deportation_considered=True)
    outcomes = [decide(ask, D(day), found).outcome
                for day in ("2018-06-01", "2018-09-01", "2018-12-01")]
    assert outcomes == [Outcome.QUEUE, Outcome.PERMIT, Outcome.DENY]


def test_an_administrator_whose_code_looks_like_a_postcode_gets_a_plain_refusal(
    session: Session, local: Settings
) -> None:
    # Such a code could never be written to the ledger as an activation's agent: it is
    # refused when the organisation is made, in one plain sentence.
    with pytest.raises(InvalidInput, match="looks like a postcode"):
        add_organisation(session, "TA1B2CD", "Synthetic NHS Digital", "nhs_digital")
