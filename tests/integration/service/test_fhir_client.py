"""A generic FHIR client (fhirpy) against a real ``caldicott serve`` on loopback."""

from __future__ import annotations

from fhirpy import SyncFHIRClient

from tests.integration.service.serving import Served


def _client(served: Served) -> SyncFHIRClient:
    return SyncFHIRClient(f"{served.url}/fhir",
                          authorization=f"Bearer {served.world.tokens['tracer']}",
                          extra_headers={"X-Caldicott-Reason": "data-quality"})


def test_fhirpy_limit_sends_count_and_the_search_answers(served: Served) -> None:
    person = served.world.people.overstayer
    found = (_client(served).resources("Patient")
             .search(family=person.family_name, birthdate=person.birth_date.isoformat())
             .limit(5).fetch())
    assert [patient["id"] for patient in found] == [person.nhs_number]


def test_fhirpy_sees_the_search_bundles_self_link_without_the_searched_details(
        served: Served) -> None:
    person = served.world.people.namesake
    bundle = (_client(served).resources("Patient")
              .search(family=person.family_name, birthdate=person.birth_date.isoformat())
              .limit(5).fetch_raw())
    assert bundle["total"] == 2  # the namesake and the twin who shares name and birthday
    assert bundle["link"] == [{"relation": "self", "url": f"{served.url}/fhir/Patient"}]
