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
        "debt-referral",
        "firewall",
        "tracing-mou",
    ]
    for file in PACKS_DIR.glob("*.toml"):
        assert check_file(file) == []


def test_malformed_cedar_is_named_with_its_line(tmp_path: Path) -> None:
    text = GOOD.replace(
        'requires = "context.deportation_considered"',
        'requires = "context.deportation_considered &&"',
    )
    path = _draft(tmp_path, text)
    [problem] = check_file(path)
    assert problem.file == str(path)
    assert problem.line == _line_of(text, "context.deportation_considered &&")
    assert "malformed Cedar in clause 2.1" in problem.message


def test_cedar_that_does_not_fit_the_schema_is_named(tmp_path: Path) -> None:
    text = GOOD.replace(
        'requires = "context.deportation_considered"', 'requires = "context.sentence_length >= 12"'
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
        "version 2 (from 2018-04-01) overlaps version 1 (2017-01-01 to 2018-05-09)"
        in problem.message
    )


def test_a_clause_with_no_text_is_named(tmp_path: Path) -> None:
    text = GOOD.replace(
        'text = """The person is being considered for deportation action."""', 'text = ""'
    )
    [problem] = check_file(_draft(tmp_path, text))
    assert problem.line == _exact_line(text, 'text = ""')
    assert problem.message == "clause 2.1 has no text"


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
        GOOD.replace(
            'text = """The person is being considered for deportation action."""', 'text = ""'
        )
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
    assert "tracing-mou" in packs.agreements and len(packs.agreements) == 4
    assert [p.file for p in packs.problems] == [str(tmp_path / "bad.toml")]


def test_a_duplicate_agreement_id_is_refused(tmp_path: Path) -> None:
    _draft(tmp_path, GOOD, "copy.toml")
    packs = load_packs(tmp_path)
    assert packs.agreements["tracing-mou"].source_file == str(PACKS_DIR / "tracing-mou.toml")
    assert "already loaded" in packs.problems[0].message


def test_a_suspended_version_queues_requests(tmp_path: Path) -> None:
    text = GOOD.replace('version = "2"\n', 'version = "2"\nsuspended = true\n').replace(
        'id = "tracing-mou"', 'id = "tracing-mou-suspended"'
    )
    _draft(tmp_path, text, "suspended.toml")
    packs = load_packs(tmp_path)
    assert packs.problems == []
    offender = TraceRequest(
        "home-office",
        frozenset({"name"}),
        category="foreign_national_offender",
        deportation_considered=True,
        custodial_sentence_months=18,
        alternatives_exhausted=True,
    )
    decision = decide(offender, dt.date(2018, 6, 1), packs.agreements["tracing-mou-suspended"])
    assert decision.outcome is Outcome.QUEUE
    assert decision.released_fields == frozenset()
    assert decision.unmet[0].text.startswith("Version 2 is suspended pending review")


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
