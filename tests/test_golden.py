"""Regression guards (golden files, ``pytest-regressions``): the numbers of every built-in
model's cost table and every claim's stated / derived / verdict.

The numbers were verified by the triangle when the files were written; here they only catch
*change*. They are not expected values: a refactor must leave them byte-identical, and a
deliberate change is regenerated with ``pytest tests/test_golden.py --force-regen`` and
reviewed as a diff.
"""

from __future__ import annotations

import pytest
import sympy as sp

from symconv.algebra.symbols import H, W
from symconv.models.registry import MODELS


def _num(value):
    """A count as a plain int (YAML-safe); a tuple of counts as a list."""
    if isinstance(value, tuple):
        return [_num(v) for v in value]
    if isinstance(value, sp.Basic):
        value = sp.nsimplify(value)
        if value.is_Integer:
            return int(value)
        return sp.sstr(value)
    if value is None:
        return None
    return int(value) if not isinstance(value, str) else value


def _field(f):
    if f is None or f.is_global:
        return None if f is None else "global"
    return [_num(f.size), _num(f.jump), str(f.start)]


def _rows(table):
    return [{
        "name": r.name, "kind": r.kind, "output": _num(tuple(r.output_shape)),
        "weights": _num(r.weights), "biases": _num(r.biases),
        "macs_dense": _num(r.macs_dense), "macs_exact": _num(r.macs_exact),
        "flops": _num(r.flops), "transcendentals": _num(r.transcendentals),
        "field_h": _field(r.field_h),
    } for r in table.rows]


def _totals(table):
    return {k: _num(v) for k, v in sorted(table.totals.items())}


# A second input size per model, valid for it (U-Net: 16k + 12 sides; YOLO: multiples of 32).
OTHER_HW = {"unet": (380, 380), "unet-padded": (256, 256), "yolov1": (448, 448)}


@pytest.mark.parametrize("name", list(MODELS))
def test_cost_table_numbers(name, data_regression):
    """Default size: every row; a second size: the totals, from the concrete and the symbolic
    table (both must give the same numbers, and neither may change)."""
    entry = MODELS[name]
    hw = entry.default_hw
    table = entry.algebra(hw).table((*hw, entry.channels), batch=2)
    doc = {"input": [2, *hw, entry.channels], "rows": _rows(table), "totals": _totals(table)}
    other = OTHER_HW.get(name, (hw[0] // 2 + 32 - (hw[0] // 2) % 32, hw[1]))
    doc["other_input"] = [1, *other, entry.channels]
    doc["other_totals"] = _totals(entry.algebra(other).table((*other, entry.channels)))
    if name != "yolov1":  # its FC head takes exactly 448x448: no symbolic table
        sym = entry.algebra((H, W)).table((H, W, entry.channels))
        doc["symbolic_at_other"] = _totals(sym.subs({H: other[0], W: other[1]}))
    data_regression.check(doc)


def test_proof_claims(all_proofs, data_regression):
    """Every claim of every proof module: the stated and derived values and the verdict."""
    doc = {}
    for proof in all_proofs:
        for claim in proof.claims:
            doc[claim.id] = {"part": f"{claim.question}{claim.part}",
                             "stated": _value(claim.stated), "derived": _value(claim.derived),
                             "verdict": claim.verdict.value}
    data_regression.check(doc)


def _value(value):
    """A claim's value, normalised: expressions expanded (so an equal rewriting of a closed
    form does not count as a change), tuples as lists, everything else as text."""
    if isinstance(value, (tuple, list)):
        return [_value(v) for v in value]
    if isinstance(value, sp.MatrixBase):
        return [[_value(v) for v in row] for row in value.tolist()]
    if isinstance(value, sp.Expr):
        return sp.sstr(sp.expand(value))
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    return str(value)
