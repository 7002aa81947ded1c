r"""The source's words as the source typesets them, and the toolkit's own words, in LaTeX and
Markdown.

The source is Markdown with LaTeX math between ``$`` (inline) and ``$$`` (display) and fenced
code blocks. A quote is an exact substring of it and may begin or end inside math or code, so it
is split into :class:`Segment` s from where it stands in the source: text (escaped), math (kept
as the source's LaTeX) and code. The quote itself is never changed; Markdown adds only the
delimiters that the cut left open:

>>> [(s.kind, s.text) for s in segments("a $x^2$ and $$y$$")]
[('text', 'a '), ('math', 'x^2'), ('text', ' and '), ('display', 'y')]
>>> quote_latex("5×5 kernels, 86% of $K \\times K$")
'5\\ensuremath{\\times}5 kernels, 86\\% of \\(K \\times K\\)'

The toolkit's own text (statements, readings, corrections, notes) is plain text where ``$...$``
spans are math: :func:`text_latex`, :func:`text_markdown`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from symconv.report.notation import text_escape
from symconv.report.render.outline import RunResult

_FENCE = "```"
#: a dot inside a dotted name (symconv.experiments), where a line may break
_IDENTIFIER_DOT = re.compile(r"(?<=[A-Za-z_])\.(?=[A-Za-z_])")
#: Unicode the source or the toolkit's text may hold, as LaTeX math
_MATH_UNICODE = {"×": r"\times ", "·": r"\cdot ", "−": "-", "≤": r"\le ", "≥": r"\ge ",
                 "μ": r"\mu ", "→": r"\to ", "²": "^2", "³": "^3"}


@dataclass(frozen=True, slots=True)
class Segment:
    """``kind``: ``text``, ``math`` (inline), ``display`` or ``code``."""

    kind: str
    text: str


def _state_at(source: str, offset: int) -> str:
    """``text``, ``math``, ``display`` or ``code``: where ``offset`` stands in the source."""
    before = source[:offset]
    fences = sum(1 for line in before.split("\n")[:-1] if line.strip().startswith(_FENCE))
    if fences % 2:
        return "code"
    line = before.rsplit("\n", 1)[-1]
    state, i = "text", 0
    while i < len(line):
        if line.startswith("$$", i):
            state = "text" if state == "display" else "display" if state == "text" else state
            i += 2
            continue
        if line[i] == "$" and state != "display":
            state = "text" if state == "math" else "math"
        i += 1
    return state


def _walk(quote: str, start: str) -> tuple[list[Segment], str]:
    """Segments of ``quote`` read from state ``start``, and the state at its end."""
    out: list[Segment] = []
    state, buf, i = start, [], 0

    def flush() -> None:
        if buf:
            out.append(Segment(state, "".join(buf)))
            buf.clear()

    while i < len(quote):
        at_line_start = i == 0 or quote[i - 1] == "\n"
        if quote.startswith(_FENCE, i) and state in ("text", "code") and (
                at_line_start or state == "code"):
            flush()
            state = "text" if state == "code" else "code"
            i += len(_FENCE)
            if state == "code":  # the fence's line (a language name) is not code
                eol = quote.find("\n", i)
                i = len(quote) if eol < 0 else eol + 1
        elif quote.startswith("$$", i) and state in ("text", "display"):
            flush()
            state = "text" if state == "display" else "display"
            i += 2
        elif quote[i] == "$" and state in ("text", "math"):
            flush()
            state = "text" if state == "math" else "math"
            i += 1
        else:
            buf.append(quote[i])
            i += 1
    flush()
    return [s for s in out if s.kind not in ("text", "code") or s.text.strip("\n")], state


def segments(quote: str, start: str = "text") -> list[Segment]:
    """Split Markdown-with-math into segments, beginning in state ``start``."""
    return _walk(quote, start)[0]


def start_state(quote: str, run: RunResult | None = None) -> str:
    """Where a quote of ``run.source`` begins (its first occurrence): ``text`` without one."""
    source = run.source if run is not None else None
    if source is not None:
        spans = source.find(quote)
        if spans:
            return _state_at(source.text, spans[0][0])
    return "text"


def quote_segments(quote: str, run: RunResult | None = None) -> list[Segment]:
    """Segments of a quote of ``run.source``, or of a quote read on its own."""
    return segments(quote, start_state(quote, run))


# --- LaTeX ----------------------------------------------------------------------------------

def _math(text: str) -> str:
    return "".join(_MATH_UNICODE.get(ch, ch) for ch in text).strip()


def _text(text: str, markdown: bool = False) -> str:
    """Escaped text, paragraphs kept; with ``markdown`` (the source's words), ``**bold**`` as
    bold."""
    pieces = re.split(r"\*\*(.+?)\*\*", text) if markdown else [text]
    escaped = "".join(r"\textbf{" + text_escape(p) + "}" if i % 2 else text_escape(p)
                      for i, p in enumerate(pieces))
    escaped = _IDENTIFIER_DOT.sub(r".\\allowbreak{}", escaped).replace(r"\_", r"\_\allowbreak{}")
    return re.sub(r"\n\s*\n", "\n\n", escaped)


#: a code line longer than this may break at its spaces (continued with a hanging indent)
CODE_WRAP = 40


def _code_line(line: str) -> str:
    """One line of code in typewriter, its spaces kept; a long one may break at a space after
    its indentation."""
    body = line.lstrip(" ")
    indent = "~" * (len(line) - len(body))
    space = "~\\allowbreak{}" if len(line) > CODE_WRAP else "~"
    return r"\texttt{" + indent + space.join(text_escape(w) for w in body.split(" ")) + "}"


def segments_latex(parts: list[Segment], markdown: bool = False) -> str:
    """Segments in LaTeX; ``markdown``: text segments are the source's Markdown."""
    out = []
    for i, s in enumerate(parts):
        if s.kind == "text":
            out.append(_text(s.text, markdown))
        elif s.kind == "math":
            out.append(r"\(" + _math(s.text) + r"\)")
        elif s.kind == "display" and i == 0:  # on the quote's first line, centred
            out.append(r"\hspace*{\fill}\fitmath{" + _math(s.text) + r"}\hspace*{\fill}\par ")
        elif s.kind == "display":
            out.append(r"\par{\centering\fitmath{" + _math(s.text) + r"}\par}")
        else:
            lines = [_code_line(line) for line in s.text.split("\n")]
            out.append(r"{\small\raggedright\parskip=0pt "
                       + "".join(r"\hangindent=2em\hangafter=1 " + line + r"\par "
                                 for line in lines) + "}")
    return "".join(out).strip()


def quote_latex(quote: str, run: RunResult | None = None) -> str:
    """A quote in LaTeX: text escaped, math as math, code in typewriter lines."""
    return segments_latex(quote_segments(quote, run), markdown=True)


def breakable(tex: str) -> str:
    """Escaped text with a line break allowed after each dot and underscore of an identifier."""
    return tex.replace(".", r".\allowbreak{}").replace(r"\_", r"\_\allowbreak{}")


def claim_id(cid: str) -> str:
    """A claim id in typewriter (``\\claimid``), breakable after its dots and underscores."""
    return r"\claimid{" + breakable(text_escape(cid)) + "}"


def text_latex(text: str) -> str:
    """The toolkit's own words: plain text, ``$...$`` as math, Unicode math as math."""
    return segments_latex(segments(text)) if text.count("$") % 2 == 0 else _text(text)


# --- Markdown -------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\*_`|<>\[\]])")


_OPEN = {"text": "", "math": "$", "display": "$$", "code": "```\n"}
_CLOSE = {"text": "", "math": "$", "display": "$$", "code": "\n```"}


def quote_markdown(quote: str, run: RunResult | None = None) -> str:
    """A quote as a Markdown block quote: the source's own Markdown, verbatim, with the math or
    code delimiters the cut left open added around it."""
    start = start_state(quote, run)
    end = _walk(quote, start)[1]
    text = _OPEN[start] + quote + _CLOSE[end]
    return "\n".join("> " + line if line.strip() else ">" for line in text.split("\n"))


def text_markdown(text: str) -> str:
    """The toolkit's own words in Markdown: special characters escaped outside ``$...$``."""
    if text.count("$") % 2:
        return _MD_SPECIAL.sub(r"\\\1", text)
    parts = text.split("$")
    return "".join(f"${p}$" if i % 2 else _MD_SPECIAL.sub(r"\\\1", p)
                   for i, p in enumerate(parts))
