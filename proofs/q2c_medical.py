"""Q2 part (c): a practical use of DenseNet — an application suggestion, reported as such."""

from __future__ import annotations

from symconv.report.proof import Basis, Claim, Proof


def build() -> Proof:
    return Proof("Q2", "c", "A practical use", (Claim(
        id="q2c.medical",
        statement="DenseNet suits medical image analysis (e.g. mammography).",
            basis=Basis.JUDGEMENT,
        note="An application suggestion; nothing to compute.", quote="TODO"),))
