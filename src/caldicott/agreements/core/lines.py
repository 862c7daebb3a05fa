"""Where each key of a TOML file sits, so a problem can name its line.

``tomllib`` gives values, not positions. This scanner walks the file once and
maps every table header and ``key =`` line to a path such as
``("version", 1, "clause", 3, "requires")`` — the same path the loader uses
while it reads the parsed document. It understands what pack files use:
tables, arrays of tables, bare or quoted keys, and multi-line strings.
"""

from __future__ import annotations

import re

Path = tuple[str | int, ...]

_KEY = re.compile(r'^\s*([A-Za-z0-9_-]+|"[^"]*")\s*=\s*(.*)$')


def _header(line: str) -> tuple[bool, list[str]] | None:
    stripped = line.strip()
    if stripped.startswith("[["):
        return True, [p.strip().strip('"') for p in stripped[2 : stripped.index("]]")].split(".")]
    if stripped.startswith("[") and "]" in stripped:
        return False, [p.strip().strip('"') for p in stripped[1 : stripped.index("]")].split(".")]
    return None


def _opens_multiline(value: str) -> str | None:
    for quote in ('"""', "'''"):
        if value.startswith(quote) and value.count(quote) % 2 == 1:
            return quote
    return None


class LineMap:
    """Paths to 1-based line numbers for one TOML text."""

    def __init__(self, text: str) -> None:
        self.lines: dict[Path, int] = {}
        arrays: dict[tuple[str, ...], int] = {}
        current: Path = ()
        closing: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if closing:
                if closing in line:
                    closing = None
                continue
            if line.lstrip().startswith("#"):
                continue
            header = _header(line)
            if header is not None:
                is_array, names = header
                current = self._resolve(names, arrays, is_array)
                self.lines[current] = number
                continue
            match = _KEY.match(line)
            if match:
                self.lines.setdefault((*current, match.group(1).strip('"')), number)
                closing = _opens_multiline(match.group(2).strip())

    @staticmethod
    def _resolve(names: list[str], arrays: dict[tuple[str, ...], int], is_array: bool) -> Path:
        path: list[str | int] = []
        for depth, name in enumerate(names):
            path.append(name)
            key = tuple(names[: depth + 1])
            last = depth == len(names) - 1
            if last and is_array:
                arrays[key] = arrays.get(key, -1) + 1
                # A new element starts its children's counts afresh.
                for child in [k for k in arrays if len(k) > len(key) and k[: len(key)] == key]:
                    del arrays[child]
            if key in arrays:
                path.append(arrays[key])
        return tuple(path)

    def line_of(self, path: Path) -> int:
        """The line of ``path``, or of its nearest enclosing key or table (1 if none)."""
        for end in range(len(path), 0, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return 1
