"""``report.tex``: a complete article (amsmath, booktabs, graphicx, hyperref) and its PDF.

Long equations and tables are scaled down to the text width when wider (``\\fiteq``,
``\\resizebox``) so nothing overflows the page. The PDF is compiled with ``pdflatex`` when it
is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from symconv.errors import SymconvError
from symconv.report.notation import derivation_latex, human, to_latex
from symconv.report.proof import Claim, Proof, Verdict
from symconv.report.render.json import summary_counts
from symconv.report.render.markdown import CONVENTIONS
from symconv.report.render.tables import table_latex

INSTALL_HINT = ("install pdflatex to get report.pdf (Debian/Ubuntu: apt-get install "
                "--no-install-recommends texlive-latex-base texlive-latex-recommended)")

PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[margin=2.2cm]{geometry}
\usepackage[T1]{fontenc}
\usepackage{amsmath,amssymb}
\usepackage{booktabs,longtable,array}
\usepackage{graphicx}
\usepackage{xcolor}
\usepackage[hidelinks]{hyperref}
\pdfinfoomitdate=1
\pdftrailerid{}
\setlength{\parindent}{0pt}
\setlength{\parskip}{4pt}
\newsavebox{\eqbox}
% Typeset display math at natural size, or scaled down to the line width if wider.
\newcommand{\fiteq}[1]{\sbox{\eqbox}{$\displaystyle #1$}%
  \ifdim\wd\eqbox>\linewidth\resizebox{\linewidth}{!}{\usebox{\eqbox}}\else\usebox{\eqbox}\fi}
% The same inside a box of width #1 (table cells).
\newcommand{\fitin}[2]{\sbox{\eqbox}{$#2$}%
  \ifdim\wd\eqbox>#1\resizebox{#1}{!}{\usebox{\eqbox}}\else\usebox{\eqbox}\fi}
\newcommand{\verdict}[1]{\textsf{#1}}
"""

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
            "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
            "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}"}


def tex_escape(text: str) -> str:
    """Plain text made safe for LaTeX (every special character escaped)."""
    return "".join(_SPECIAL.get(ch, ch) for ch in str(text))


_VERDICT = {
    Verdict.VERIFIED: r"\verdict{verified}",
    Verdict.REFUTED: r"\verdict{\textcolor{red!70!black}{refuted}}",
    Verdict.DERIVED: r"\verdict{derived}",
    Verdict.OPINION: r"\verdict{opinion}",
    Verdict.UNSOURCED: r"\verdict{unsourced}",
    Verdict.INCONSISTENT: r"\verdict{\textcolor{red}{INCONSISTENT}}",
}


def _value(value, width: str = r"\linewidth") -> str:
    if value is None:
        return "---"
    return r"\fitin{" + width + "}{" + to_latex(value) + "}"


def _claim(claim: Claim) -> list[str]:
    out = [r"\subsubsection*{\texttt{" + tex_escape(claim.id) + "} --- "
           + _VERDICT[claim.verdict] + "}",
           r"\label{claim:" + claim.id + "}",
           r"\begin{quote}\itshape " + tex_escape(claim.statement) + r"\end{quote}"]
    unit = f" {tex_escape(claim.unit)}" if claim.unit else ""

    def units(value):
        return f" ({human(value)})" if human(value) else ""

    if claim.stated is not None:
        out.append(r"Stated: " + _value(claim.stated, "0.8\\linewidth") + unit
                   + units(claim.stated) + r"\\")
    out.append(r"Derived: " + _value(claim.derived, "0.8\\linewidth") + unit
               + units(claim.derived))
    if claim.derivation.steps:
        out += [r"\begin{center}", r"\fiteq{" + derivation_latex(claim.derivation) + "}",
                r"\end{center}"]
    if claim.derivation.assumptions:
        out.append(r"Assuming: " + "; ".join(r"\texttt{" + tex_escape(a) + "}"
                                             for a in claim.derivation.assumptions) + ".")
    if claim.checks:
        out.append(r"\begin{itemize}")
        for c in claim.checks:
            mark = "passed" if c.passed else r"\textbf{FAILED}"
            detail = f" ({tex_escape(c.detail)})" if c.detail else ""
            out.append(r"\item[\textbullet] [" + tex_escape(c.side) + "] " + tex_escape(
                c.description) + " --- " + tex_escape(c.points) + " --- " + mark + detail)
        out.append(r"\end{itemize}")
    if claim.note:
        out.append(r"\emph{Note:} " + tex_escape(claim.note))
    return out


def report_latex(proofs: Sequence[Proof], environment: dict | None = None,
                 title: str = "symconv report") -> str:
    counts = summary_counts(proofs)
    out = [PREAMBLE, r"\title{" + tex_escape(title) + "}", r"\date{}", r"\begin{document}",
           r"\sloppy",
           r"\maketitle",
           tex_escape(", ".join(f"{n} {v}" for v, n in counts.items() if n) or "no claims")
           + ".", r"\tableofcontents", r"\section{Summary}",
           r"\begin{longtable}{@{}p{0.27\linewidth}p{0.06\linewidth}p{0.23\linewidth}"
           r"p{0.23\linewidth}l@{}}", r"\toprule",
           r"claim & part & stated & derived & verdict \\", r"\midrule", r"\endhead"]
    for proof in proofs:
        for c in proof.claims:
            out.append(r"\hyperref[claim:" + c.id + r"]{\texttt{" + tex_escape(c.id) + "}} & "
                       + tex_escape(f"{c.question}({c.part})") + " & "
                       + _value(c.stated, r"\linewidth") + " & "
                       + _value(c.derived, r"\linewidth") + " & " + _VERDICT[c.verdict]
                       + r" \\")
    out += [r"\bottomrule", r"\end{longtable}", r"\section{Corrections}"]
    refuted = [c for p in proofs for c in p.claims if c.verdict is Verdict.REFUTED]
    if not refuted:
        out.append("No stated value was refuted.")
    else:
        out.append(r"\begin{itemize}")
        for c in refuted:
            unit = f" {tex_escape(c.unit)}" if c.unit else ""
            out.append(r"\item \texttt{" + tex_escape(c.id) + "}: " + tex_escape(c.note)
                       + r"\\ the source states " + _value(c.stated, "0.75\\linewidth")
                       + unit + r"\\ the right value is "
                       + _value(c.derived, "0.75\\linewidth") + unit + ".")
        out.append(r"\end{itemize}")
    question = None
    for proof in proofs:
        if proof.question != question:
            question = proof.question
            out.append(r"\section{" + tex_escape(question) + "}")
        out.append(r"\subsection{" + tex_escape(f"{proof.question}({proof.part}): "
                                                 f"{proof.title}") + "}")
        for table in proof.tables:
            out += [r"\begin{table}[h]\centering", r"\caption{" + tex_escape(table.caption) + "}",
                    r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{"
                    + table_latex(table) + "}", r"\end{table}"]
        for fig in proof.figures:
            out += [r"\begin{figure}[h]\centering",
                    r"\includegraphics[width=0.8\linewidth]{" + fig.path + "}",
                    r"\caption{" + tex_escape(fig.caption) + "}", r"\end{figure}"]
        for claim in proof.claims:
            out += _claim(claim)
        out.append(r"\clearpage")
    out += [r"\appendix", r"\section{Conventions}", r"\begin{itemize}"]
    for item in CONVENTIONS.strip().split("\n- "):
        text = item.lstrip("- ").replace("\n  ", " ").replace("**", "").replace("`", "")
        out.append(r"\item " + tex_escape(text))
    out.append(r"\end{itemize}")
    if environment:
        out += [r"\section{Environment}", r"\begin{itemize}"]
        out += [r"\item " + tex_escape(f"{k}: {v}") for k, v in sorted(environment.items())]
        out.append(r"\end{itemize}")
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


def compile_pdf(tex_path: Path) -> Path | None:
    """Run pdflatex twice in the report directory; ``None`` when pdflatex is not installed.

    Raises :class:`SymconvError` with the first LaTeX error line when compilation fails.
    """
    exe = shutil.which("pdflatex")
    if exe is None:
        return None
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"}
    for _ in range(2):
        proc = subprocess.run(
            [exe, "-interaction=nonstopmode", "-halt-on-error", tex_path.name],
            cwd=tex_path.parent, capture_output=True, text=True, env=env, timeout=300)
        if proc.returncode != 0:
            errors = [line for line in proc.stdout.splitlines() if line.startswith("!")]
            raise SymconvError(f"pdflatex failed on {tex_path}: "
                               f"{errors[0] if errors else 'see ' + tex_path.stem + '.log'}")
    return tex_path.with_suffix(".pdf")
