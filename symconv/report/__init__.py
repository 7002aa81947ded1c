"""The report: claims and proofs (``proof``), derivations from the layer formulas (``derive``),
running proof modules (``runner``), writing a report (``write``) and the renderers (``render``)."""
