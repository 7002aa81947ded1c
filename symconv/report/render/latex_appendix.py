r"""The end of ``report.tex``: the references (main body) and the appendix: one row per check,
grouped by claim; source line -> claim ids with the excluded sentences and their reasons; the
conventions; the environment."""

from __future__ import annotations

from symconv.report.notation import text_escape
from symconv.report.render.outline import (
    CONVENTIONS,
    Cited,
    RunResult,
    check_rows,
    exclusions,
    source_lines,
)
from symconv.report.render.quote import claim_id, quote_latex, text_latex


def _id(cid: str) -> str:
    return r"\hyperref[claim:" + cid + "]{" + claim_id(cid) + "}"


def references_tex(cited: dict[str, Cited]) -> list[str]:
    """``References``: each cited paper, numbered in order of first citation."""
    if not cited:
        return []
    out = [r"\section*{References}", r"\addcontentsline{toc}{section}{References}",
           r"\begin{multicols}{2}\small\raggedright",
           r"\begin{list}{}{\leftmargin=2.2em\labelwidth=1.8em\labelsep=0.4em\itemsep=2pt"
           r"\parsep=0pt}"]
    for c in cited.values():
        ref = c.reference
        text = (text_escape(f"{ref.authors} ({ref.year}). ") + r"\emph{" + text_escape(ref.title)
                + "}. " + text_escape(ref.venue) + ".") if ref else (
            r"\texttt{" + text_escape(c.key) + "} (not in the bibliography).")
        if ref is not None and ref.url:
            text += r" \url{" + ref.url + "}"
        # each citing claim shows [n] beside its check; the list of citing claims is in the
        # Markdown and JSON reports (the PDF's main body keeps to 20 pages)
        out.append(r"\item[[" + str(c.number) + r"]]\phantomsection\label{ref:" + c.key + "}"
                   + text)
    out += [r"\end{list}", r"\end{multicols}"]
    return out


def _checks_tex(run: RunResult) -> list[str]:
    rows = check_rows(run.proofs)
    out = [r"\section{Checks}",
           "Each claim's value is checked on independent sides: \\emph{sympy} (the closed form, "
           "symbolically and at sampled points), \\emph{model} (the Flax NNX model: shapes and "
           "parameter counts), \\emph{xla} (XLA's cost analysis of the lowered program), "
           "\\emph{numpy} (an independent computation), \\emph{paper} (the cited paper's "
           "numbers) and \\emph{experiment} (a run whose outcome is measured). A failed check "
           "makes its claim \\verdict{vinconsistent}{inconsistent}."]
    if not rows:
        return [*out, "No checks were run."]
    out += [r"{\footnotesize\setlength{\tabcolsep}{4pt}",
            r"\begin{longtable}{@{}>{\raggedright\arraybackslash}p{0.17\linewidth}"
            r">{\raggedright\arraybackslash}p{0.72\linewidth}l@{}}",
            r"\toprule", r"claim & side: what was checked, at which points & result \\",
            r"\midrule", r"\endfirsthead",
            r"\toprule", r"claim & side: what was checked, at which points (continued) & "
            r"result \\", r"\midrule", r"\endhead", r"\bottomrule", r"\endfoot"]
    groups: dict[str, list] = {}
    for r in rows:
        groups.setdefault(r.claim, []).append(r)
    points = None
    for cid, group in groups.items():
        lines = []
        for r in group:
            what = r"\textsf{\bfseries " + text_escape(r.side) + "}: " + text_latex(r.description)
            if r.points and r.points == points:
                what += r"; \textit{at the same points as above}"
            elif r.points:
                what += r"; \textit{at} " + text_latex(r.points)
            points = r.points
            if r.detail:
                what += r"; \textit{" + text_latex(r.detail) + "}"
            lines.append(what)
        checks = [r for r in group if r.passed is not None]
        failed = [r.side for r in checks if not r.passed]
        result = (r"\verdict{vinconsistent}{FAILED}" + " (" + ", ".join(failed) + ")" if failed
                  else f"{len(checks)} passed" if checks else "")
        out.append(_id(cid) + " & " + r" \textbullet{} ".join(lines) + " & " + result
                   + r" \\ \addlinespace[1.5pt]")
    out += [r"\end{longtable}}"]
    return out


def _coverage_tex(run: RunResult) -> list[str]:
    lines = source_lines(run)
    if run.source is None:
        return []
    name = text_escape(run.source.path.name)
    out = [r"\section{Source coverage}",
           f"Every line of the worked solutions in \\texttt{{{name}}} that states a number, a "
           "formula or a checkable fact, and the claims that quote it. A sentence that needs no "
           "claim is listed below the table with the reason it was excluded."]
    if lines:
        out += [r"{\small\setlength{\parskip}{0pt}\begin{multicols}{2}\raggedright"]
        for ln in lines:
            if ln.claims:
                what = ", ".join(_id(c) for c in ln.claims)
            elif ln.excluded:
                what = r"\textit{excluded}"
            else:
                what = r"\verdict{vrefuted}{no claim}"
            out.append(r"\hangindent=2.5em\hangafter=1 " + f"l.\\,{ln.line} "
                       + text_escape(f"({ln.part[1:]})") + r"\enspace " + what + r"\par")
        out += [r"\end{multicols}}"]
    excluded = exclusions(run)
    if excluded:
        out += [r"\subsection*{Sentences excluded from the claims}",
                r"{\small\begin{longtable}{@{}r>{\raggedright\arraybackslash}p{0.5\linewidth}"
                r">{\raggedright\arraybackslash}p{0.38\linewidth}@{}}", r"\toprule",
                r"line & sentence & reason \\", r"\midrule", r"\endhead", r"\bottomrule",
                r"\endfoot"]
        for ex in excluded:
            out.append(f"{ex.line} & " + quote_latex(ex.text, run) + " & "
                       + text_latex(ex.reason) + r" \\ \addlinespace[2pt]")
        out.append(r"\end{longtable}}")
    return out


def appendix_tex(run: RunResult, environment: dict | None) -> list[str]:
    out = _checks_tex(run) + _coverage_tex(run)
    out += [r"\section{Conventions}", r"\begin{itemize}"]
    out += [r"\item \textbf{" + text_escape(term) + "}: " + text_latex(text)
            for term, text in CONVENTIONS]
    out.append(r"\end{itemize}")
    if environment:
        out += [r"\section{Environment}", r"\begin{itemize}"]
        out += [r"\item " + text_escape(f"{k}: {v}") for k, v in sorted(environment.items())]
        out.append(r"\end{itemize}")
    return out
