"""The seeds' 57 organisations that signed a memorandum for the checking service: 51 NHS
trusts, 3 local authorities and 3 housing associations (the seeds say 6 "local
authorities and housing associations"; the split is ASSUMED [U]). Names are invented.

Each signed on its own date (the dates were not published: these are ASSUMED [U],
drawn with a fixed seed): a handful when the service opened in September 2016, most
through 2017 and 2018, the last before April 2019 (by when all 57 had signed).
"""

from __future__ import annotations

import datetime as dt
import random

from caldicott.errors import Conflict

TOWNS = (
    "Riverside", "Hillcrest", "Ashbourne", "Brookfield", "Castleford", "Dunmore", "Eastwick",
    "Fairholme", "Greystone", "Harlow Vale", "Ironbridge", "Juniper", "Kingsmead", "Longmoor",
    "Marshfield", "Northgate", "Oakhurst", "Pennington", "Queensbury", "Redcliffe", "Saltmarsh",
    "Thornbury", "Upperton", "Valebridge", "Westmoor", "Yarrow", "Ambleford", "Beckton Cross",
    "Coldharbour", "Dovecote", "Elmstead", "Foxley", "Glenholt", "Hawksmoor", "Ivybridge Demo",
    "Kestrel", "Lindenford", "Millbrook", "Netherby", "Orchardleigh", "Pinewood", "Ravensdale",
    "Stonebury", "Tidewell", "Underhill", "Wren Valley", "Amberley", "Birchwood", "Copperfield",
    "Drayton Demo", "Everleigh",
)
SERVICE_OPENED = dt.date(2016, 9, 1)
LAST_SIGNING = dt.date(2019, 3, 31)


def checking_organisations() -> list[tuple[str, str, str]]:
    """(code, name, kind) of the 57 signatories. RDM01, RDM02, LADM1 and HADM1 are the
    demo world's existing bodies (same names)."""
    trusts = [(f"RDM{i:02d}", f"{town} Demo NHS {'Foundation ' if i % 3 == 1 else ''}Trust",
               "nhs_trust") for i, town in enumerate(TOWNS, start=1)]
    trusts[1] = ("RDM02", "Hillcrest Demo NHS Trust", "nhs_trust")
    councils = [("LADM1", "Demoshire County Council", "local_authority"),
                ("LADM2", "Northvale Demo Borough Council", "local_authority"),
                ("LADM3", "Southmere Demo District Council", "local_authority")]
    housing = [("HADM1", "Demo Homes Housing Association", "housing_association"),
               ("HADM2", "Valley Demo Housing Trust", "housing_association"),
               ("HADM3", "Harbour Demo Homes", "housing_association")]
    return trusts + councils + housing


def signing_dates(seed: int = 2016) -> dict[str, dt.date]:
    """Each organisation's memorandum date: 8 in September 2016 (RDM01 on the first day),
    the rest spread over October 2016 to March 2019."""
    rng = random.Random(seed)
    codes = [code for code, _, _ in checking_organisations()]
    dates = {code: SERVICE_OPENED + dt.timedelta(days=rng.randrange(30)) for code in codes[:8]}
    dates["RDM01"] = SERVICE_OPENED
    span = (LAST_SIGNING - dt.date(2016, 10, 1)).days
    for code in codes[8:]:
        offset = int(rng.triangular(0, span, span * 0.3))
        dates[code] = dt.date(2016, 10, 1) + dt.timedelta(days=offset)
    return dates


def add_checking_world(session: object) -> tuple[int, int]:
    """Add the 57 organisations (those missing) and their memoranda (those unsigned).
    Returns (organisations added, memoranda added)."""
    from sqlalchemy.orm import Session

    from caldicott.checking.service import sign_memorandum
    from caldicott.orgs import repository as orgs

    assert isinstance(session, Session)
    added_orgs = added_memos = 0
    dates = signing_dates()
    for code, name, kind in checking_organisations():
        if orgs.get_by_code(session, code) is None:
            orgs.add(session, code, name, kind)
            added_orgs += 1
        try:
            sign_memorandum(session, code, dates[code], f"IECAS-MOU-{code}")
            added_memos += 1
        except Conflict:
            pass
    return added_orgs, added_memos
