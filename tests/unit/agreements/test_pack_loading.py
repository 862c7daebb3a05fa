"""Loading and checking pack files: each problem named with its file and line,
and a bad draft never takes the good packs down with it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from caldicott.agreements.core import (
    PACKS_DIR,
    Outcome,
    TraceRequest,
    check_file,
    decide,
    load_packs,
)

GOOD = (PACKS_DIR / "tracing-mou.toml").read_text(encoding="utf-8")
NARROWED = (PACKS_DIR / "tracing-mou-narrowed.toml").read_text(encoding="utf-8")
NO_TEXT = (
    'text = """The person can no longer be located and the alternatives have been '
    'exhausted."""'
)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _exact_line(text: str, whole: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.strip() == whole)


def _draft(tmp_path: Path, text: str, name: str = "draft.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_shipped_pack_checks_clean() -> None:
    packs = load_packs()
    assert packs.problems == []
    assert sorted(packs.agreements) == [
        "checking-service-mou",
        "court-order",
        "debt-referral",
        "firewall",
        "nca-warrant-subjects",
        "police-crime-exemption",
        "tracing-mou",
        "tracing-mou-narrowed",
    ]
    for file in PACKS_DIR.glob("*.toml"):
        assert check_file(file) == []


def test_malformed_cedar_is_named_with_its_line(tmp_path: Path) -> None:
    text = GOOD.replace(
        'requires = "context.alternatives_exhausted"',
        'requires = "context.alternatives_exhausted &&"',
        1,
    )
    path = _draft(tmp_path, text)
    [problem] = check_file(path)
    assert problem.file == str(path)
    assert problem.line == _line_of(text, "context.alternatives_exhausted &&")
    assert "malformed Cedar in clause 2.2" in problem.message


def test_cedar_that_does_not_fit_the_schema_is_named(tmp_path: Path) -> None:
    text = GOOD.replace(
        'requires = "context.alternatives_exhausted"',
        'requires = "context.sentence_length >= 12"',
        1,
    )
    [problem] = check_file(_draft(tmp_path, text))
    assert problem.line == _line_of(text, "context.sentence_length")
    assert "does not fit the schema" in problem.message and "sentence_length" in problem.message


def test_a_clause_cannot_smuggle_in_a_second_policy(tmp_path: Path) -> None:
    text = GOOD.replace(
        'forbids = "true"', 'forbids = "true }; permit (principal, action, resource) when { true"'
    )
    [problem] = check_file(_draft(tmp_path, text))
    assert problem.line == _line_of(text, "permit (principal, action, resource)")
    assert "exactly one Cedar condition" in problem.message


def test_overlapping_versions_are_refused(tmp_path: Path) -> None:
    text = GOOD.replace("effective_from = 2018-05-09", "effective_from = 2018-04-01")
    [problem] = check_file(_draft(tmp_path, text))
    assert problem.line == _line_of(text, "effective_from = 2018-04-01")
    assert (
        "version 2 (from 2018-04-01) overlaps version 1.1 (2017-12-20 to 2018-05-09)"
        in problem.message
    )


def test_a_clause_with_no_text_is_named(tmp_path: Path) -> None:
    text = GOOD.replace(NO_TEXT, 'text = ""', 1)
    [problem] = check_file(_draft(tmp_path, text))
    assert problem.line == _exact_line(text, 'text = ""')
    assert problem.message == "clause 2.3 has no text"


def test_an_unknown_field_name_is_named(tmp_path: Path) -> None:
    text = GOOD.replace(
        'release = ["name", "previous_names"', 'release = ["name", "clinical_notes"', 1
    )
    [problem] = check_file(_draft(tmp_path, text))
    assert problem.line == _line_of(text, "clinical_notes")
    assert problem.message == "unknown field name 'clinical_notes' in clause 3.1"


def test_money_must_be_whole_pence(tmp_path: Path) -> None:
    good = (PACKS_DIR / "checking-service-mou.toml").read_text(encoding="utf-8")
    text = good.replace("per_minute_pence = 80", "per_minute_pence = 0.8")
    [problem] = check_file(_draft(tmp_path, text))
    assert problem.line == _line_of(text, "per_minute_pence = 0.8")
    assert "whole number of pence" in problem.message


def test_toml_syntax_error_has_its_line(tmp_path: Path) -> None:
    text = GOOD.replace('version = "2"', 'version = "2')
    [problem] = check_file(_draft(tmp_path, text))
    assert problem.line == _line_of(text, 'version = "2')
    assert problem.message.startswith("not valid TOML")


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    text = (
        GOOD.replace(NO_TEXT, 'text = ""', 1)
        .replace("effective_from = 2018-05-09", "effective_from = 2018-04-01")
        .replace('"primary_care_area", "gp_practice"]', '"primary_care_area", "gp"]', 1)
    )
    lines = sorted(p.line for p in check_file(_draft(tmp_path, text)))
    # A list spread over lines is placed at its key's line.
    assert lines == sorted(
        [_exact_line(text, 'text = ""'), _line_of(text, "2018-04-01"), _line_of(text, '"gp"]') - 1]
    )


def test_list_still_serves_the_valid_packs_when_a_draft_is_bad(tmp_path: Path) -> None:
    bad = GOOD.replace('id = "tracing-mou"', 'id = "tracing-mou-draft"').replace(
        "effective_from = 2018-05-09", "effective_from = 2018-04-01"
    )
    _draft(tmp_path, bad, "bad.toml")
    packs = load_packs(tmp_path)
    assert "tracing-mou-draft" not in packs.agreements
    assert "tracing-mou" in packs.agreements and len(packs.agreements) == 8
    assert [p.file for p in packs.problems] == [str(tmp_path / "bad.toml")]


def test_a_duplicate_agreement_id_is_refused(tmp_path: Path) -> None:
    _draft(tmp_path, GOOD, "copy.toml")
    packs = load_packs(tmp_path)
    assert packs.agreements["tracing-mou"].source_file == str(PACKS_DIR / "tracing-mou.toml")
    assert "already loaded" in packs.problems[0].message


def test_a_suspended_version_queues_requests(tmp_path: Path) -> None:
    offender = TraceRequest(
        "home-office",
        frozenset({"name"}),
        purpose="trace_for_deportation",
        category="foreign_national_offender",
        deportation_considered=True,
        qualifying_sentence_months=18,
        alternatives_exhausted=True,
    )
    narrowed = load_packs().agreements["tracing-mou-narrowed"]
    assert decide(offender, dt.date(2018, 6, 1), narrowed).outcome is Outcome.PERMIT
    text = NARROWED.replace("suspended = false", "suspended = true").replace(
        'id = "tracing-mou-narrowed"', 'id = "tracing-mou-suspended"'
    )
    _draft(tmp_path, text, "suspended.toml")
    packs = load_packs(tmp_path)
    assert packs.problems == []
    decision = decide(offender, dt.date(2018, 6, 1), packs.agreements["tracing-mou-suspended"])
    assert decision.outcome is Outcome.QUEUE
    assert decision.released_fields == frozenset()
    assert decision.unmet[0].text.startswith("Version 2.1 is suspended pending review")


def test_hash_changes_when_a_clause_changes_and_not_when_layout_does(tmp_path: Path) -> None:
    base = load_packs().agreements["tracing-mou"].versions[0].content_hash
    reflowed = GOOD.replace("# Dates:", "#\n# Dates:")
    _draft(tmp_path, reflowed.replace('id = "tracing-mou"', 'id = "x"'), "a.toml")
    edited = GOOD.replace("public interest test", "public-interest test")
    _draft(tmp_path, edited.replace('id = "tracing-mou"', 'id = "y"'), "b.toml")
    packs = load_packs(tmp_path).agreements
    assert packs["x"].versions[0].compute_hash() != base  # the id is part of the content
    same_id = packs["x"].versions[0]
    from dataclasses import replace

    assert replace(same_id, agreement="tracing-mou").compute_hash() == base
    changed = replace(packs["y"].versions[0], agreement="tracing-mou")
    assert changed.compute_hash() != base


@pytest.mark.parametrize("key", ["effective_from"])
def test_a_version_without_a_start_is_refused(tmp_path: Path, key: str) -> None:
    text = GOOD.replace("effective_from = 2017-01-01\n", "")
    problems = check_file(_draft(tmp_path, text))
    assert any(f"missing '{key}'" in p.message for p in problems)


# --- issue 19.11: a version states its legal basis, or it does not load -------------------


def _without_block(text: str, header: str, first_only: bool = True) -> str:
    """``text`` without the first TOML table ``header`` (up to the next table header)."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == header)
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines)
    )
    return "".join(lines[:start] + lines[end:])


def test_a_version_without_a_legal_basis_is_refused_with_its_line(tmp_path: Path) -> None:
    text = _without_block(GOOD, "[version.legal_basis]")
    [problem] = check_file(_draft(tmp_path, text))
    assert problem.line == _exact_line(text, "[[version]]")  # version 1's table
    assert problem.message.startswith("version 1 states no legal basis")
    packs = load_packs(tmp_path)  # the shipped tracing-mou is still the one in force
    assert packs.agreements["tracing-mou"].source_file == str(PACKS_DIR / "tracing-mou.toml")


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("gateway", "'gateway' must be non-empty text"),
        ("public_interest_document", "'public_interest_document' must be non-empty text"),
        ("public_interest_approver", "'public_interest_approver' must be non-empty text"),
        ("review_date", "missing 'review_date'"),
    ],
)
def test_each_part_of_the_legal_basis_is_required(tmp_path: Path, key: str, message: str) -> None:
    lines = GOOD.splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith(f"{key} ="))
    text = "".join(lines[:index] + lines[index + 1 :])
    problems = check_file(_draft(tmp_path, text))
    assert [p.message for p in problems] == [message]
    assert problems[0].line == _exact_line(text, "[version.legal_basis]")


def test_an_empty_lawful_basis_is_refused(tmp_path: Path) -> None:
    start = GOOD.index("lawful_basis = [")
    end = GOOD.index("]\n", start) + 2
    text = GOOD[:start] + "lawful_basis = []\n" + GOOD[end:]
    [problem] = check_file(_draft(tmp_path, text))
    assert problem.line == _exact_line(text, "lawful_basis = []")
    assert problem.message == "version 1 states no lawful basis ('lawful_basis')"


def test_a_version_must_say_whether_a_public_interest_test_is_required(tmp_path: Path) -> None:
    text = GOOD.replace("public_interest_test = true    # NHS Digital", "# NHS Digital", 1)
    [problem] = check_file(_draft(tmp_path, text))
    assert problem.line == _exact_line(text, "[[version]]")
    assert "public_interest_test = true or false" in problem.message


# --- issue 18.1/18.9: structured parties ----------------------------------------------------


def test_a_party_of_an_unknown_kind_is_named_with_its_line(tmp_path: Path) -> None:
    text = GOOD.replace('kind = "home_office"', 'kind = "immigration"', 1)
    [problem] = check_file(_draft(tmp_path, text))
    assert problem.line == _exact_line(text, 'kind = "immigration"')
    assert problem.message.startswith("unknown organisation kind 'immigration'")


def test_a_party_of_an_unknown_role_is_named(tmp_path: Path) -> None:
    text = GOOD.replace('role = "requester"', 'role = "asker"', 1)
    [problem] = check_file(_draft(tmp_path, text))
    assert problem.line == _exact_line(text, 'role = "asker"')
    assert "a party's role is one of" in problem.message


def test_an_agreement_in_force_names_a_requester(tmp_path: Path) -> None:
    text = GOOD.replace('role = "requester"', 'role = "recipient"', 1)
    [problem] = check_file(_draft(tmp_path, text))
    assert 'role = "requester"' in problem.message
    what_if = text.replace('channels = ["trace"]', 'channels = ["trace"]\nwhat_if = true', 1)
    assert check_file(_draft(tmp_path, what_if, "what-if.toml")) == []


def test_the_old_list_of_party_names_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace('channels = ["trace"]', 'channels = ["trace"]\nparties = ["Home Office"]')
    [problem] = check_file(_draft(tmp_path, text))
    assert problem.message == "unknown key 'parties'"


# --- issue 19.6: purposes as codes, with the clause quoted on a wrong one --------------------


def test_a_purpose_clause_must_be_a_clause_of_the_version(tmp_path: Path) -> None:
    text = GOOD.replace('purpose_clause = "1.1"', 'purpose_clause = "9.9"', 1)
    [problem] = check_file(_draft(tmp_path, text))
    assert problem.line == _exact_line(text, 'purpose_clause = "9.9"')
    assert problem.message == "purpose_clause 9.9 is not a clause of version 1"


def test_purposes_without_a_purpose_clause_are_refused(tmp_path: Path) -> None:
    text = GOOD.replace('purpose_clause = "1.1"\n', "", 1)
    [problem] = check_file(_draft(tmp_path, text))
    assert "names no 'purpose_clause'" in problem.message


def test_a_purpose_code_twice_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace(
        'code = "trace_vulnerable_person"', 'code = "trace_immigration_offender"', 1
    )
    [problem] = check_file(_draft(tmp_path, text))
    assert problem.message == "purpose trace_immigration_offender appears twice in version 1"


# --- the shipped packs say what the law and the memorandum said, version by version ----------


def test_tracing_mou_versions_change_where_the_law_or_the_memorandum_changed() -> None:
    mou = load_packs().agreements["tracing-mou"]
    spans = [(v.version, v.effective_from.isoformat(), v.suspended) for v in mou.versions]
    assert spans == [
        ("1", "2017-01-01", False),
        ("1.1", "2017-12-20", False),  # renewed by all three parties
        ("2", "2018-05-09", True),  # narrowed: requests queued (the default reading)
        ("2.1", "2018-05-25", True),  # the Data Protection Act 2018, still suspended
        ("3-withdrawn", "2018-11-09", False),
    ]
    bases = {v.version: " ".join(v.legal_basis.lawful_basis) for v in mou.versions}
    assert "DPA 1998" in bases["1"] and "DPA 1998" in bases["2"]
    assert "Article 6" in bases["2.1"] and "Article 10" in bases["2.1"]
    assert all(v.countersignature == "chief_immigration_officer" for v in mou.versions[:4])


def test_both_readings_of_the_suspension_state_the_conflict() -> None:
    packs = load_packs().agreements
    default, narrowed = packs["tracing-mou"], packs["tracing-mou-narrowed"]
    assert not default.what_if and narrowed.what_if
    for agreement in (default, narrowed):
        text = Path(agreement.source_file).read_text(encoding="utf-8")
        assert "place all requests from them in a queue" in text
        assert "only process requests which meet these revised criteria" in text
        for version in agreement.versions:
            if version.version in ("2", "2.1"):
                assert "CONFLICTS" in version.source
    assert [v.suspended for v in narrowed.versions] == [False, False, False]


def test_police_and_court_packs_state_approval_test_and_countersignature() -> None:
    packs = load_packs().agreements
    police, court = packs["police-crime-exemption"], packs["court-order"]
    for version in police.versions:
        assert (version.approval.value, version.public_interest_test) == ("one_reviewer", True)
        assert version.countersignature == "inspector"
    assert police.versions[-1].purpose_codes == {
        "prevention_or_detection_of_crime",
        "apprehension_or_prosecution_of_offenders",
    }
    for version in court.versions:
        assert (version.approval.value, version.public_interest_test) == ("none", False)
    assert [v.effective_from.isoformat() for v in police.versions][-1] == "2018-05-25"


def test_every_clause_of_the_narrowed_test_cites_its_source() -> None:
    version = load_packs().agreements["tracing-mou"].version_named("2")
    assert version is not None
    assert "Margot James" in version.clause("2.1").source
    assert "NHS Digital" in version.clause("2.2").source and "EIN" in version.clause("2.2").source


def test_every_countersignature_level_is_a_rank_of_its_requesters_ladder() -> None:
    """A pack's countersignature level must name a rung the signatory register knows, or
    every request under it would stop at the procedure check."""
    from caldicott.agreements.core.model import PartyRole
    from caldicott.signatories.core.ranks import canonical_rank

    checked = 0
    for agreement in load_packs().agreements.values():
        for version in agreement.versions:
            if not version.countersignature:
                continue
            for party in version.parties:
                if party.role is PartyRole.REQUESTER:
                    canonical_rank(party.kind, version.countersignature)  # raises if unknown
                    checked += 1
    assert checked >= 8
