"""Where synthetic people live: real postcode areas of England, Wales and the
Isle of Man (the Personal Demographics Service's reach), each with its post
town, a plausible district range and a rough population weight; streets; GP
practices with ODS-shaped codes; and each area's integrated care board code.

Postcodes are real-shaped, not real: the outward code (area + district) is a
real area with a district in its range; the inward code is a sector digit and
two unit letters from the alphabet Royal Mail uses (no C, I, K, M, O, V).
Care board codes are the ODS codes of the ICBs (Welsh health boards: 7A*)
covering each area, as best known; they are illustrative, not authoritative.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from caldicott.register.records import GPPractice
from caldicott.synth.names import Weighted

# area: (post town, highest district number, population weight in thousands, ICB code)
_AREAS: dict[str, tuple[str, int, int, str]] = {
    "AL": ("St Albans", 10, 250, "QM7"), "B": ("Birmingham", 98, 1600, "QHL"),
    "BA": ("Bath", 22, 450, "QOX"), "BB": ("Blackburn", 18, 500, "QE1"),
    "BD": ("Bradford", 24, 600, "QWO"), "BH": ("Bournemouth", 31, 600, "QVV"),
    "BL": ("Bolton", 9, 350, "QOP"), "BN": ("Brighton", 45, 1100, "QNX"),
    "BR": ("Bromley", 8, 330, "QKK"), "BS": ("Bristol", 41, 900, "QUY"),
    "CA": ("Carlisle", 28, 300, "QHM"), "CB": ("Cambridge", 25, 500, "QUE"),
    "CF": ("Cardiff", 83, 900, "7A4"), "CH": ("Chester", 66, 500, "QYG"),
    "CM": ("Chelmsford", 24, 800, "QH8"), "CO": ("Colchester", 16, 400, "QJG"),
    "CR": ("Croydon", 9, 500, "QWE"), "CT": ("Canterbury", 21, 400, "QKS"),
    "CV": ("Coventry", 47, 700, "QWU"), "CW": ("Crewe", 12, 400, "QYG"),
    "DA": ("Dartford", 18, 430, "QKS"), "DE": ("Derby", 75, 750, "QJ2"),
    "DH": ("Durham", 9, 300, "QHM"), "DL": ("Darlington", 17, 250, "QHM"),
    "DN": ("Doncaster", 41, 850, "QF7"), "DT": ("Dorchester", 11, 200, "QVV"),
    "DY": ("Dudley", 14, 450, "QUA"), "E": ("London", 18, 1100, "QMF"),
    "EN": ("Enfield", 11, 350, "QMJ"), "EX": ("Exeter", 39, 700, "QJK"),
    "FY": ("Blackpool", 8, 300, "QE1"), "GL": ("Gloucester", 56, 600, "QR1"),
    "GU": ("Guildford", 52, 800, "QXU"), "HA": ("Harrow", 9, 550, "QRV"),
    "HD": ("Huddersfield", 9, 450, "QWO"), "HG": ("Harrogate", 5, 150, "QOQ"),
    "HP": ("Hemel Hempstead", 27, 500, "QU9"), "HR": ("Hereford", 9, 180, "QGH"),
    "HU": ("Hull", 20, 550, "QOQ"), "HX": ("Halifax", 7, 200, "QWO"),
    "IG": ("Ilford", 11, 450, "QMF"), "IM": ("Isle of Man", 9, 80, ""),
    "IP": ("Ipswich", 33, 650, "QJG"), "KT": ("Kingston upon Thames", 24, 680, "QXU"),
    "L": ("Liverpool", 40, 900, "QYG"), "LA": ("Lancaster", 23, 300, "QE1"),
    "LD": ("Llandrindod Wells", 8, 50, "7A7"), "LE": ("Leicester", 67, 1000, "QK1"),
    "LL": ("Llandudno", 78, 500, "7A1"), "LN": ("Lincoln", 13, 400, "QJM"),
    "LS": ("Leeds", 29, 850, "QWO"), "LU": ("Luton", 7, 350, "QHG"),
    "M": ("Manchester", 50, 1300, "QOP"), "ME": ("Rochester", 20, 650, "QKS"),
    "MK": ("Milton Keynes", 46, 450, "QHG"), "N": ("London", 22, 800, "QMJ"),
    "NE": ("Newcastle upon Tyne", 71, 900, "QHM"), "NG": ("Nottingham", 34, 1000, "QT1"),
    "NN": ("Northampton", 18, 650, "QPM"), "NP": ("Newport", 44, 550, "7A6"),
    "NR": ("Norwich", 35, 800, "QMM"), "NW": ("London", 11, 850, "QRV"),
    "OL": ("Oldham", 16, 450, "QOP"), "OX": ("Oxford", 49, 650, "QU9"),
    "PE": ("Peterborough", 38, 950, "QUE"), "PL": ("Plymouth", 35, 500, "QJK"),
    "PO": ("Portsmouth", 41, 600, "QRL"), "PR": ("Preston", 26, 600, "QE1"),
    "RG": ("Reading", 45, 850, "QU9"), "RH": ("Redhill", 20, 500, "QNX"),
    "RM": ("Romford", 20, 560, "QMF"), "S": ("Sheffield", 45, 1000, "QF7"),
    "SA": ("Swansea", 73, 800, "7A3"), "SE": ("London", 28, 1300, "QKK"),
    "SG": ("Stevenage", 19, 450, "QM7"), "SK": ("Stockport", 23, 600, "QOP"),
    "SL": ("Slough", 9, 450, "QU9"), "SM": ("Sutton", 7, 190, "QWE"),
    "SN": ("Swindon", 26, 500, "QOX"), "SO": ("Southampton", 53, 700, "QRL"),
    "SP": ("Salisbury", 11, 250, "QOX"), "SR": ("Sunderland", 8, 350, "QHM"),
    "SS": ("Southend-on-Sea", 17, 550, "QH8"), "ST": ("Stoke-on-Trent", 21, 700, "QNC"),
    "SW": ("London", 20, 900, "QWE"), "SY": ("Shrewsbury", 25, 450, "QOC"),
    "TA": ("Taunton", 24, 350, "QSL"), "TF": ("Telford", 13, 200, "QOC"),
    "TN": ("Tonbridge", 40, 750, "QKS"), "TQ": ("Torquay", 14, 300, "QJK"),
    "TR": ("Truro", 27, 400, "QT6"), "TS": ("Middlesbrough", 29, 700, "QHM"),
    "TW": ("Twickenham", 20, 600, "QRV"), "UB": ("Southall", 11, 440, "QRV"),
    "W": ("London", 14, 700, "QRV"), "WA": ("Warrington", 16, 650, "QYG"),
    "WD": ("Watford", 25, 260, "QM7"), "WF": ("Wakefield", 17, 600, "QWO"),
    "WN": ("Wigan", 8, 350, "QOP"), "WR": ("Worcester", 15, 300, "QGH"),
    "WS": ("Walsall", 15, 450, "QUA"), "WV": ("Wolverhampton", 16, 450, "QUA"),
    "YO": ("York", 62, 550, "QOQ"),
    "EC": ("London", 0, 20, "QMJ"), "WC": ("London", 0, 20, "QMJ"),
}
# Central London districts are lettered (EC1A, SW1A, W1D…); 0 districts above means "only these".
_LETTERED = {
    "EC": "EC1A EC1M EC1N EC1R EC1V EC1Y EC2A EC2M EC2N EC2R EC2V EC2Y EC3A EC3M EC3N EC3R "
          "EC3V EC4A EC4M EC4N EC4R EC4V EC4Y",
    "WC": "WC1A WC1B WC1E WC1H WC1N WC1R WC1V WC1X WC2A WC2B WC2E WC2H WC2N WC2R",
    "SW": "SW1A SW1E SW1H SW1P SW1V SW1W SW1X SW1Y",
    "W": "W1B W1C W1D W1F W1G W1H W1J W1K W1S W1T W1U W1W",
    "E": "E1W E20", "N": "N1C",
}
# Royal Mail's unit letters: never C, I, K, M, O or V.
_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
# The NHS's pseudo-postcode for a patient of no fixed abode.
NO_FIXED_ABODE = "ZZ99 3VZ"


def _listed(text: str) -> list[str]:
    return [item.strip() for item in text.split(",")]


_STREET_STEMS = _listed(
    "High, Church, Station, Mill, Park, Victoria, Queens, Kings, Albert, Manor, Grange, Chapel, "
    "School, Green, Hill, London, Bridge, New, North, South, West, East, Main, Market, Castle, "
    "Abbey, Elm, Oak, Ash, Beech, Willow, Cedar, Birch, Holly, Rose, Meadow, Orchard, "
    "Springfield, Windsor, York, Stanley, Richmond, Highfield, Fairfield, Brook, Moor, "
    "Westfield, Wellington, Nelson, Alexandra, St Johns, St Marys, Cemetery, Hall, Wood, Farm, "
    "Cross, Broad, Long, Ladywell, Canal, Cromwell"
)
_STREET_SUFFIXES = Weighted(
    _listed("Road, Street, Lane, Avenue, Close, Drive, Way, Gardens, Crescent, Grove, Place, "
            "Terrace, Court, View, Walk, Rise, Mews, Square"),
    [30, 25, 10, 8, 7, 5, 4, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1],
)
_LOCALITIES = _listed("Northside, Southfield, Westwood, Eastgate, Hillside, Parkside, Newtown, "
                      "Oldtown, Riverside, Woodlands, Meadowbank, Church End, Upper Green")


@dataclass(frozen=True, slots=True)
class Area:
    code: str
    town: str
    districts: tuple[str, ...]
    care_board: str


def _areas() -> tuple[list[Area], Weighted]:
    table = []
    for code, (town, top, _, board) in _AREAS.items():
        lettered = tuple(_LETTERED.get(code, "").split())
        first = 2 if code in ("SW", "W") else 1  # SW1 and W1 exist only lettered
        numbered = tuple(f"{code}{n}" for n in range(first, top + 1))
        table.append(Area(code, town, lettered + numbered, board))
    return table, Weighted([a.code for a in table], [float(v[2]) for v in _AREAS.values()])


AREAS, AREA_CHOICE = _areas()
AREA_BY_CODE = {a.code: a for a in AREAS}


def postcode_in(area: Area, rng: Random, district: str | None = None) -> str:
    """A real-shaped postcode in an area (optionally a given district)."""
    outward = district or area.districts[int(rng.random() * len(area.districts))]
    letters = _UNIT_LETTERS
    return (f"{outward} {int(rng.random() * 10)}"
            f"{letters[int(rng.random() * 20)]}{letters[int(rng.random() * 20)]}")


def street(rng: Random, surnames: Weighted) -> str:
    """A British street name: a common stem or a surname, and a suffix."""
    stem = _STREET_STEMS[int(rng.random() * len(_STREET_STEMS))] if rng.random() < 0.6 \
        else surnames.pick(rng)
    suffix = _STREET_SUFFIXES.pick(rng)
    return f"{stem} Street" if stem == "High" and suffix == "Road" else f"{stem} {suffix}"


def address_lines(rng: Random, surnames: Weighted) -> tuple[str, str]:
    """Line 1 and line 2 of a home address: a house or a flat, sometimes a locality."""
    road = f"{1 + int(rng.random() ** 2 * 180)} {street(rng, surnames)}"
    roll = rng.random()
    if roll < 0.18:
        return f"Flat {1 + int(rng.random() * 24)}", road
    if roll < 0.30:
        return road, _LOCALITIES[int(rng.random() * len(_LOCALITIES))]
    return road, ""


# ODS practice codes start with a letter for the region (Welsh practices: W).
_REGION_LETTER = {"QHM": "A", "QOQ": "B", "QWO": "B", "QF7": "C", "QT1": "C", "QJ2": "C",
                  "QK1": "C", "QJM": "C", "QOP": "P", "QYG": "N", "QE1": "P", "QHL": "M",
                  "QUA": "M", "QWU": "M", "QNC": "M", "QOC": "M", "QGH": "M"}
_PRACTICE_STYLES = ("{street} Surgery", "{town} Medical Centre", "The {stem} Practice",
                    "{stem} Health Centre", "Dr {surname} and Partners", "{stem} Family Practice",
                    "{street} Medical Practice")


def _region_letter(area: Area) -> str:
    if area.care_board.startswith("7A"):
        return "W"
    if area.town == "London" or area.code in ("BR", "CR", "DA", "EN", "HA", "IG", "KT", "RM",
                                              "SM", "TW", "UB"):
        return "F" if area.code < "N" else "H"
    return _REGION_LETTER.get(area.care_board, "J" if area.code < "M" else "K")


def gp_practices(seed: int, surnames: Weighted) -> dict[str, list[GPPractice]]:
    """A fixed set of GP practices for each area, about one per 9,000 residents.

    The set depends only on the seed, so every person of a register draws from it.
    """
    rng = Random(f"gp-practices-{seed}")
    practices: dict[str, list[GPPractice]] = {}
    used: set[str] = set()
    for area in AREAS:
        count = max(2, _AREAS[area.code][2] // 45)  # fewer than the real ~1 per 9,000
        practices[area.code] = [_practice(area, rng, surnames, used) for _ in range(count)]
    return practices


def _practice(area: Area, rng: Random, surnames: Weighted, used: set[str]) -> GPPractice:
    letter = _region_letter(area)
    code = ""
    while not code or code in used:
        code = f"{letter}{rng.randrange(81001, 99999)}"
    used.add(code)
    road = street(rng, surnames)
    stem = road.rsplit(" ", 1)[0]
    name = rng.choice(_PRACTICE_STYLES).format(street=road, town=area.town, stem=stem,
                                               surname=surnames.pick(rng))
    place = f"{1 + rng.randrange(120)} {road}, {area.town}, {postcode_in(area, rng)}"
    return GPPractice(code, name, place)
