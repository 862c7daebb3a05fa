"""The shape of a UK postcode, once, for everything that reads or looks for one (pure).

A postcode is an outward code (area letters and district, ``SW1A``) and an
inward code (sector digit and unit letters, ``2AA``). Whether it exists needs
the ONS directory, which caldicott does not hold; the shape is what the
register checks at import, what matching splits into sector and district, and
what the ledger and organisation codes refuse in the clear.

Example:
    >>> COMPACT.match("SW1A2AA").groups()
    ('SW1A', '2', 'AA')
    >>> SPACED_OR_NOT.match("SW1A 2AA").groups()
    ('SW1A', '2AA')
    >>> bool(IN_TEXT.search("seen at sw1a 2aa"))
    True
"""

from __future__ import annotations

import re


def _parts(digit: str) -> tuple[str, str, str]:
    """Outward code, sector digit, unit letters, with ``digit`` as the digit class."""
    return f"[A-Z]{{1,2}}[{digit}][A-Z{digit}]?", f"[{digit}]", "[A-Z]{2}"


OUTWARD, SECTOR, UNIT = _parts("0-9")
#: No space (matching's compact form): groups outward code, sector digit, unit.
COMPACT = re.compile(f"^({OUTWARD})({SECTOR})({UNIT})$")
#: With or without its one space (the register's import): groups outward, inward.
SPACED_OR_NOT = re.compile(f"^({OUTWARD}) ?({SECTOR}{UNIT})$")
#: Exactly as the register stores it, with one space (``fullmatch`` it).
CANONICAL = re.compile(f"{OUTWARD} {SECTOR}{UNIT}")
#: :data:`CANONICAL` for DuckDB's RE2: groups outward code and sector digit.
CANONICAL_SQL = f"^({OUTWARD}) ({SECTOR}){UNIT}$"

# Free text is searched wider: any case, any spacing, and any script's digits, since
# a postcode must not slip into the clear written with other digits.
_TEXT_OUTWARD, _TEXT_SECTOR, _TEXT_UNIT = _parts(r"\d")
#: A postcode anywhere in free text (``search`` it).
IN_TEXT = re.compile(rf"\b{_TEXT_OUTWARD}\s*{_TEXT_SECTOR}{_TEXT_UNIT}\b", re.IGNORECASE)
