"""Synthetic people: valid, realistic, deterministic, streamed."""

from __future__ import annotations

import itertools
import re
import tracemalloc
from collections import Counter
from pathlib import Path

import nhs_number
from faker.providers.person.en_GB import Provider as BritishNames

from caldicott.register.csv_io import write_register_csv
from caldicott.register.records import PatientRecord, check_record, normalise_postcode
from caldicott.synth import generate_people
from caldicott.synth.files import read_people
from caldicott.synth.names import is_name, origins
from caldicott.synth.people import AS_OF, NhsNumbers, strip_accents
from caldicott.synth.places import NO_FIXED_ABODE


def test_same_seed_gives_the_same_people() -> None:
    assert list(generate_people(500, seed=3)) == list(generate_people(500, seed=3))


def test_another_seed_gives_other_people() -> None:
    first, second = list(generate_people(50, seed=3)), list(generate_people(50, seed=4))
    assert {p.nhs_number for p in first}.isdisjoint({p.nhs_number for p in second}) or \
        [p.family_name for p in first] != [p.family_name for p in second]


def test_makes_exactly_n_people_even_when_the_last_is_a_twin() -> None:
    for n in (1, 2, 3, 17, 1000):
        assert sum(1 for _ in generate_people(n, seed=5)) == n


def test_every_person_passes_the_register_checks(register: list[PatientRecord]) -> None:
    for person in register:
        check_record(person, today=AS_OF)


def test_nhs_numbers_are_valid_distinct_and_from_the_test_range(
        register: list[PatientRecord]) -> None:
    numbers = [p.nhs_number for p in register]
    assert len(set(numbers)) == len(numbers)
    assert all(n.startswith("999") and nhs_number.is_valid(n) for n in numbers)


def test_nhs_numbers_move_to_the_next_test_block_when_999_runs_out() -> None:
    numbers = NhsNumbers(seed=1)
    numbers._index = 999_990  # near the end of the 999 block
    drawn = [next(numbers) for _ in range(12)]
    assert any(n.startswith("998") for n in drawn)
    assert all(nhs_number.is_valid(n) for n in drawn)


def test_postcodes_are_real_shaped_and_normalised(register: list[PatientRecord]) -> None:
    outward = re.compile(r"^(?:[A-Z]{1,2}\d{1,2}|[A-Z]{1,2}\d[A-Z]) \d[ABD-HJLNP-UW-Z]{2}$")
    for person in register:
        for address in person.addresses:
            assert normalise_postcode(address.postcode) == address.postcode
            assert outward.match(address.postcode) or address.postcode == NO_FIXED_ABODE


def test_address_history_is_ordered_with_one_open_last_address(
        register: list[PatientRecord]) -> None:
    for person in register:
        addresses = person.addresses
        assert addresses and addresses[-1].to_date is None
        assert all(a.to_date is not None for a in addresses[:-1])
        for earlier, later in itertools.pairwise(addresses):
            assert earlier.to_date is not None and later.from_date is not None
            assert earlier.to_date < later.from_date
        assert addresses[0].from_date is not None and addresses[0].from_date >= person.birth_date
        if person.death_date:
            assert addresses[-1].from_date <= person.death_date  # type: ignore[operator]


def test_gp_practices_have_ods_shaped_codes(register: list[PatientRecord]) -> None:
    practices = {p.gp for p in register if p.gp}
    assert len(practices) > 500
    assert all(re.fullmatch(r"[A-Z]\d{5}", gp.code) and gp.name and gp.address
               for gp in practices)
    assert sum(p.gp is None for p in register) / len(register) < 0.1


def test_registration_follows_birth(register: list[PatientRecord]) -> None:
    assert all(p.registered_on and p.birth_date <= p.registered_on < AS_OF for p in register)


def test_common_british_surnames_are_common(register: list[PatientRecord]) -> None:
    top = [name for name, _ in Counter(p.family_name for p in register).most_common(5)]
    assert "Smith" in top
    assert Counter(p.family_name for p in register)["Smith"] > 100  # ~1% of the register


def test_names_come_from_many_origins(register: list[PatientRecord]) -> None:
    british = set(BritishNames.last_names) | {p.previous_names[0].family for p in register
                                              if p.previous_names}
    foreign = [p for p in register if p.family_name.split("-")[0] not in british]
    assert 0.12 < len(foreign) / len(register) < 0.45
    assert any("ł" in p.family_name or "ą" in p.family_name for p in register)  # Polish
    assert any(p.given_name.startswith(("Mohammed", "Muhammad", "Mohamed")) for p in register)


def test_proportions_are_roughly_realistic(register: list[PatientRecord]) -> None:
    n = len(register)
    share = {
        "female": sum(p.sex == "female" for p in register) / n,
        "dead": sum(p.death_date is not None for p in register) / n,
        "restricted": sum(p.restricted for p in register) / n,
        "moved": sum(len(p.addresses) > 1 for p in register) / n,
        "previous name": sum(bool(p.previous_names) for p in register) / n,
        "no fixed abode": sum(p.addresses[-1].postcode == NO_FIXED_ABODE for p in register) / n,
    }
    assert 0.46 < share["female"] < 0.54, share
    assert 0.005 < share["dead"] < 0.06, share
    assert 0.002 < share["restricted"] < 0.01, share
    assert 0.25 < share["moved"] < 0.7, share
    assert 0.05 < share["previous name"] < 0.25, share
    assert 0.0005 < share["no fixed abode"] < 0.01, share


def test_some_people_share_name_and_date_of_birth(register: list[PatientRecord]) -> None:
    keys = Counter((p.given_name, p.family_name, p.birth_date) for p in register)
    assert sum(count for count in keys.values() if count > 1) > 40


def test_twins_share_family_name_birthday_and_home(register: list[PatientRecord]) -> None:
    homes = Counter((p.family_name, p.birth_date, p.addresses[-1].postcode) for p in register)
    assert sum(1 for count in homes.values() if count > 1) > 20


def test_migrants_often_carry_1_january_as_birthday(register: list[PatientRecord]) -> None:
    january_first = sum(p.birth_date.month == 1 and p.birth_date.day == 1 for p in register)
    assert january_first > 3 * len(register) / 365


def test_generation_streams_in_flat_memory() -> None:
    tracemalloc.start()
    count = sum(1 for _ in generate_people(1_000, seed=2))
    _, small = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    count += sum(1 for _ in generate_people(5_000, seed=2))
    _, large = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 6_000
    assert large < small * 1.5  # five times the people, about the same memory


def test_register_csv_reads_back_as_the_same_people(tmp_path: Path) -> None:
    people = list(generate_people(300, seed=9))
    path = tmp_path / "register.csv"
    assert write_register_csv(people, path) == 300
    assert list(read_people(path)) == people


def test_every_name_the_generator_can_draw_is_one_the_register_accepts() -> None:
    table, _ = origins()
    for origin in table:
        names = [*origin.male._items, *origin.female._items, *origin.family._items,
                 *(origin.female_family or {}).values()]
        refused = [n for n in names if not is_name(n) or not is_name(strip_accents(n))]
        assert not refused, (origin.name, refused[:5])


def test_a_small_share_of_people_have_one_name_as_pds_holds_them(
        register: list[PatientRecord]) -> None:
    one_name = [p for p in register if not p.given_name]
    assert 0.001 < len(one_name) / len(register) < 0.01
    for person in one_name:
        assert person.family_name and check_record(person, today=AS_OF) == person
        assert all(not n.given for n in person.previous_names)
