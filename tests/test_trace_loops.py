"""Loops (:mod:`symconv.checks.trace.loops`): the tracer's true count is the trip count times
the body, equal to XLA's count of the unrolled loop; its XLA figure (one body plus the loop's
control) equals XLA's ``cost_analysis`` of the loop itself, which charges a body once."""

import jax
import jax.numpy as jnp
import pytest
import sympy as sp
from flax import nnx

from symconv.checks import xla
from symconv.checks.trace import trace


def _both(result, values, measured, figure="xla"):
    for attr in ("flops", "transcendentals"):
        assert result.at(values, attr, figure=figure) == measured[attr], attr


def body(c, x):
    return jnp.tanh(c * x + 1.0), c * 2.0


def scanned(xs):
    return jax.lax.scan(body, xs[0], xs)


def unrolled_scan(xs):
    c, ys = xs[0], []
    for i in range(xs.shape[0]):
        c, y = body(c, xs[i])
        ys.append(y)
    return c, jnp.stack(ys)


@pytest.mark.parametrize("n", [1, 3, 7])
def test_scan_over_symbolic_axis(n):
    result = trace(scanned, "N, 4")
    assert result.complete and len(result.loops) == 1
    loop = result.loops[0]
    assert loop.kind == "scan" and str(loop.trips) == "N"
    _both(result, {"N": n}, xla.cost(scanned, (n, 4)))  # XLA: one body + counter
    # the true payload is XLA's count of the same computation unrolled
    _both(result, {"N": n}, xla.cost(unrolled_scan, (n, 4)), figure="payload")
    assert result.at({"N": n}) > result.at({"N": n}, figure="payload")  # control apart


def fori_static(a):
    return jax.lax.fori_loop(0, 5, lambda i, c: jnp.sin(c) * 2.0, a)


def fori_symbolic(a):  # bounds not Python ints: lowered to a while, trip count a dimension
    return jax.lax.fori_loop(0, a.shape[0], lambda i, c: c * 2.0 + 1.0, a)


def counted_while(a):  # the same written as a while: a while at concrete sizes too
    def step(s):
        return s[0] + 1, s[1], s[2] * 2.0 + 1.0

    return jax.lax.while_loop(lambda s: s[0] < s[1], step, (0, a.shape[0], a))[2]


def test_fori_loop_with_static_bounds_is_five_bodies():
    result = trace(fori_static, "N, 10")
    assert result.complete and result.loops[0].trips == 5
    n = result.symbols["N"]
    assert sp.expand(result.payload("flops") - 5 * 10 * n) == 0
    assert sp.expand(result.payload("transcendentals") - 5 * 10 * n) == 0
    for v in (1, 4):
        _both(result, {"N": v}, xla.cost(fori_static, (v, 10)))
        unrolled = xla.cost(lambda a: fori_unrolled(a, 5, lambda i, c: jnp.sin(c) * 2.0), (v, 10))
        _both(result, {"N": v}, unrolled, figure="payload")


def fori_unrolled(a, n, f):
    for i in range(n):
        a = f(i, a)
    return a


@pytest.mark.parametrize("f", [fori_symbolic, counted_while])
def test_loop_to_a_dimension_is_a_symbolic_trip_count(f):
    result = trace(f, "N, 3")
    loop = result.loops[0]
    assert loop.kind == "fori" and not loop.data_dependent and str(loop.trips) == "N"
    n = result.symbols["N"]
    assert sp.expand(result.payload() - n * 6 * n) == 0
    for v in (1, 2, 6):
        unrolled = xla.cost(lambda a, v=v: fori_unrolled(a, v, lambda i, c: c * 2.0 + 1.0),
                            (v, 3))
        _both(result, {"N": v}, unrolled, figure="payload")
        if f is counted_while:  # at a concrete size fori_loop becomes a scan: another loop
            _both(result, {"N": v}, xla.cost(f, (v, 3)))


def test_data_dependent_while_has_a_named_trip_count():
    def f(a):
        return jax.lax.while_loop(lambda c: c.sum() < 100.0, lambda c: jnp.exp(c) + c, a)

    result = trace(f, "N, 10")
    loop = result.loops[0]
    assert loop.kind == "while" and loop.data_dependent and str(loop.trips) == "T_while1"
    assert "T_while1" in result.trip_symbols
    t, n = result.trip_symbols["T_while1"], result.symbols["N"]
    assert sp.expand(result.payload() - t * 10 * n) == 0
    assert sp.expand(result.payload("transcendentals") - t * 10 * n) == 0
    for v in (1, 3):
        _both(result, {"N": v}, xla.cost(f, (v, 10)))
        assert result.at({"N": v, "T_while1": 4}, figure="payload") == \
            xla.cost(lambda a: fori_unrolled(a, 4, lambda i, c: jnp.exp(c) + c), (v, 10))["flops"]
    with pytest.raises(Exception, match="T_while1"):
        result.at({"N": 2})


def indexed_while(x):  # the body reads row i + 1: index arithmetic only the payload reads
    def step(s):
        return s[0] + 1, s[1] + x[s[0] + 1] * 2.0

    return jax.lax.while_loop(lambda s: (s[0] < x.shape[0] - 1) & (s[1].sum() < 1e3), step,
                              (0, x[0]))[1]


def indexed_scan(x):  # the same in a scan over indices
    return jax.lax.scan(lambda c, i: (c + x[2 * i] * 2.0, None), x[0],
                        jnp.arange(x.shape[0] // 2))[0]


@pytest.mark.parametrize("f", [indexed_while, indexed_scan])
def test_control_work_that_only_the_payload_reads_is_counted(f):
    """The index arithmetic (``i + 1``, the wrap of a negative index) is control work, live
    because the payload's ``dynamic_slice`` reads it: liveness is the whole body's."""
    result = trace(f, "N, 4")
    for v in (2, 3, 6):
        _both(result, {"N": v}, xla.cost(f, (v, 4)))


def _small(s):
    return (s[0] < 5) & (s[1].sum() < 100.0)


UNREAD = {  # a loop input nothing needs: the work computing it is dead (x * 3 not counted)
    "while_passthrough": lambda x: jax.lax.while_loop(
        _small, lambda s: (s[0] + 1, s[1] * 2.0, s[2]), (0, x, x * 3.0))[1],
    "while_key_passthrough": lambda x: jax.lax.while_loop(
        _small, lambda s: (s[0] + 1, s[1] * 2.0, s[2]), (0, x, jax.random.key(1)))[1],
    "scan_passthrough": lambda x: jax.lax.scan(
        lambda c, _: ((c[0] * 2.0, c[1]), None), (x, x * 3.0), None, length=3)[0][0],
    # kept: read in the body, or updated
    "while_passthrough_read": lambda x: jax.lax.while_loop(
        _small, lambda s: (s[0] + 1, s[1] * s[2], s[2]), (0, x, x * 3.0))[1],
    "while_updated": lambda x: jax.lax.while_loop(
        _small, lambda s: (s[0] + 1, s[1] * 2.0, s[2] + 1.0), (0, x, x * 3.0))[1],
}


@pytest.mark.parametrize("name", sorted(UNREAD))
def test_loop_inputs_nothing_reads_are_dead(name):
    f = UNREAD[name]
    result = trace(f, "N, 4")
    for v in (1, 3):
        _both(result, {"N": v}, xla.cost(f, (v, 4)))


def test_nested_loops_multiply_and_xla_charges_each_body_once():
    def f(a):
        def outer(c, _):
            return jax.lax.fori_loop(0, 3, lambda i, d: d * 1.5, c), None
        return jax.lax.scan(outer, a, None, length=4)[0]

    result = trace(f, "N, 6")
    n = result.symbols["N"]
    assert sp.expand(result.payload() - 4 * 3 * 6 * n) == 0
    for v in (1, 5):
        _both(result, {"N": v}, xla.cost(f, (v, 6)))


class Block(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.linear = nnx.Linear(8, 8, rngs=rngs)

    def __call__(self, x):
        return nnx.gelu(self.linear(x))


class ScanStack(nnx.Module):
    def __init__(self, rngs: nnx.Rngs, depth: int = 3):
        @nnx.split_rngs(splits=depth)
        @nnx.vmap(in_axes=(0,), out_axes=0)
        def create(rngs):
            return Block(rngs)

        self.layers = create(rngs)

    def __call__(self, x):
        @nnx.scan(in_axes=(nnx.Carry, 0), out_axes=nnx.Carry)
        def step(x, layer):
            return layer(x)

        return step(x, self.layers)


class Unrolled(nnx.Module):
    def __init__(self, rngs: nnx.Rngs, depth: int = 3):
        self.layers = nnx.List([Block(rngs) for _ in range(depth)])

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def test_nnx_scan_layer_stack_has_the_payload_of_its_unrolled_twin():
    scan = xla.abstract(lambda: ScanStack(nnx.Rngs(0)))
    flat = xla.abstract(lambda: Unrolled(nnx.Rngs(0)))
    rs, ru = trace(scan, "B, 8"), trace(flat, "B, 8")
    assert rs.complete and ru.complete and rs.loops and not ru.loops
    for attr in ("flops", "transcendentals", "macs_dense"):
        assert sp.expand(rs.payload(attr) - ru.total(attr)) == 0, attr
    assert sum(rs.params.values()) == sum(ru.params.values()) == xla.param_count(flat)
    for b in (1, 3):
        _both(rs, {"B": b}, xla.cost(scan, (b, 8)))  # XLA: one layer + the counter
        _both(ru, {"B": b}, xla.cost(flat, (b, 8)), figure="true")


@pytest.mark.parametrize("options", [dict(reverse=True), dict(unroll=2), dict(unroll=3),
                                     dict(unroll=True), dict(reverse=True, unroll=2),
                                     dict(reverse=True, unroll=True)],
                         ids=["reverse", "unroll2", "unroll3", "unrolled", "rev-unroll2",
                              "rev-unrolled"])
def test_reverse_and_unrolled_scans(options):
    """``unroll`` changes XLA's figure (k bodies per pass, the rest after), not the payload."""
    def f(xs):
        return jax.lax.scan(body, xs[0], xs, **options)

    result = trace(f, "N, 4")
    for n in (4, 5, 7):  # an unrolled figure holds for N > unroll (a condition of the result)
        _both(result, {"N": n}, xla.cost(f, (n, 4)))
        _both(result, {"N": n}, xla.cost(unrolled_scan, (n, 4)), figure="payload")


def test_cli_checks_xla_figure_and_shows_the_true_count(tmp_path, monkeypatch, capsys):
    from symconv.tools.cli import main

    (tmp_path / "loopnet.py").write_text(
        "import jax\nfrom flax import nnx\n"
        "class Net(nnx.Module):\n    def __init__(self, rngs):\n"
        "        self.l = nnx.Linear(8, 8, rngs=rngs)\n"
        "    def __call__(self, x):\n"
        "        return jax.lax.fori_loop(0, 4, lambda i, h: nnx.relu(self.l(h)), x)\n"
        "def make(rngs):\n    return Net(rngs)\n")
    monkeypatch.chdir(tmp_path)
    assert main(["cost", "loopnet:make", "--input", "B,8", "--at", "B=3", "--format",
                 "plain"]) == 0
    out = capsys.readouterr().out
    # XLA: one body (3*(2*8*8 + 8 + 8) = 432) + counter 2; true: 4 bodies + 4*2 + 1 control
    assert "FLOPs 434 (traced) vs 434" in out and "agree" in out
    assert "the true count there: 1,737 FLOPs" in out and "4 trips" in out


def test_linen_scan_over_time():
    from flax import linen as nn

    class Cell(nn.Module):
        @nn.compact
        def __call__(self, c, x):
            return nn.tanh(nn.Dense(4)(c) + x), None

    class Seq(nn.Module):
        @nn.compact
        def __call__(self, xs):
            scan = nn.scan(Cell, variable_broadcast="params", split_rngs={"params": False},
                           in_axes=1, out_axes=1)
            return scan(name="cell")(xs[:, 0], xs)[0]

    result = trace(Seq(), "B, T, 4")
    assert result.params == {"cell.Dense_0": 20} and str(result.loops[0].trips) == "T"
    b, t = result.symbols["B"], result.symbols["T"]
    assert sp.expand(result.payload() - 40 * b * t) == 0  # (2*4*4 + 4 + 4) per step and row
    assert sp.expand(result.payload("transcendentals") - 4 * b * t) == 0
    for bv, tv in ((1, 2), (2, 5)):
        x = jax.ShapeDtypeStruct((bv, tv, 4), jnp.float32)
        variables = jax.eval_shape(Seq().init, jax.random.key(0), x)
        lowered = jax.jit(lambda v, x: Seq().apply(v, x)).lower(variables, x).cost_analysis()
        assert result.at({"B": bv, "T": tv}, figure="xla") == int(lowered["flops"])
