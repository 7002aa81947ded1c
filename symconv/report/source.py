r"""The source document a report checks: its sentences, which of them state something checkable,
and which claims quote them.

A claim about the source quotes it verbatim (``Claim.quote``, an exact substring of the text).
The worked solutions are split into sentences; a sentence is a **candidate** when it states a
number, a formula or a checkable fact — it has a digit or math (``$``), a comparison ("more",
"fewer", "than", "reduce", ...), or names a method or paper (a word with an inner capital or in
capitals: ResNet, YOLOv3, NMS; or a named technique: Gaussian, bicubic, softmax, k-means, ...)
— and every candidate must be quoted by at least one claim or be
listed, with a reason, in the reviewed exclusions (``excluded.toml`` beside the source).
:func:`coverage` says which; the report's appendix lists source line → claim ids.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from symconv.errors import SymconvError

_HEADING = re.compile(r"^(Q(?P<q>\d+)|part (?P<part>[A-Za-z])|solution)\s*$")
_COMPARISON = re.compile(
    r"\b(more|less|fewer|higher|lower|larger|smaller|bigger|increase[sd]?|decrease[sd]?|"
    r"reduce[sd]?|reduction|improv\w*|faster|slower|than|significantly|efficient\w*|"
    r"deeper|instead|replac\w*|only|each|all|every|same|differ\w*)\b", re.IGNORECASE)
_NAME = re.compile(r"\b([A-Z][a-z]+[A-Z]\w*|[A-Z]{2,}\w*|\w+-Net|[A-Z]\w*v\d)\b")
#: named methods written in lower case (a sentence naming one states a checkable fact about it)
_METHOD = re.compile(
    r"\b(gaussian|bicubic|interpolat\w*|softmax|logistic|sigmoid|k-means|k\s*-means|"
    r"clustering|concatenat\w*|elastic|transformer|lstm|backpropagation|gradient\w*|pooling|"
    r"convolution\w*|objectness|anchor\w*|filters?|channels?|parameters?|neurons?|"
    r"deformation\w*|skip connections?|downsampling|upsampling|encoder|decoder|"
    r"grid cell|bounding box\w*|coordinates?|probabilit\w*)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z$\\(])")


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of a solution: 1-based ``line``, character span ``[start, end)`` in the
    whole text, the question part it answers (``"Q1a"``), and its text."""

    line: int
    start: int
    end: int
    part: str
    text: str

    @property
    def is_candidate(self) -> bool:
        """States a number, a formula or a checkable fact (see the module docstring)."""
        return bool(re.search(r"[0-9$]", self.text) or _COMPARISON.search(self.text)
                    or _NAME.search(self.text) or _METHOD.search(self.text))


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A candidate sentence reviewed and left without a claim: its words and why."""

    text: str
    reason: str


@dataclass(frozen=True)
class Source:
    """The text of the source document, loaded from a file (read as UTF-8)."""

    path: Path
    text: str

    @classmethod
    def load(cls, path: str | Path) -> Source:
        path = Path(path)
        try:
            return cls(path, path.read_text(encoding="utf-8"))
        except OSError as e:
            raise SymconvError(f"cannot read the source document {path}: {e}") from None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def line_of(self, offset: int) -> int:
        """1-based line of a character offset."""
        return self.text.count("\n", 0, offset) + 1

    def find(self, quote: str) -> list[tuple[int, int]]:
        """Every span ``[start, end)`` where ``quote`` occurs verbatim."""
        spans, i = [], self.text.find(quote)
        while i >= 0:
            spans.append((i, i + len(quote)))
            i = self.text.find(quote, i + 1)
        return spans

    def sentences(self) -> list[Sentence]:
        """The sentences of every solution, in order: each non-empty line of a solution is a
        paragraph (a display formula, a bullet) split at sentence ends; a fenced code block is
        one sentence."""
        out: list[Sentence] = []
        question = part = ""
        in_solution = in_code = False
        code_start = 0
        offset = 0
        for number, line in enumerate(self.text.split("\n"), 1):
            begin, stripped = offset, line.strip()
            offset += len(line) + 1
            if stripped.startswith("```"):
                if in_code and in_solution:
                    out.append(Sentence(self.line_of(code_start), code_start, offset - 1,
                                        f"Q{question}{part}", self.text[code_start:offset - 1]))
                in_code, code_start = not in_code, begin
                continue
            if in_code or not stripped:
                continue
            heading = _HEADING.match(stripped)
            if heading:
                if heading["q"]:
                    question, part, in_solution = heading["q"], "", False
                elif heading["part"]:
                    part, in_solution = heading["part"].lower(), False
                else:
                    in_solution = True
                continue
            if not in_solution:
                continue
            lead = len(line) - len(line.lstrip())
            pieces = [stripped] if stripped.startswith("$$") else _SENTENCE_END.split(stripped)
            cursor = begin + lead
            for piece in pieces:
                start = self.text.index(piece, cursor)
                cursor = start + len(piece)
                out.append(Sentence(number, start, cursor, f"Q{question}{part}", piece))
        return out

    def candidates(self) -> list[Sentence]:
        return [s for s in self.sentences() if s.is_candidate]


def load_exclusions(path: str | Path) -> list[Exclusion]:
    """``[[excluded]]`` tables of ``text`` (verbatim words of the sentence) and ``reason``."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise SymconvError(f"{path}: {e}") from None
    items = []
    for i, entry in enumerate(data.get("excluded", [])):
        text, reason = entry.get("text"), entry.get("reason")
        if not (isinstance(text, str) and text.strip() and isinstance(reason, str)
                and reason.strip()):
            raise SymconvError(f"{path}: excluded entry {i + 1} needs non-empty text and reason")
        items.append(Exclusion(text, reason))
    return items


@dataclass(frozen=True)
class Coverage:
    """Which candidate sentences each claim quotes, which are excluded, which are neither."""

    claims_by_sentence: dict[Sentence, tuple[str, ...]]
    excluded: dict[Sentence, Exclusion]
    uncovered: tuple[Sentence, ...]
    unfound_quotes: tuple[str, ...]  # claim ids whose quote is not in the source
    stale_exclusions: tuple[Exclusion, ...]  # exclusions that match no candidate

    @property
    def complete(self) -> bool:
        return not (self.uncovered or self.unfound_quotes or self.stale_exclusions)

    def claims_by_line(self) -> dict[int, tuple[str, ...]]:
        """Source line -> ids of the claims that quote it (the report's appendix)."""
        lines: dict[int, list[str]] = {}
        for sentence, ids in self.claims_by_sentence.items():
            for cid in ids:
                if cid not in lines.setdefault(sentence.line, []):
                    lines[sentence.line].append(cid)
        return {line: tuple(ids) for line, ids in sorted(lines.items())}


def coverage(source: Source, quotes: Iterable[tuple[str, str]],
             exclusions: Sequence[Exclusion] = ()) -> Coverage:
    """Map ``(claim id, quote)`` pairs and reviewed exclusions onto the candidate sentences."""
    sentences = source.sentences()
    by_sentence: dict[Sentence, list[str]] = {}
    unfound = []
    for cid, quote in quotes:
        spans = source.find(quote)
        if not spans:
            unfound.append(cid)
        for start, end in spans:
            for s in sentences:
                if s.start < end and start < s.end:
                    by_sentence.setdefault(s, []).append(cid)
    excluded: dict[Sentence, Exclusion] = {}
    stale = []
    for ex in exclusions:
        hits = [s for s in sentences if ex.text in s.text or s.text in ex.text]
        if not hits:
            stale.append(ex)
        for s in hits:
            excluded[s] = ex
    uncovered = tuple(s for s in sentences if s.is_candidate and s not in by_sentence
                      and s not in excluded)
    return Coverage({s: tuple(ids) for s, ids in by_sentence.items()}, excluded, uncovered,
                    tuple(unfound), tuple(stale))
