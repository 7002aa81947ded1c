"""The bibliography of a set of proofs: one TOML file, one table per paper, cited by key.

A claim about a paper cites it (``Claim.cite = (key, locator)``, e.g. ``("huang2017",
"Table 1")``); the report lists the cited papers, and a key that is not in the bibliography is
an error.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from symconv.errors import SymconvError

_FIELDS = ("authors", "title", "venue", "year")


@dataclass(frozen=True, slots=True)
class Reference:
    """One paper: ``key``, authors, title, venue, year and, when there is one, a URL."""

    key: str
    authors: str
    title: str
    venue: str
    year: int
    url: str = ""

    def text(self) -> str:
        """``Authors (year). Title. Venue.`` — plain text for the renderers to format."""
        return f"{self.authors} ({self.year}). {self.title}. {self.venue}."


def load_bibliography(path: str | Path) -> dict[str, Reference]:
    """``[key]`` tables with ``authors``, ``title``, ``venue``, ``year`` (and ``url``)."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise SymconvError(f"{path}: {e}") from None
    refs = {}
    for key, entry in data.items():
        missing = [f for f in _FIELDS if f not in entry]
        if not isinstance(entry, dict) or missing:
            raise SymconvError(f"{path}: [{key}] needs {', '.join(missing or _FIELDS)}")
        refs[key] = Reference(key, str(entry["authors"]), str(entry["title"]),
                              str(entry["venue"]), int(entry["year"]), str(entry.get("url", "")))
    return refs
