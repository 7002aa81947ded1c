"""The verification triangle for one layer spec: algebra vs Flax NNX model vs lowered HLO.

``check_layer(spec, input_shape)`` evaluates the three sides at one concrete input (batch
first) and returns what each side says; ``TriangleResult.agrees`` is True only when the output
shape, the parameter count and the FLOPs (exact convention) all match to the unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flax import nnx

from symconv.algebra.layer import Layer
from symconv.checks import xla
from symconv.errors import SymconvError
from symconv.models.layers import flax_layer


@dataclass(frozen=True, slots=True)
class TriangleResult:
    """Each side's output shape, parameter count and FLOPs for one input."""

    spec: Layer
    input_shape: tuple[int, ...]
    algebra_shape: tuple
    model_shape: tuple
    algebra_params: int
    model_params: int
    algebra_flops: int
    xla_flops: int
    xla_ops: int = 0

    @property
    def agrees(self) -> bool:
        return (
            tuple(self.algebra_shape) == tuple(self.model_shape)
            and self.algebra_params == self.model_params
            and xla.flops_agree(self.algebra_flops, self.xla_flops, self.xla_ops)
        )

    def explain(self) -> str:
        rows = [
            ("output shape", self.algebra_shape, self.model_shape, "eval_shape"),
            ("parameters", self.algebra_params, self.model_params, "nnx.state"),
            ("FLOPs (exact)", self.algebra_flops, self.xla_flops, "lowered HLO"),
        ]
        lines = [f"{self.spec!r} on input {self.input_shape}:"]
        for what, a, b, side in rows:
            if what.startswith("FLOPs"):
                ok = xla.flops_agree(a, b, self.xla_ops)
                tol = xla.flops_tolerance(a, self.xla_ops)
                mark = ("ok" if a == b else f"ok within XLA's float32 accumulation (±{tol})"
                        ) if ok else "MISMATCH"
            else:
                mark = "ok" if a == b else "MISMATCH"
            lines.append(f"  {what:14s} algebra={a!s:>20}  {side}={b!s:>20}  {mark}")
        return "\n".join(lines)


def check_layer(spec: Layer, input_shape: Sequence[int]) -> TriangleResult:
    """Evaluate algebra, model (``eval_shape``, ``nnx.state``) and XLA on one batched input."""
    shape = tuple(int(d) for d in input_shape)
    if len(shape) < 2:
        raise SymconvError(f"input_shape={input_shape!r} must be batch-first, e.g. (1, H, W, C)")
    batch, per_example = shape[0], shape[1:]
    model = xla.abstract(lambda: flax_layer(spec, rngs=nnx.Rngs(0)))
    algebra_shape = tuple(spec.output_shape(per_example))
    measured = xla.cost(model, shape)
    model_shape = tuple(xla.output_shape(model, shape, sympy=False))
    return TriangleResult(
        spec=spec,
        input_shape=shape,
        algebra_shape=(batch, *algebra_shape),
        model_shape=model_shape,
        algebra_params=int(spec.param_count()),
        model_params=xla.param_count(model),
        algebra_flops=int(spec.batch_flops(per_example, batch, "exact")),
        xla_flops=measured["flops"],
        xla_ops=measured["ops"],
    )
