r"""How much of the loss gradient reaches each layer of plain, residual and dense stacks, without
and with batch norm.

Setting (stated, not assumed): $D$ layers of $3\times3$ convolutions, Flax's default
initialisation (LeCun normal kernels, zero biases; batch norm scale 1, offset 0), an input
$B \times 16 \times 16 \times 3$ of standard normals, a stem conv to $C = 16$ maps, global average
pooling, a 10-way linear head and a mean-squared loss against standard-normal targets, all at
initialisation. Measured: $\lVert \partial L / \partial W_l \rVert_2$ for every layer's kernel, by
``jax.grad``, over several seeds (seed $s$ initialises the model; seed $1000 + s$ draws the input
and the targets).

Without batch norm: *plain* $x \leftarrow \mathrm{ReLU}(\mathrm{conv}(x))$; *residual*
$x \leftarrow x + \mathrm{ReLU}(\mathrm{conv}(x))$; *dense*
$x \leftarrow [x, \mathrm{ReLU}(\mathrm{conv}(x))]$ with growth rate $k$ chosen so the dense stack
has about as many parameters as the plain one.

With batch norm (training mode: batch statistics), as the papers build them — the stem is
conv, BN, ReLU in all three:

- *plain + BN*: $x \leftarrow \mathrm{ReLU}(\mathrm{BN}(\mathrm{conv}(x)))$, BN "right after each
  convolution and before activation" (He et al. 2016, Sec. 3.4);
- *residual + BN*: He et al.'s basic block, two convolutions per shortcut,
  $x \leftarrow \mathrm{ReLU}(x + \mathrm{BN}(\mathrm{conv}(\mathrm{ReLU}(\mathrm{BN}(
  \mathrm{conv}(x))))))$ ($D$ even: $D/2$ blocks);
- *dense + BN*: DenseNet's composite function BN, ReLU, conv (Huang et al. 2017, Sec. 3),
  $x \leftarrow [x, \mathrm{conv}(\mathrm{ReLU}(\mathrm{BN}(x)))]$, and BN, ReLU before the
  pooling, as DenseNet ends.

:func:`run` measures every variant; :func:`save` and :func:`load` keep a run as a small JSON
file stamped with its seeds, depths, library versions and the command that made it
(:mod:`symconv.experiments.record`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from symconv.errors import SymconvError
from symconv.experiments import record

ARCHS = ("plain", "residual", "dense")
#: every (architecture, batch norm) pair :func:`run` measures, without batch norm first
VARIANTS = tuple((arch, bn) for bn in (False, True) for arch in ARCHS)
# Small one-off programs: compile time dominates, so ask XLA's CPU backend for less optimisation.
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}
WIDTH = 16
DEPTHS = (6, 12, 24)
SEEDS = 3
BATCH = 4


def dense_growth(depth: int, width: int = WIDTH) -> int:
    """Growth rate k giving a dense stack about the plain stack's conv parameters:
    $\\sum_l 9 (C + k(l-1)) k \\approx 9 C^2 D$."""
    target = 9 * width * width * depth
    best = min(range(1, width + 1),
               key=lambda k: abs(sum(9 * (width + k * l) * k for l in range(depth)) - target))
    return best


def variant_name(arch: str, batch_norm: bool) -> str:
    """``"residual"``, ``"residual + BN"``: how figures and notes name a variant."""
    return f"{arch} + BN" if batch_norm else arch


class ConvStack(nnx.Module):
    def __init__(self, arch: str, depth: int, *, rngs: nnx.Rngs, width: int = WIDTH,
                 batch_norm: bool = False):
        if arch not in ARCHS:
            raise SymconvError(f"arch={arch!r} must be one of {ARCHS}")
        if not isinstance(depth, int) or depth < 1:
            raise SymconvError(f"depth={depth!r} must be an int >= 1")
        if batch_norm and arch == "residual" and depth % 2:
            raise SymconvError(f"depth={depth} must be even for residual + BN (two "
                               "convolutions per shortcut)")
        self.arch, self.batch_norm = arch, batch_norm
        self.stem = nnx.Conv(3, width, (3, 3), rngs=rngs)
        k = dense_growth(depth, width) if arch == "dense" else width
        chans = [width + (k * i if arch == "dense" else 0) for i in range(depth)]
        self.convs = nnx.List([nnx.Conv(c, k, (3, 3), rngs=rngs) for c in chans])
        self.head = nnx.Linear(chans[-1] + (k if arch == "dense" else 0), 10, rngs=rngs)
        if batch_norm:  # made after the layers above: their initial weights stay the same
            def bn(c):
                return nnx.BatchNorm(c, use_running_average=False, rngs=rngs)

            self.stem_norm = bn(width)
            self.norms = nnx.List([bn(c if arch == "dense" else k) for c in chans])
            self.final_norm = bn(chans[-1] + k) if arch == "dense" else None

    def __call__(self, x):
        if not self.batch_norm:
            x = self.stem(x)
            for conv in self.convs:
                y = jax.nn.relu(conv(x))
                x = y if self.arch == "plain" else x + y if self.arch == "residual" else \
                    jnp.concatenate([x, y], axis=-1)
            return self.head(jnp.mean(x, axis=(1, 2)))
        relu = jax.nn.relu
        x = relu(self.stem_norm(self.stem(x)))
        layers = list(zip(self.convs, self.norms, strict=True))
        if self.arch == "plain":
            for conv, bn in layers:
                x = relu(bn(conv(x)))
        elif self.arch == "residual":
            for (conv_a, bn_a), (conv_b, bn_b) in zip(layers[::2], layers[1::2], strict=True):
                x = relu(x + bn_b(conv_b(relu(bn_a(conv_a(x))))))
        else:
            for conv, bn in layers:
                x = jnp.concatenate([x, conv(relu(bn(x)))], axis=-1)
            x = relu(self.final_norm(x))
        return self.head(jnp.mean(x, axis=(1, 2)))


@dataclass(frozen=True)
class GradientFlow:
    arch: str
    depth: int
    params: int
    norms: np.ndarray  # (seeds, depth): ||dL/dW_l|| per seed and layer
    batch_norm: bool = False

    @property
    def name(self) -> str:
        return variant_name(self.arch, self.batch_norm)

    @property
    def first_to_last(self) -> float:
        """Median over seeds of ||g_1|| / ||g_D||: below 1 means the gradient fades backwards."""
        return float(np.median(self.norms[:, 0] / self.norms[:, -1]))


def measure_gradient_flow(arch: str, depth: int, seeds: int = SEEDS, batch: int = BATCH, *,
                          batch_norm: bool = False) -> GradientFlow:
    """Gradient norms per layer for ``seeds`` initialisations."""
    def build(rngs):
        return ConvStack(arch, depth, rngs=rngs, batch_norm=batch_norm)

    def init(key):  # built inside jit: one compile for every initialiser of every layer
        return nnx.split(build(nnx.Rngs(params=key)), nnx.Param, ...)[1:]

    graphdef = nnx.split(nnx.eval_shape(lambda: build(nnx.Rngs(0))), nnx.Param, ...)[0]
    init = jax.jit(init, compiler_options=FAST_COMPILE)

    @functools.partial(jax.jit, compiler_options=FAST_COMPILE)
    def layer_norms(params, rest, x, target):
        model = nnx.merge(graphdef, params, rest)  # batch norm updates its statistics in it
        grads = nnx.grad(lambda m: jnp.mean((m(x) - target) ** 2))(model)
        return jnp.stack([jnp.linalg.norm(grads["convs"][i]["kernel"][...])
                          for i in range(depth)])

    norms, count = [], 0
    for seed in range(seeds):
        params, rest = init(jax.random.key(seed))
        count = sum(int(p.size) for p in jax.tree.leaves(params))
        kx, ky = jax.random.split(jax.random.key(1000 + seed))
        x = jax.random.normal(kx, (batch, 16, 16, 3))
        target = jax.random.normal(ky, (batch, 10))
        norms.append(np.asarray(layer_norms(params, rest, x, target)))
    return GradientFlow(arch, depth, count, np.asarray(norms, dtype=np.float64), batch_norm)


def pick(results, arch: str, batch_norm: bool = False) -> list[GradientFlow]:
    """The results of one variant, shallowest first."""
    mine = sorted((r for r in results if (r.arch, r.batch_norm) == (arch, batch_norm)),
                  key=lambda r: r.depth)
    if not mine:
        raise SymconvError(f"no result for {variant_name(arch, batch_norm)!r}")
    return mine


def first_layer_decay(results, arch: str, batch_norm: bool = False) -> float:
    """Median first-layer gradient norm at the largest depth over that at the smallest:
    near 1 means depth does not starve the first layer; near 0, it vanishes; above 1, grows."""
    mine = pick(results, arch, batch_norm)
    return float(np.median(mine[-1].norms[:, 0]) / np.median(mine[0].norms[:, 0]))


@functools.lru_cache(maxsize=4)
def run(depths=DEPTHS, seeds: int = SEEDS, variants=VARIANTS) -> tuple[GradientFlow, ...]:
    """Every variant at every depth (cached: the report renders it more than once)."""
    return tuple(measure_gradient_flow(arch, d, seeds, batch_norm=bn)
                 for d in depths for arch, bn in variants)


def save(path: str | Path, results, *, command: str, depths=DEPTHS,
         seeds: int = SEEDS) -> dict:
    """Write ``results`` to ``path``, stamped (:mod:`symconv.experiments.record`)."""
    setting = {"depths": list(depths), "batch": BATCH, "width": WIDTH,
               "init seeds": list(range(seeds)), "data seeds": [1000 + s for s in range(seeds)]}
    rows = [{"arch": r.arch, "batch_norm": r.batch_norm, "depth": r.depth, "params": r.params,
             "norms": r.norms.tolist()} for r in results]
    return record.write(path, record.stamp(command, **setting), rows)


def load(path: str | Path) -> tuple[tuple[GradientFlow, ...], dict]:
    """The results and stamp :func:`save` wrote."""
    rows, stamp = record.read(path)
    try:
        return tuple(GradientFlow(r["arch"], int(r["depth"]), int(r["params"]),
                                  np.asarray(r["norms"], dtype=np.float64), bool(r["batch_norm"]))
                     for r in rows), stamp
    except (KeyError, TypeError, ValueError) as e:
        raise SymconvError(f"{path}: not a gradient-flow result ({e})") from None
