"""Agreement versions compiled to Cedar: the schema, the policies, the probes.

Per version, two policy sets:

* the **decision set**: one ``permit`` per alternative rule, the conjunction of
  its conditions (including "the fields asked for are ones this clause
  allows"); one ``forbid`` per forbidding clause. Cedar's semantics give
  default deny and forbid-wins.
* the **probe set**: one ``permit`` per condition clause on its own. It is only
  evaluated after a deny, to learn which conditions held: Cedar reports the
  policies that *applied*, and when no permit applied at all that list is
  empty, so the unmet conditions are the ones whose probe did not apply.

Every clause expression is parsed on its own, must be exactly one policy (a
clause cannot smuggle in a second ``permit``), and is validated against the
schema at load.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import cedarpy

from caldicott.agreements.core.model import AgreementVersion, Clause
from caldicott.agreements.core.vocabulary import Channel

_COMMON = {
    "requested_fields": "Set<String>",
    "patient_restricted": "Bool",
    "request_date": "Long",  # YYYYMMDD
}
CONTEXTS: dict[Channel, dict[str, str]] = {
    Channel.TRACE: {
        "purpose": "String",
        "category": "String",
        "deportation_considered": "Bool",
        "deportation_stage": "String",
        "custodial_sentence_months": "Long",
        "qualifying_sentence_months": "Long",
        "risk_to_public": "Bool",
        "risk_category": "String",
        "alternatives_exhausted": "Bool",
    },
    Channel.STATUS_CHECK: {"purpose": "String", "requester_kind": "String"},
    Channel.DEBT_REFERRAL: {
        "debt_pence": "Long",
        "treatment_date": "Long",
        "invoice_age_days": "Long",
        "paid": "Bool",
        "instalment_plan_agreed": "Bool",
    },
}


def schema_text() -> str:
    """The Cedar schema every pack is validated against (Cedar schema syntax)."""
    lines = ["entity Requester;", "entity Disclosure;"]
    for channel, attrs in CONTEXTS.items():
        fields = ", ".join(f"{k}: {v}" for k, v in {**_COMMON, **attrs}.items())
        lines.append(
            f'action "{channel.value}" appliesTo {{ principal: [Requester], '
            f"resource: [Disclosure], context: {{ {fields} }} }};"
        )
    return "\n".join(lines) + "\n"


SCHEMA_TEXT = schema_text()
SCHEMA = cedarpy.Schema.from_str(SCHEMA_TEXT)
NO_ENTITIES = cedarpy.Entities.from_json_str("[]")


def _scope(version: AgreementVersion) -> str:
    actions = ", ".join(f'Action::"{c.value}"' for c in version.channels)
    return f"principal, action in [{actions}], resource"


def condition_expression(clause: Clause) -> str:
    """The Cedar condition a ``requires`` or ``release`` clause stands for."""
    parts = []
    if clause.release is not None:
        allowed = ", ".join(json.dumps(f) for f in sorted(clause.release))
        parts.append(f"[{allowed}].containsAll(context.requested_fields)")
    if clause.requires is not None:
        parts.append(f"({clause.requires})")
    return " && ".join(parts)


def clause_policy(version: AgreementVersion, clause: Clause) -> str:
    """One clause on its own: a probe ``permit`` for a condition, a ``forbid`` otherwise."""
    if clause.forbids is not None:
        return f'@id("{clause.id}")\nforbid ({_scope(version)})\nwhen {{ {clause.forbids} }};\n'
    expression = condition_expression(clause)
    return f'@id("{clause.id}")\npermit ({_scope(version)})\nwhen {{ {expression} }};\n'


def decision_policies(version: AgreementVersion) -> str:
    """The decision set's Cedar text, readable as it is (``caldicott agreement show --cedar``)."""
    out = []
    for rule in version.rules:
        conditions = " &&\n  ".join(condition_expression(c) for c in version.conditions_of(rule))
        out.append(
            f'@id("permit:{rule}")\npermit ({_scope(version)})\nwhen {{\n  {conditions}\n}};\n'
        )
    out.extend(clause_policy(version, c) for c in version.clauses if c.forbids is not None)
    return "\n".join(out)


def probe_policies(version: AgreementVersion) -> str:
    return "\n".join(clause_policy(version, c) for c in version.clauses if c.is_condition)


def check_clause(version: AgreementVersion, clause: Clause) -> str | None:
    """Why a clause's Cedar is unusable (parse, one-policy rule, schema), or None."""
    if clause.forbids is None and not clause.is_condition:
        return None
    text = clause_policy(version, clause)
    try:
        parsed = cedarpy.PolicySet.from_str(text)
    except ValueError as error:
        return f"malformed Cedar in clause {clause.id}: {error}"
    if len(parsed) != 1:
        return f"clause {clause.id} must hold exactly one Cedar condition"
    result = cedarpy.validate_policies(text, SCHEMA)
    if not result.validation_passed:
        reasons = "; ".join(e.error for e in result.errors)
        return f"Cedar in clause {clause.id} does not fit the schema: {reasons}"
    return None


@dataclass(frozen=True, slots=True)
class CompiledVersion:
    decision_set: Any  # cedarpy.PolicySet
    probe_set: Any | None
    forbid_ids: frozenset[str]
    decision_text: str


_COMPILED: dict[str, CompiledVersion] = {}


def compiled(version: AgreementVersion) -> CompiledVersion:
    """The version's policy sets, parsed once and kept by content hash."""
    key = version.content_hash or version.compute_hash()
    found = _COMPILED.get(key)
    if found is None:
        text = decision_policies(version)
        probes = probe_policies(version)
        found = CompiledVersion(
            decision_set=cedarpy.PolicySet.from_str(text),
            probe_set=cedarpy.PolicySet.from_str(probes) if probes else None,
            forbid_ids=frozenset(c.id for c in version.clauses if c.forbids is not None),
            decision_text=text,
        )
        _COMPILED[key] = found
    return found


def validate_decision_set(version: AgreementVersion) -> list[str]:
    """Schema-validate the assembled decision set (each clause already passed alone)."""
    result = cedarpy.validate_policies(decision_policies(version), SCHEMA)
    return [e.error for e in result.errors]
