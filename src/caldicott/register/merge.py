"""How an incoming record joins what the register already holds (pure).

An import is a stream of observations of patients. Each is merged into the
patient's current record: the open address moves into history when a new one
arrives, a changed name becomes a previous name, and a record that contradicts
the register (another date of birth for the same NHS number) is refused.
Merging the same observation twice changes nothing, which is what makes an
import idempotent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from caldicott.register.records import Address, PatientRecord, PreviousName, RecordError


def _address_key(address: Address) -> tuple[str, str, dt.date | None]:
    return (address.line1, address.postcode, address.from_date)


def _chronological(addresses: list[Address]) -> tuple[Address, ...]:
    # Open addresses last; otherwise by start, then end. Stable, so a file's own
    # order survives where dates do not decide.
    return tuple(sorted(addresses, key=lambda a: (
        a.to_date is None, a.from_date or dt.date.min, a.to_date or dt.date.max)))


def merge_addresses(history: tuple[Address, ...], incoming: tuple[Address, ...],
                    today: dt.date) -> tuple[Address, ...]:
    """Add incoming addresses to a history, closing the open one when a new one opens.

    Example:
        >>> old = Address("1 High St", "", "Leeds", "LS1 1AA", dt.date(2010, 1, 1))
        >>> new = Address("2 Low Rd", "", "York", "YO1 1AA", dt.date(2015, 6, 1))
        >>> [a.to_date for a in merge_addresses((old,), (new,), dt.date(2020, 1, 1))]
        [datetime.date(2015, 6, 1), None]
    """
    merged = list(history)
    for address in incoming:
        key = _address_key(address)
        same = next((i for i, a in enumerate(merged) if _address_key(a) == key), None)
        if same is not None:
            merged[same] = address
            continue
        if address.to_date is None:
            closing = address.from_date or today
            merged = [dataclasses.replace(a, to_date=closing) if a.to_date is None else a
                      for a in merged]
        merged.append(address)
    return _chronological(merged)


def _merge_names(existing: PatientRecord, incoming: PatientRecord) -> tuple[PreviousName, ...]:
    names = list(existing.previous_names)
    current = PreviousName(existing.given_name, existing.family_name)
    renamed = (incoming.given_name, incoming.family_name) != (current.given, current.family)
    for name in (*incoming.previous_names, *([current] if renamed else [])):
        if name not in names and name != PreviousName(incoming.given_name, incoming.family_name):
            names.append(name)
    return tuple(names)


def merge_record(existing: PatientRecord | None, incoming: PatientRecord,
                 today: dt.date | None = None) -> PatientRecord:
    """The register's record after it sees ``incoming``.

    Raises:
        RecordError: when ``incoming`` contradicts the register for the same NHS number.
    """
    today = today or dt.date.today()
    if existing is None:
        addresses = merge_addresses((), incoming.addresses, today)
        if addresses == incoming.addresses:
            return incoming
        return dataclasses.replace(incoming, addresses=addresses)
    if incoming.birth_date != existing.birth_date:
        raise RecordError(
            f"contradicts the register: NHS number {incoming.nhs_number} has date of birth "
            f"{existing.birth_date.isoformat()}, not {incoming.birth_date.isoformat()}")
    if existing.death_date and incoming.death_date and incoming.death_date != existing.death_date:
        raise RecordError(
            f"contradicts the register: NHS number {incoming.nhs_number} has date of death "
            f"{existing.death_date.isoformat()}, not {incoming.death_date.isoformat()}")
    return dataclasses.replace(
        incoming,
        previous_names=_merge_names(existing, incoming),
        addresses=merge_addresses(existing.addresses, incoming.addresses, today),
        death_date=incoming.death_date or existing.death_date,
        gp=incoming.gp or existing.gp,
        primary_care_area=incoming.primary_care_area or existing.primary_care_area,
        registered_on=incoming.registered_on or existing.registered_on,
    )
