r"""How much of the loss gradient reaches each layer of plain, residual and dense stacks.

Setting (stated, not assumed): $D$ layers of $3\times3$ convolutions with ReLU and no batch
norm, Flax's default initialisation (LeCun normal kernels, zero biases), an input
$B \times 16 \times 16 \times 3$ of standard normals, a stem conv to $C = 16$ maps, global average
pooling, a 10-way linear head and a mean-squared loss against standard-normal targets, all at
initialisation. *Plain*: $x \leftarrow \mathrm{ReLU}(\mathrm{conv}(x))$; *residual*:
$x \leftarrow x + \mathrm{ReLU}(\mathrm{conv}(x))$; *dense*:
$x \leftarrow [x, \mathrm{ReLU}(\mathrm{conv}(x))]$ with growth rate $k$ chosen so the dense stack
has about as many parameters as the plain one. Measured: $\lVert \partial L / \partial W_l
\rVert_2$ for every layer's kernel, by ``jax.grad``, over several seeds.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from symconv.errors import SymconvError

ARCHS = ("plain", "residual", "dense")
# Small one-off programs: compile time dominates, so ask XLA's CPU backend for less optimisation.
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}
WIDTH = 16


def dense_growth(depth: int, width: int = WIDTH) -> int:
    """Growth rate k giving a dense stack about the plain stack's conv parameters:
    $\\sum_l 9 (C + k(l-1)) k \\approx 9 C^2 D$."""
    target = 9 * width * width * depth
    best = min(range(1, width + 1),
               key=lambda k: abs(sum(9 * (width + k * l) * k for l in range(depth)) - target))
    return best


class ConvStack(nnx.Module):
    def __init__(self, arch: str, depth: int, *, rngs: nnx.Rngs, width: int = WIDTH):
        if arch not in ARCHS:
            raise SymconvError(f"arch={arch!r} must be one of {ARCHS}")
        if not isinstance(depth, int) or depth < 1:
            raise SymconvError(f"depth={depth!r} must be an int >= 1")
        self.arch = arch
        self.stem = nnx.Conv(3, width, (3, 3), rngs=rngs)
        k = dense_growth(depth, width) if arch == "dense" else width
        chans = [width + (k * i if arch == "dense" else 0) for i in range(depth)]
        self.convs = nnx.List([nnx.Conv(c, k, (3, 3), rngs=rngs) for c in chans])
        self.head = nnx.Linear(chans[-1] + (k if arch == "dense" else 0), 10, rngs=rngs)

    def __call__(self, x):
        x = self.stem(x)
        for conv in self.convs:
            y = jax.nn.relu(conv(x))
            x = y if self.arch == "plain" else x + y if self.arch == "residual" else \
                jnp.concatenate([x, y], axis=-1)
        return self.head(jnp.mean(x, axis=(1, 2)))


@dataclass(frozen=True)
class GradientFlow:
    arch: str
    depth: int
    params: int
    norms: np.ndarray  # (seeds, depth): ||dL/dW_l|| per seed and layer

    @property
    def first_to_last(self) -> float:
        """Median over seeds of ||g_1|| / ||g_D||: below 1 means the gradient fades backwards."""
        return float(np.median(self.norms[:, 0] / self.norms[:, -1]))


def measure_gradient_flow(arch: str, depth: int, seeds: int = 3, batch: int = 4) -> GradientFlow:
    """Gradient norms per layer for ``seeds`` initialisations."""
    def init(key):  # built inside jit: one compile for every initialiser of every layer
        return nnx.split(ConvStack(arch, depth, rngs=nnx.Rngs(params=key)))[1]

    graphdef = nnx.split(nnx.eval_shape(lambda: ConvStack(arch, depth, rngs=nnx.Rngs(0))))[0]
    init = jax.jit(init, compiler_options=FAST_COMPILE)

    @functools.partial(jax.jit, compiler_options=FAST_COMPILE)
    def layer_norms(state, x, target):
        def loss(state):
            return jnp.mean((nnx.merge(graphdef, state)(x) - target) ** 2)

        grads = jax.grad(loss)(state)
        return jnp.stack([jnp.linalg.norm(grads["convs"][i]["kernel"][...])
                          for i in range(depth)])

    norms, params = [], 0
    for seed in range(seeds):
        state = init(jax.random.key(seed))
        params = sum(int(p.size) for p in jax.tree.leaves(state))
        kx, ky = jax.random.split(jax.random.key(1000 + seed))
        x = jax.random.normal(kx, (batch, 16, 16, 3))
        target = jax.random.normal(ky, (batch, 10))
        norms.append(np.asarray(layer_norms(state, x, target)))
    return GradientFlow(arch, depth, params, np.asarray(norms, dtype=np.float64))


def first_layer_decay(results: list[GradientFlow], arch: str) -> float:
    """Median first-layer gradient norm at the largest depth over that at the smallest:
    near 1 means depth does not starve the first layer; near 0, it vanishes; above 1, grows."""
    mine = sorted((r for r in results if r.arch == arch), key=lambda r: r.depth)
    return float(np.median(mine[-1].norms[:, 0]) / np.median(mine[0].norms[:, 0]))


@functools.lru_cache(maxsize=4)
def run(depths=(6, 12, 24), seeds: int = 3) -> tuple[GradientFlow, ...]:
    """Every architecture at every depth (cached: the report renders it more than once)."""
    return tuple(measure_gradient_flow(arch, d, seeds) for d in depths for arch in ARCHS)
