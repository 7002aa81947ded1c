"""Write every proof's figures as PNG (for Markdown) and, for LaTeX, as vector PDF with its
fonts embedded as TrueType (``pdf.fonttype`` 42: no Type 3 bitmap fonts), with no timestamps in
the files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from symconv.report.proof import Proof

STYLE = {"figure.dpi": 110, "savefig.dpi": 110, "font.size": 9, "axes.grid": True,
         "grid.alpha": 0.3, "figure.figsize": (6.0, 3.4), "pdf.fonttype": 42,
         "ps.fonttype": 42}


def write_figures(proofs: Sequence[Proof], out_dir: Path, pdf: bool = False) -> list[Path]:
    """Draw each figure once; write ``figures/<name>.png`` and, with ``pdf``, ``.pdf``."""
    written = []
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    for proof in proofs:
        for fig in proof.figures:
            with plt.rc_context(STYLE):
                figure = fig.draw()
                png = out_dir / fig.path
                figure.savefig(png, metadata={"Software": None}, bbox_inches="tight")
                written.append(png)
                if pdf:
                    figure.savefig(png.with_suffix(".pdf"), bbox_inches="tight",
                                   metadata={"CreationDate": None, "ModDate": None,
                                             "Producer": None, "Creator": None})
                    written.append(png.with_suffix(".pdf"))
                plt.close(figure)
    return written
