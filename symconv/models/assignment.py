"""The assignment's network (Q1 B-D) in Flax NNX, written independently of the algebra
(:mod:`symconv.algebra.nets.assignment`) with ``nnx.Conv``/``nnx.Linear``; only the flatten width
comes from the algebra."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from symconv.algebra.nets.assignment import AssignmentConfig, assignment_stack
from symconv.errors import SymconvError


class AssignmentCNN(nnx.Module):
    """The network in Flax NNX (NHWC). ``__call__`` returns class probabilities."""

    def __init__(self, cfg: AssignmentConfig = AssignmentConfig(), *, rngs: nnx.Rngs):
        self.cfg = cfg
        convs, m = [], cfg.in_features
        k, s, p = (cfg.kernel_size,) * 2, cfg.strides, ((cfg.padding,) * 2,) * 2
        for n, sep in zip(cfg.filters, cfg.separable):
            if sep:
                convs.append(nnx.Sequential(
                    nnx.Conv(m, m, k, s, padding=p, feature_group_count=m,
                             use_bias=cfg.use_bias, rngs=rngs),
                    nnx.Conv(m, n, (1, 1), use_bias=cfg.use_bias, rngs=rngs)))
            else:
                convs.append(nnx.Conv(m, n, k, s, padding=p, use_bias=cfg.use_bias, rngs=rngs))
            m = n
        self.convs = nnx.List(convs)
        if cfg.head == "reduce":
            self.reduce = nnx.Conv(m, cfg.reduce_to, (1, 1), rngs=rngs)
        # The one size the network cannot compute for itself: the flatten width (algebra).
        fc_in = assignment_stack(cfg).layers[-2].in_features
        if not isinstance(fc_in, int):
            raise SymconvError(
                f"AssignmentCNN: head={cfg.head!r} needs a concrete input size to size its FC "
                f"layer, got input_hw={cfg.input_hw}")
        self.fc = nnx.Linear(fc_in, cfg.classes, rngs=rngs)

    def features(self, x: jax.Array) -> dict[str, jax.Array]:
        """Every named stage's output (names as in ``assignment_stack``)."""
        out = {}
        for i, (conv, sep) in enumerate(zip(self.convs, self.cfg.separable), 1):
            x = jax.nn.relu(conv(x))
            out[f"{'sep' if sep else ''}conv{i}"] = x
        if self.cfg.head == "flatten":
            x = x.reshape(x.shape[0], -1)
        elif self.cfg.head == "gap":
            x = jnp.mean(x, axis=(1, 2))
        else:
            x = jax.nn.relu(self.reduce(x))
            out["reduce"] = x
            x = x.reshape(x.shape[0], -1)
        out["fc"] = self.fc(x)
        out["softmax"] = jax.nn.softmax(out["fc"])
        return out

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.features(x)["softmax"]
