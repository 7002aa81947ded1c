"""The tracer's rules against XLA's own count (``jax.jit(f).lower(...).cost_analysis()``, lowered
not compiled): convolutions at small sizes, primitives with a measured rule, and what XLA does not
count (dead code, free identities, folded constants). Never the tracer against itself."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from flax import nnx
from hypothesis import HealthCheck, given, settings

from symconv.checks import xla
from symconv.checks.trace import TraceResult, trace
from symconv.errors import SymconvError
from symconv.models import flax_layer
from symconv.testing import conv2d_configs

SIZES = range(1, 13)


def xla_cost(f, *args) -> tuple[int, int]:
    """(flops, transcendentals) of the lowered (not compiled) HLO of ``f`` at ``args``."""
    a = jax.jit(f).lower(*args).cost_analysis() or {}
    return int(a.get("flops", 0)), int(a.get("transcendentals", 0))


def spec(shape, dtype=jnp.float32):
    return jax.ShapeDtypeStruct(shape, dtype)


# --- A: convolutions whose padding reaches past a small input -------------------------------

def test_padding_past_the_input_is_exact_for_every_length():
    """``nnx.Conv(1, 1, (7,), padding=3)`` on N = 1 reads one real tap (XLA: 2 FLOPs + bias)."""
    m = nnx.Conv(1, 1, (7,), padding=3, rngs=nnx.Rngs(0))
    result = trace(m, "B, N, 1")
    assert result.conditions == ()
    for n in SIZES:
        assert result.at({"B": 2, "N": n}) == xla.cost(m, (2, n, 1))["flops"], n


CONVS = [  # (channels, kernel, stride, dilation, padding, groups = channels?)
    (3, 7, 1, 1, "SAME", True),   # depthwise 7x7
    (2, 7, 2, 1, "SAME", True),   # strided depthwise
    (2, 7, 1, 2, "SAME", False),  # dilated
    (2, 5, 2, 2, (1, 4), False),  # strided + dilated, uneven explicit padding
    (2, 7, 3, 1, 3, True),        # stride 3, padding 3
    (2, 4, 2, 1, "SAME", False),  # even kernel
]


@pytest.mark.parametrize("c, k, s, d, pad, depthwise", CONVS)
def test_small_maps_against_xla(c, k, s, d, pad, depthwise):
    m = nnx.Conv(c, c, (k, k), strides=s, kernel_dilation=d, padding=pad,
                 feature_group_count=c if depthwise else 1, rngs=nnx.Rngs(0))
    result = trace(m, f"B, H, W, {c}")
    assert result.conditions == ()
    for h in SIZES:
        w = 13 - h  # every height once, with a width from the other end
        assert result.at({"B": 1, "H": h, "W": w}) == xla.cost(m, (1, h, w, c))["flops"], (h, w)


def test_seven_by_seven_on_one_pixel_and_eight_by_eight():
    m = nnx.Conv(4, 4, (7, 7), padding="SAME", feature_group_count=4, rngs=nnx.Rngs(0))
    result = trace(m, "B, H, W, 4")
    for h in (1, 2, 8):
        assert result.at({"B": 1, "H": h, "W": h}) == xla.cost(m, (1, h, h, 4))["flops"]
    assert result.at({"B": 1, "H": 1, "W": 1}) == 2 * 4 + 4  # the centre tap and the bias


@pytest.mark.parametrize("k, s, pad", [(3, 2, "SAME"), (7, 2, "SAME"), (5, 3, "VALID")])
def test_transposed_small_inputs(k, s, pad):
    m = nnx.ConvTranspose(2, 2, (k,), strides=s, padding=pad, rngs=nnx.Rngs(0))
    result = trace(m, "B, N, 2")
    for n in range(1, 9):
        assert result.at({"B": 1, "N": n}) == xla.cost(m, (1, n, 2))["flops"], n


@settings(max_examples=25, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(conv2d_configs())
def test_random_convolutions_down_to_the_smallest_input(case):
    """Grouped, strided, dilated, any padding; inputs from the smallest the padded kernel fits."""
    b, h, w, c = case.input_shape
    model = xla.abstract(lambda: flax_layer(case.spec, rngs=nnx.Rngs(0)))
    result = trace(model, f"B, H, W, {c}")
    assert result.conditions == ()
    assert result.at({"B": b, "H": h, "W": w}) == xla.flops(model, case.input_shape), case


def test_failed_condition_is_named_at_evaluation():
    n = sp.Symbol("N", integer=True, positive=True)
    result = TraceResult((), {}, {}, {"N": n}, (n,), (n,), (sp.Ge(n - 3, 0),))
    with pytest.raises(SymconvError, match="N - 3 >= 0"):
        result.at({"N": 1})
    assert result.at({"N": 3}) == 0


# --- B: primitives with a measured rule -----------------------------------------------------

def agree(f, dims: str, points: list[dict], dtype=jnp.float32) -> None:
    """The traced closed form of ``f`` equals XLA's FLOPs and transcendentals at every point."""
    result = trace(f, dims, dtype)
    assert result.complete, result.unknown
    names = [d.strip() for d in dims.split(",")]
    for point in points:
        shape = tuple(point[d] if d in point else int(d) for d in names)
        want = xla_cost(f, spec(shape, dtype))
        got = (result.at(point), result.at(point, "transcendentals"))
        assert got == want, (point, got, want)


ROWS = [{"N": n} for n in (1, 2, 3, 5, 8)]

UNARY = {
    "gelu_exact": lambda x: jax.nn.gelu(x, approximate=False),
    "erfc": jax.lax.erfc, "erf_inv": lambda x: jax.lax.erf_inv(x * 0.5), "lgamma": jax.lax.lgamma,
    "digamma": jax.lax.digamma, "asin": jnp.arcsin, "acos": jnp.arccos, "sinh": jnp.sinh,
    "cosh": jnp.cosh, "asinh": jnp.arcsinh, "acosh": jnp.arccosh, "atanh": jnp.arctanh,
    "nextafter": lambda x: jnp.nextafter(x, 2 * x), "pow": lambda x: x ** x,
    "rem": lambda x: x % (x + 2), "clamp": lambda x: jax.lax.clamp(-x, x, x * x),
    "reduce_precision": lambda x: jax.lax.reduce_precision(x, 5, 10),
    "bitcast_shift": lambda x: jax.lax.shift_right_logical(
        jax.lax.bitcast_convert_type(x, jnp.uint32), jnp.uint32(3)),
    "shift_left_popcount": lambda x: jax.lax.population_count(
        jax.lax.shift_left(x.astype(jnp.int32), 2)),
    "bitcast_narrow": lambda x: jax.lax.bitcast_convert_type(x, jnp.int16),
    "tile": lambda x: jnp.tile(x, (2, 3)) * 2.0,
    "stack": lambda x: jnp.stack([x * 2.0, x * 3.0]) + jnp.stack(  # on constants, too
        jnp.meshgrid(jnp.arange(4), jnp.arange(4))).sum(),
    "argmax": lambda x: jnp.argmax(x, axis=1) + jnp.argmin(x.astype(jnp.int32), axis=1),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_elementwise_rules_against_xla(name):
    agree(UNARY[name], "N, 7", ROWS)


def _mixed_dot(a, b, out=jnp.float32):
    return jax.lax.dot_general(a, b, (((a.ndim - 1,), (0,)), ((), ())),
                               preferred_element_type=out)


_GRID = np.arange(21, dtype=np.int32).reshape(7, 3)
MIXED_DOTS = {  # operands of two dtypes: JAX converts each to the output's dtype first
    "iota_i32_outer_f32": lambda x: jnp.einsum(  # the sin-cos position embedding's grid
        "m,d->md", jnp.arange(7), x[:, 0]),
    "f32_bf16": lambda x: _mixed_dot(x, x[:1].T.astype(jnp.bfloat16)),
    "f32_bf16_to_bf16": lambda x: _mixed_dot(x, x[:1].T.astype(jnp.bfloat16), jnp.bfloat16),
    "i8_bf16": lambda x: _mixed_dot(x.astype(jnp.int8), _GRID.astype(jnp.bfloat16)),
    "f32_closed_i32": lambda x: _mixed_dot(x, _GRID),  # a constant: its convert folds
    "f32_iota_i32": lambda x: _mixed_dot(x, jax.lax.broadcasted_iota(jnp.int32, (7, 3), 0)),
    "bf16_bf16_f32": lambda x: _mixed_dot(x.astype(jnp.bfloat16), _GRID.astype(jnp.bfloat16)),
}


@pytest.mark.parametrize("name", sorted(MIXED_DOTS))
def test_dot_of_mixed_dtypes_against_xla(name):
    agree(MIXED_DOTS[name], "N, 7", ROWS)


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.bfloat16, jnp.float16])
def test_expansions_by_dtype(dtype):
    if dtype == jnp.float64 and not jax.config.jax_enable_x64:
        with jax.enable_x64(True):
            agree(lambda x: jax.lax.erfc(x) + jax.lax.erf_inv(x) + jnp.sinh(x), "N, 3",
                  ROWS[:3], dtype)
        return
    agree(lambda x: jax.lax.erfc(x) + jax.lax.lgamma(x) + jnp.cosh(x), "N, 3", ROWS[:3], dtype)


CUMULATIVE = {"cumsum": jax.lax.cumsum, "cumprod": jax.lax.cumprod, "cummax": jax.lax.cummax,
              "cummin": jax.lax.cummin, "cumlogsumexp": jax.lax.cumlogsumexp}


@pytest.mark.parametrize("name", sorted(CUMULATIVE))
def test_cumulative_ops_are_what_xla_counts(name):
    op = CUMULATIVE[name]
    agree(lambda x: op(x, axis=1) + op(x, axis=0, reverse=True), "N, 5", ROWS)
    result = trace(lambda x: op(x, axis=1), "N, 5")
    n = result.symbols["N"]
    c = 8 if name == "cumlogsumexp" else 1
    assert sp.expand(result.total() - c * 20 * n) == 0  # XLA: N * 5 * (5 - 1)
    assert sp.expand(result.algorithmic() - c * 4 * n) == 0  # a scan: N * (5 - 1)


def test_embedding_lookup_is_charged_per_index():
    emb = nnx.Embed(50, 16, rngs=nnx.Rngs(0))
    result = trace(emb, "B, T", jnp.int32)
    assert result.complete
    for b, t in ((1, 1), (2, 3), (3, 7)):
        assert result.at({"B": b, "T": t}) == xla.cost(emb, (b, t), jnp.int32)["flops"]
    b, t = result.symbols["B"], result.symbols["T"]
    # normalisation (lt, add, select) 3, mask (ge, le, and) 3, select with the fill 16
    assert sp.expand(result.total() - b * t * (3 + 3 + 16)) == 0


INDEXING = {
    "take_fill": lambda i: jnp.arange(40.0).reshape(10, 4).at[i].get(mode="fill") * 2.0,
    "take2_fill": lambda i: jnp.ones((10, 6, 3)).at[i, (i * 2) % 6].get(mode="fill"),
    "take_clip": lambda i: jnp.take(jnp.arange(40.0).reshape(10, 4), i, axis=0, mode="clip"),
    "scatter_add": lambda i: jnp.zeros((10, 4)).at[i].add(i[:, None].astype(jnp.float32)),
    "scatter_max_clip": lambda i: jnp.zeros((10, 4)).at[i].max(
        i[:, None].astype(jnp.float32), mode="clip"),
    "scatter_set": lambda i: jnp.zeros((10, 4)).at[i].set(i[:, None].astype(jnp.float32)),
}


@pytest.mark.parametrize("name", sorted(INDEXING))
def test_gather_scatter_against_xla(name):
    agree(INDEXING[name], "N", [{"N": n} for n in (1, 3, 7)], jnp.int32)


def test_sorts_against_xla():
    agree(lambda x: jnp.sort(x, axis=0) + jnp.argsort(x, axis=1), "N, 6", ROWS)
    agree(lambda x: jax.lax.top_k(x, 3)[0] * 2.0, "N, 6", ROWS)


@pytest.mark.parametrize("window, stride, pad", [(3, 2, "VALID"), (2, 1, "SAME"), (3, 3, "SAME")])
def test_max_pool_gradient_against_xla(window, stride, pad):
    def f(x):
        return jax.grad(lambda y: nnx.max_pool(y, (window, window), (stride, stride),
                                               padding=pad).sum())(x)

    agree(f, "1, H, H, 2", [{"H": h} for h in (3, 5, 8)])


def test_random_numbers_against_xla():
    def noisy(x):
        key = jax.random.key(jnp.int32(x.shape[0]) + jnp.sum(x > 0))  # a key that is not constant
        k1, k2 = jax.random.split(jax.random.fold_in(key, 3))
        bits = jax.random.bits(k2, x.shape, jnp.uint8).astype(jnp.float32)
        return x * jax.random.normal(k1, x.shape) + bits

    agree(noisy, "N, 3", [{"N": n} for n in (1, 2, 5)])
    agree(noisy, "N, 1, 4", [{"N": n} for n in (1, 3)])


SEEDED = {  # a constant seed: the low word's convert folds, the high word's shift does not
    "key_data": lambda x: x * 2 + jax.random.key_data(jax.random.key(7)).sum().astype(x.dtype),
    "uniform": lambda x: x * jax.random.uniform(jax.random.key(1), x.shape),
    "split_in_while": lambda x: jax.lax.while_loop(
        lambda s: (s[0] < 5) & (s[1].sum() < 100.0),
        lambda s: (s[0] + 1, s[1] * 2.0, jax.random.split(s[2])[0]),
        (0, x, jax.random.key(1)))[1],
}


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_constant_seed_against_xla(name):
    f = SEEDED[name]
    result = trace(f, "N, 4")
    for n in (1, 3):
        assert result.at({"N": n}, figure="xla") == xla_cost(f, spec((n, 4)))[0], n


# --- D: what XLA does not count -------------------------------------------------------------

class TwoHeads(nnx.Module):
    """Computes a head and discards it: XLA never sees the discarded work."""

    def __init__(self, rngs):
        self.conv = nnx.Conv(3, 4, (3, 3), rngs=rngs)
        self.head = nnx.Linear(4, 10, rngs=rngs)
        self.aux = nnx.Linear(4, 7, rngs=rngs)

    def __call__(self, x):
        y = jax.nn.relu(self.conv(x)).mean(axis=(1, 2))
        _ = jax.nn.softmax(self.aux(y))  # dead
        return self.head(y)


def test_dead_code_is_not_counted():
    model = TwoHeads(nnx.Rngs(0))
    result = trace(model, "B, H, W, 3")
    assert "aux" not in {op.path.split(".")[0] for op in result.ops}
    for b, h in ((1, 4), (2, 9)):
        want = xla.cost(model, (b, h, h, 3))
        assert result.at({"B": b, "H": h, "W": h}) == want["flops"]
        assert result.at({"B": b, "H": h, "W": h}, "transcendentals") == want["transcendentals"]


@jax.jit
def _two_outputs(x):
    return jnp.exp(x), x * 2.0


@jax.custom_jvp
def _custom_pair(x):
    return jnp.exp(x) * 2.0, jnp.sin(x)


_custom_pair.defjvp(lambda p, t: (_custom_pair(*p), _custom_pair(*t)))

DEAD = {
    "top_level": lambda x: (jnp.exp(x) * 2, x + 1)[1],
    "inner_jit_output": lambda x: _two_outputs(x)[1],
    "custom_jvp_output": lambda x: _custom_pair(x)[1],
    "checkpoint_output": lambda x: jax.checkpoint(lambda y: (jnp.exp(y), jnp.sin(y)))(x)[1],
    "discarded_sum": lambda x: (jnp.sum(x * x), jnp.tanh(x))[1],
}


@pytest.mark.parametrize("name", sorted(DEAD))
def test_dead_outputs_against_xla(name):
    agree(DEAD[name], "N, 8", [{"N": 1}, {"N": 3}])


ONES = np.ones((8,), np.float32)
IDENTITIES = {  # each: (function, FLOPs XLA counts per element of an N x 8 input)
    "x*1": (lambda x: x * 1.0, 0), "1*x": (lambda x: 1.0 * x, 0), "x+0": (lambda x: x + 0.0, 0),
    "0+x": (lambda x: 0.0 + x, 0), "x-0": (lambda x: x - 0.0, 0),
    "x*ones_like": (lambda x: x * jnp.ones_like(x), 0),
    "x*ones_row": (lambda x: x * jnp.ones((8,)), 0),
    "x*closed_ones": (lambda x: x * ONES, 0),
    "x*folded_one": (lambda x: x * (ONES * 0.0 + 1.0), 0),
    "x/1": (lambda x: x / 1.0, 1), "0-x": (lambda x: 0.0 - x, 1),
    "x*2": (lambda x: x * 2.0, 1), "max(x,x)": (lambda x: jnp.maximum(x, x), 1),
    "jit(x*one)": (lambda x: jax.jit(lambda y, one: y * one)(x, 1.0), 1),
}


INT_IDENTITIES = {"i*1": lambda x: x * 1, "i+0": lambda x: x + 0, "i&-1": lambda x: x & -1,
                  "i|0": lambda x: x | 0, "i^0": lambda x: x ^ 0, "i<<0": lambda x: x << 0,
                  "u&max": lambda x: x.astype(jnp.uint32) & jnp.uint32(2**32 - 1)}


@pytest.mark.parametrize("name", sorted(INT_IDENTITIES))
def test_integer_identities_against_xla(name):
    agree(INT_IDENTITIES[name], "N, 8", [{"N": 2}], jnp.int32)


@pytest.mark.parametrize("name", sorted(IDENTITIES))
def test_free_identities_against_xla(name):
    f, per = IDENTITIES[name]
    agree(f, "N, 8", [{"N": 1}, {"N": 4}])
    result = trace(f, "N, 8")
    assert sp.expand(sp.sympify(result.total()) - 8 * per * result.symbols["N"]) == 0


SPLATS = {  # constants that are splats whatever the sizes: XLA folds them, broadcasts too
    "dim_minus_full": lambda x: x * (x.shape[1] + jnp.full(x.shape[:1], x.shape[1]))[:, None],
    "dim_row_grown": lambda x: x * jnp.broadcast_to(
        (jnp.full(x.shape[:1], x.shape[1]) + 1)[:, None], x.shape),
}


@pytest.mark.parametrize("name", sorted(SPLATS))
def test_splats_of_a_dimension_fold_against_xla(name):
    """``jnp.full((B,), L)`` (the LSTM's full-length ``lengths``) is a splat at every size,
    though its value is a dimension: the work on it folds, its broadcasts too."""
    agree(SPLATS[name], "B, L", [{"B": 1, "L": 6}, {"B": 3, "L": 10}])


IOTAS = {  # an iota along an axis of size 1 is zeros: XLA folds it and the work on it
    "iota_1_float": lambda x: x * (jax.lax.iota(jnp.float32, 1) + 2.0),
    "iota_1_int": lambda x: x * (jax.lax.iota(jnp.int32, 1) + 2).astype(jnp.float32),
    "iota_1x5_axis0": lambda x: x * (jax.lax.broadcasted_iota(jnp.float32, (1, 5), 0) + 2.0),
    "iota_1x5_axis1": lambda x: x * (jax.lax.broadcasted_iota(jnp.float32, (1, 5), 1) + 2.0),
}


@pytest.mark.parametrize("name", sorted(IOTAS))
def test_iota_along_a_unit_axis_folds_against_xla(name):
    f = IOTAS[name]
    for shape in ((3, 5), (1, 5)):
        assert trace(f, shape).total() == xla_cost(f, spec(shape))[0], shape


def batch_norm(x, scale, var, mean, bias):
    inv = scale * jax.lax.rsqrt(var + 1e-5)
    return x * inv + (bias - mean * inv)


def standardised_dense(x, w):
    w = (w - w.mean(axis=0)) / jnp.sqrt(w.var(axis=0) + 1e-5)
    return x @ w


def test_parameter_work_as_arguments_and_as_constants():
    """Arguments: XLA cannot fold parameter-only work and counts it; closed over, it folds
    it, and also the identities the parameters' values make (mean 0, bias 0)."""
    rng = np.random.default_rng(0)
    params = [rng.uniform(0.5, 2, 8).astype(np.float32) for _ in range(4)]
    w = rng.normal(size=(8, 5)).astype(np.float32)

    class Norm(nnx.Module):
        def __init__(self):
            self.p = nnx.List([nnx.Param(jnp.asarray(p)) for p in params])
            self.w = nnx.Param(jnp.asarray(w))

        def __call__(self, x):
            return standardised_dense(batch_norm(x, *[p[...] for p in self.p]), self.w[...])

    model = Norm()
    as_args = trace(model, "N, 8")
    for n in (1, 3):
        assert as_args.at({"N": n}) == xla.cost(model, (n, 8))["flops"]
        assert as_args.at({"N": n}, "transcendentals") == 8 + 5
    agree(lambda x: standardised_dense(batch_norm(x, *params), w), "N, 8", [{"N": 1}, {"N": 3}])
    zeros = [params[0], params[1], np.zeros(8, np.float32), np.zeros(8, np.float32)]
    agree(lambda x: batch_norm(x, *zeros), "N, 8", [{"N": 2}])  # 8 N: only x * inv
    assert trace(lambda x: batch_norm(x, *zeros), "N, 8").at({"N": 2}) == 16


def test_nnx_batch_norm_in_both_modes():
    bn = nnx.BatchNorm(8, use_running_average=True, rngs=nnx.Rngs(0))
    result = trace(bn, "N, 8")
    assert result.at({"N": 3}) == xla.cost(bn, (3, 8))["flops"]
    agree(lambda x: bn(x), "N, 8", [{"N": 3}])  # closed over: mean 0, scale 1 fold away


def test_unpriced_configuration_is_reported_and_the_rest_still_priced():
    result = trace(lambda x: jnp.exp(x.astype(jnp.complex64)).real + jnp.tanh(x), "N, 4")
    assert not result.complete and "exp (complex)" in result.unknown
    assert result.total("transcendentals") == 4 * result.symbols["N"]  # the tanh after it


class SmallNet(nnx.Module):
    def __init__(self, rngs, stride):
        self.c1 = nnx.Conv(3, 8, (3, 3), strides=stride, rngs=rngs)
        self.dw = nnx.Conv(8, 8, (3, 3), feature_group_count=8, rngs=rngs)
        self.bn = nnx.BatchNorm(8, use_running_average=True, rngs=rngs)
        self.fc = nnx.Linear(8, 4, rngs=rngs)

    def __call__(self, x):
        y = jax.nn.gelu(self.bn(self.dw(jax.nn.relu(self.c1(x)))), approximate=False)
        return self.fc(nnx.max_pool(y, (2, 2), (2, 2)).mean(axis=(1, 2)))


@pytest.mark.parametrize("stride", [1, 2])
def test_parameter_gradient_against_xla(stride):
    """A training gradient: transposed and batch-grouped convolutions (the depthwise weight
    gradient), max-pool gradient, exact GELU, dead forward work; parameters closed over."""
    graph, state = nnx.split(SmallNet(nnx.Rngs(0), stride))

    def step(x):
        return jax.grad(lambda s: jnp.sum(nnx.merge(graph, s)(x) ** 2))(state)

    if stride == 1:  # symbolic: JAX cannot transpose a strided 'SAME' conv of symbolic size
        agree(step, "B, H, W, 3", [{"B": 1, "H": 4, "W": 4}, {"B": 2, "H": 9, "W": 6}])
        return
    for shape in ((1, 8, 8, 3), (2, 11, 7, 3), (1, 3, 3, 3)):
        result = trace(step, shape)
        assert result.complete
        assert (result.total(), result.total("transcendentals")) == xla_cost(step, spec(shape))


def test_prng_key_state_at_the_boundary_is_xla_minus_one():
    """An NNX model with random state (dropout in training mode) takes its key as an argument;
    XLA counts the key's sharding constraint as -1 FLOP: ``xla_total`` is XLA's figure, the
    true total the equations' sum, one more."""
    class Drop(nnx.Module):
        def __init__(self, rngs):
            self.fc = nnx.Linear(8, 16, rngs=rngs)
            self.drop = nnx.Dropout(0.5, rngs=rngs)

        def __call__(self, x):
            return self.drop(self.fc(x))

    model = Drop(nnx.Rngs(0))
    result = trace(model, "B, 8")
    assert result.complete and result.key_constraints == 1
    for b in (1, 3):
        assert result.at({"B": b}, figure="xla") == xla.cost(model, (b, 8))["flops"]
        assert result.at({"B": b}) == result.at({"B": b}, figure="xla") + 1


def test_key_made_while_building_abstractly_is_lifted_to_an_argument():
    """A model built under ``nnx.eval_shape`` (as ``symconv cost`` builds a factory) that keeps
    a key it made while building holds a tracer; ``jax.jit`` lifts it into an argument under a
    sharding constraint (-1 in XLA's count). A concrete key is inlined and costs nothing."""
    class Noisy(nnx.Module):
        def __init__(self, key):
            self.fc = nnx.Linear(8, 16, rngs=nnx.Rngs(0))
            self.noise = lambda shape: jax.random.normal(key, shape)  # static: a callable

        def __call__(self, x):
            return self.fc(x) + self.noise((x.shape[0], 16))

    lifted = xla.abstract(lambda: Noisy(jax.random.key(2)))
    concrete_key = jax.random.key(2)
    inlined = xla.abstract(lambda: Noisy(concrete_key))
    for model, constraints in ((lifted, 1), (inlined, 0)):
        result = trace(model, "B, 8")
        assert result.complete and result.key_constraints == constraints
        for b in (1, 3):
            assert result.at({"B": b}, figure="xla") == xla.cost(model, (b, 8))["flops"]
            assert result.at({"B": b}) == result.at({"B": b}, figure="xla") + constraints


def test_static_slice_on_a_symbolic_batch_and_its_gradient_are_free():
    """``x[:, 2:18, 2:18]`` with a symbolic batch is a gather and its gradient a scatter-add into
    zeros; at every concrete batch JAX writes slice and pad, which XLA counts as free: the
    closed form in B equals XLA's count of the concrete program. A ``.at[...].add`` the user
    writes is a scatter-add at concrete sizes too, and is counted."""
    def grad_of_crop(x):
        return jax.grad(lambda x: jnp.sum(x[:, 2:18, 2:18, :] ** 2))(x)

    def add_window(x):
        return jnp.zeros_like(x).at[:, 2:18, 2:18, :].add(x[:, :16, :16, :] * 2)

    for f in (grad_of_crop, add_window):
        result = trace(f, "B, 20, 20, 3")
        assert result.complete
        for b in (1, 3):
            assert (result.at({"B": b}), result.at({"B": b}, "transcendentals")) == xla_cost(
                f, spec((b, 20, 20, 3))), (f.__name__, b)
