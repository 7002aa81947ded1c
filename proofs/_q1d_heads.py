"""Q1(D)'s discussion: the FC layer against the convolutions, the two fixes the source names
(global average pooling, a 1x1 reduction) counted, and its pros and cons judged one by one:
checked where they state something checkable, unsourced where they state an empirical effect
without a source."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
from flax import nnx

from symconv.algebra import AvgPool2D
from symconv.algebra.nets.assignment import AssignmentConfig, assignment_stack
from symconv.checks import xla
from symconv.models import flax_layer
from symconv.report.proof import Basis, Check, Claim, Compared, Derivation, Labeled, Step, decimal

from ._q1_common import steps

IN = (128, 128, 3)
MAP = (16, 16, 256)  # layer 3's output: what every head starts from
QUOTE = {
    "fc_dominates": "the number of parameters in the FC layer is significantly higher than the "
                    "number of parameters in the convolutional layers",
    "fixes": "to address this issue, we can use techniques like Global Average Pooling (GAP) and "
             "dimensionality reduction before the FC layer",
    "gap": "GAP reduces the spatial dimensions of the feature maps to 1x1, which allows us to "
           "directly apply the FC layer without flattening the feature maps.",
    "reduce": "Dimensionality reduction techniques like 1x1 convolutions can be used to reduce "
              "the number of channels before the FC layer, which can help reduce the number of "
              "parameters and computational cost.",
    "overfitting": "Reducing the number of parameters in the FC layer can help reduce "
                   "overfitting, as it reduces the model's capacity.",
    "speed": "Reducing the number of parameters can also help speed up training and inference, "
             "as there are fewer parameters to update and compute.",
    "abstract": "Using dimensionality reduction techniques can help capture more abstract "
                "features in the feature maps before the FC layer, which can improve the "
                "model's performance.",
    "capacity": "Reducing the number of parameters in the FC layer may reduce the model's "
                "capacity to learn complex patterns",
    "underfitting": "which can lead to underfitting",
    "nonlinearity": "Dimensionality reduction techniques like 1x1 convolutions may introduce "
                    "additional non-linearity to the model, which can make it harder to train.",
}
HEAD_ROWS = {"standard": ("flatten", "fc"), "gap": ("gap", "fc"),
             "reduce": ("reduce", "relu_reduce", "flatten", "fc")}
REDUCE_TO = AssignmentConfig.standard(head="reduce").reduce_to
LOWER, HIGHER = Compared.LOWER, Compared.HIGHER
_c, _d, _i, _j, _p, _u = sp.symbols("c d i j p u", integer=True, positive=True)
_Wt, _x, _b = sp.IndexedBase("W"), sp.IndexedBase("x"), sp.IndexedBase("b")
_GAP_Y = sp.Sum(_Wt[_c, _u] * sp.Sum(_x[_p, _c], (_p, 1, 256)) / 256, (_c, 1, 256)) + _b[_u]
_TIED_Y = sp.Sum(sp.Sum(_Wt[_c, _u] / 256 * _x[_p, _c], (_c, 1, 256)), (_p, 1, 256)) + _b[_u]
_CONV_Y = sp.Sum(_Wt[_c, _d] * _x[_i, _j, _c], (_c, 1, 256)) + _b[_d]


class _Head(nnx.Module):
    """The head of an AssignmentCNN on layer 3's output (what differs between the variants)."""

    def __init__(self, net, kind: str):
        self.net, self.kind = net, kind

    def __call__(self, x):
        if self.kind == "gap":
            x = jnp.mean(x, axis=(1, 2))
        elif self.kind == "reduce":
            x = jax.nn.relu(self.net.reduce(x)).reshape(x.shape[0], -1)
        else:
            x = x.reshape(x.shape[0], -1)
        return self.net.fc(x)


def _sum(label: str, lhs: str, parts: dict[str, int]) -> tuple[Step, ...]:
    symbols = [sp.Symbol(f"P_{{{n}}}", integer=True, nonnegative=True) for n in parts]
    total = sp.Add(*symbols, evaluate=False)
    return (Step(f"{label}: the parts", lhs, total),
            Step(f"{label}: substitution", lhs, total, dict(zip(symbols, parts.values()))),
            Step(f"{label}: result", lhs, sum(parts.values())))


def _layer_params(rows, k) -> dict[str, int]:
    """Each layer's parameters, named 1, 2, 3 (convolutions) and FC, in that order."""
    names = {"conv1": "1", "conv2": "2", "conv3": "3", "reduce": "R", "fc": "FC"}
    return {names[n]: r.params for n, r in rows[k].items() if r.params}


def _fc_steps(k: str, key: str) -> tuple[Step, ...]:
    stack = assignment_stack(_cfg(k))
    fc = dict(zip(stack.names, stack.layers))["fc"]
    return steps(fc, (fc.in_features,), key)


def _named(label: str, found: tuple[Step, ...]) -> tuple[Step, ...]:
    return tuple(Step(f"{label}: {s.label}", s.lhs, s.rhs, s.symbol_names) for s in found)


def head_claims(rows, models) -> list[Claim]:
    head = {k: sum(rows[k][n].params for n in HEAD_ROWS[k]) for k in HEAD_ROWS}
    head_macs = {k: sum(rows[k][n].macs_dense for n in HEAD_ROWS[k]) for k in HEAD_ROWS}
    xla_head = {}
    for k in HEAD_ROWS:
        cost = xla.cost(_Head(models[k], "flatten" if k == "standard" else k), (1, *MAP))
        want = sum(rows[k][n].flops for n in HEAD_ROWS[k])
        xla_head[k] = (cost["flops"], want, xla.flops_agree(want, cost["flops"], cost["ops"]))
    head_check = Check("xla", "FLOPs of each head (on layer 3's 16x16x256 output) in XLA's "
                       "lowered HLO equal the algebra's", "flatten, gap and reduce heads",
                       all(v[2] for v in xla_head.values()),
                       "; ".join(f"{k}: XLA {v[0]:,}, algebra {v[1]:,}"
                                 for k, v in xla_head.items()))
    state = {k: xla.param_count(models[k]) for k in HEAD_ROWS}
    full = {k: assignment_stack(_cfg(k)).param_count() for k in HEAD_ROWS}
    state_check = Check("model", "all nnx.Param of the three Flax networks equal the algebra's "
                        "counts", "flatten, gap and reduce heads", state == full,
                        f"model: {state}")
    return (_comparison_claims(rows, models, head, state_check)
            + _fix_claims(rows, models, head, head_macs, full, head_check, state_check)
            + _bullet_claims(head, head_macs, full, rows, head_check, state_check))


def _cfg(k):
    return AssignmentConfig.standard(head="flatten" if k == "standard" else k, use_bias=False)


def _comparison_claims(rows, models, head, state_check) -> list[Claim]:
    fc = rows["standard"]["fc"].params
    convs = {v: {n: r.params for n, r in rows[v].items() if "conv" in n}
             for v in ("standard", "separable")}
    derived = Labeled.of((v, Compared.of(fc, sum(c.values()))) for v, c in convs.items())
    out = []
    for v, c in convs.items():
        out += _sum(f"convolutions, {v}", r"P_{conv}", c)
        out.append(Step(f"FC over convolutions, {v}", r"P_{FC} / P_{conv}",
                        sp.Mul(fc, sp.Pow(sum(c.values()), -1, evaluate=False), evaluate=False)))
        out.append(Step(f"FC over convolutions, {v}: result", r"P_{FC} / P_{conv}",
                        decimal(fc / sum(c.values()), 1)))
    return [Claim(
        id="q1d.fc_dominates",
        statement="The FC layer has far more parameters than the convolutional layers.",
        quote=QUOTE["fc_dominates"], stated=Labeled.of(standard=HIGHER, separable=HIGHER),
        derived=derived,
        reading="All three convolutional layers, for both approaches (standard and separable "
                "layers 2-3), against the FC layer's 13,107,400.",
        note=f"'Significantly': {fc / sum(convs['standard'].values()):.1f} times the standard "
             f"convolutions' parameters, {fc / sum(convs['separable'].values()):.0f} times the "
             "separable ones'.",
        derivation=Derivation(tuple(out)), checks=(state_check,))]


def _fix_claims(rows, models, head, head_macs, full, head_check, state_check) -> list[Claim]:
    pool = AvgPool2D(MAP[:2], MAP[:2])
    pooled = pool.output_shape(MAP)
    flax_pooled = xla.output_shape(xla.abstract(lambda: flax_layer(pool, rngs=nnx.Rngs(0))),
                                   (1, *MAP), sympy=False)
    fc_in = models["gap"].fc.kernel.get_value().shape
    gap_fc = {"weights": rows["gap"]["fc"].weights, "biases": rows["gap"]["fc"].biases}
    derived_fix = Labeled.of(gap=Compared.of(head["gap"], head["standard"]),
                             reduce=Compared.of(head["reduce"], head["standard"]))
    fix_steps = []
    for k, label in (("standard", "flatten head"), ("gap", "global average pooling head"),
                     ("reduce", f"1x1 reduction to {REDUCE_TO} channels")):
        fix_steps += _sum(label, r"P_{head}",
                          {n: rows[k][n].params for n in HEAD_ROWS[k] if rows[k][n].params})
    reduce_derived = Labeled.of(params=Compared.of(full["reduce"], full["standard"]),
                                MACs=Compared.of(head_macs["reduce"], head_macs["standard"]))
    return [
        Claim(
            id="q1d.head.fixes",
            statement="Global average pooling or a dimensionality reduction before the FC layer "
                      "shrinks the head.",
            quote=QUOTE["fixes"], stated=Labeled.of(gap=LOWER, reduce=LOWER),
            derived=derived_fix,
            reading=f"Each head's parameters against the flatten head's. Dimensionality "
                    f"reduction as a 1 x 1 convolution to {REDUCE_TO} channels with a ReLU "
                    f"(the source gives no width; {REDUCE_TO} is the toolkit's choice).",
            derivation=Derivation(tuple(fix_steps)), checks=(state_check,)),
        Claim(
            id="q1d.head.gap",
            statement="Global average pooling turns each 16 x 16 map into one value (1 x 1), "
                      "so the FC layer takes the 256 channel means directly.",
            quote=QUOTE["gap"], stated=(1, 1), derived=tuple(pooled[:2]),
            reading="Global average pooling is an average pool whose window is the whole 16 x 16 "
                    "map; the 1 x 1 x 256 result is already a vector of 256.",
            note=f"The FC layer then has {rows['gap']['fc'].params:,} parameters instead of "
                 f"{rows['standard']['fc'].params:,}; the whole network "
                 f"{full['gap']:,} instead of {full['standard']:,}.",
            derivation=Derivation((*steps(pool, MAP, "out_h", "out_w", "shape"),
                                   *_sum("FC after pooling", r"P_{FC}", gap_fc))),
            checks=(Check("model", "jax.eval_shape of the Flax average pool with a 16 x 16 "
                          "window", "input 1x16x16x256", tuple(flax_pooled[1:]) == tuple(pooled),
                          f"eval_shape: {flax_pooled}"),
                    Check("model", "the FC kernel of the Flax network with the GAP head takes "
                          "256 inputs", "gap model", fc_in[0] == MAP[2], f"kernel: {fc_in}"))),
        Claim(
            id="q1d.head.reduce",
            statement="A 1 x 1 convolution that reduces the channels before the FC layer "
                      "reduces the parameters and the computation.",
            quote=QUOTE["reduce"], stated=Labeled.of(params=LOWER, MACs=LOWER),
            derived=reduce_derived,
            reading=f"A 1 x 1 convolution from 256 to {REDUCE_TO} channels: the whole network's "
                    "parameters and the head's MACs, against the flatten head.",
            note=f"Parameters {full['standard']:,} -> {full['reduce']:,}; head MACs "
                 f"{head_macs['standard']:,} -> {head_macs['reduce']:,} (the 1 x 1 convolution "
                 f"costs {rows['reduce']['reduce'].macs_dense:,}, the smaller FC "
                 f"{rows['reduce']['fc'].macs_dense:,}).",
            derivation=Derivation((
                *steps(assignment_stack(_cfg("reduce")).layers[6], MAP, "weights", "biases",
                       "macs_dense"),
                *_sum("head MACs, 1x1 reduction", r"\mathrm{MACs}_{head}",
                      {n: rows["reduce"][n].macs_dense for n in HEAD_ROWS["reduce"]
                       if rows["reduce"][n].macs_dense}))),
            checks=(state_check, head_check)),
    ]


def _with_values(factory, rng):
    """A Flax module whose parameters are drawn by NumPy (no JAX initializer to compile)."""
    graphdef, state = nnx.split(nnx.eval_shape(factory))
    state = jax.tree.map(lambda s: jnp.asarray(rng.standard_normal(s.shape), jnp.float32),
                         state)
    return nnx.merge(graphdef, state)


def _concrete_checks() -> tuple[Check, Check, Check]:
    """A GAP head is the flatten head with the same FC weights at every position (and not
    conversely); a 1 x 1 convolution is affine."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(MAP).astype(np.float32)
    gap_fc = _with_values(lambda: nnx.Linear(MAP[2], 200, rngs=nnx.Rngs(0)), rng)
    kernel = np.asarray(gap_fc.kernel.get_value(), dtype=np.float64)
    tied = np.tile(kernel / (MAP[0] * MAP[1]), (MAP[0] * MAP[1], 1))  # one block per pixel
    y_gap = np.asarray(gap_fc(jnp.asarray(x.mean((0, 1)))[None]))[0]
    y_tied = x.reshape(-1).astype(np.float64) @ tied + np.asarray(gap_fc.bias.get_value())
    moved = np.roll(x, 5, axis=0)  # the same features at other positions
    free = rng.standard_normal((x.size, 3))
    subset = np.allclose(y_gap, y_tied, atol=1e-4)
    same = np.allclose(np.asarray(gap_fc(jnp.asarray(moved.mean((0, 1)))[None]))[0], y_gap,
                       atol=1e-5)
    differs = not np.allclose(x.reshape(-1) @ free, moved.reshape(-1) @ free, atol=1e-3)
    capacity = Check("model", "the Flax GAP head equals a flatten head whose FC has the GAP "
                     "weights / 256 at every position; moving the features spatially leaves the "
                     "GAP head unchanged but not a flatten head with free weights",
                     "random 16x16x256 input, seed 0", subset and same and differs,
                     f"tied equal: {subset}; GAP unchanged: {same}; free head differs: "
                     f"{differs}")
    conv = _with_values(lambda: nnx.Conv(MAP[2], REDUCE_TO, (1, 1), rngs=nnx.Rngs(0)), rng)
    u, v = (jnp.asarray(rng.standard_normal((1, *MAP)).astype(np.float32)) for _ in range(2))
    a, b = 0.7, -1.3
    bias = conv.bias.get_value()
    affine = np.allclose(conv(a * u + b * v), a * conv(u) + b * conv(v) + (1 - a - b) * bias,
                         atol=1e-3)
    matrix = np.einsum("bhwc,cd->bhwd", np.asarray(u, np.float64),
                       np.asarray(conv.kernel.get_value()[0, 0], np.float64)) + np.asarray(bias)
    linear = Check("model", "the Flax 1x1 convolution satisfies f(a u + b v) = a f(u) + b f(v) "
                   "+ (1 - a - b) bias (affine)", "random u, v, a = 0.7, b = -1.3", affine)
    as_matmul = Check("numpy", "the Flax 1x1 convolution equals a matrix product of each "
                      "pixel's channels with the kernel, plus the bias",
                      "random 1x16x16x256 input", np.allclose(conv(u), matrix, atol=1e-3))
    return capacity, linear, as_matmul


def _bullet_claims(head, head_macs, full, rows, head_check, state_check) -> list[Claim]:
    capacity, linear, as_matmul = _concrete_checks()
    total_macs = {k: assignment_stack(_cfg(k)).macs(IN) for k in ("standard", "gap")}
    saving = 100 * (1 - total_macs["gap"] / total_macs["standard"])
    speed = Labeled.of(parameters=Compared.of(full["gap"], full["standard"]),
                       MACs=Compared.of(head_macs["gap"], head_macs["standard"]))
    return [
        Claim(
            id="q1d.pro.overfitting", basis=Basis.UNSOURCED, quote=QUOTE["overfitting"],
            statement="Fewer FC parameters help against overfitting.",
            cite=("lin2014", "Abstract"),
            note="An empirical effect on generalisation; the source names no study and this "
                 "report trains nothing. Lin et al. (2014) make the same case for global average "
                 "pooling ('less prone to overfitting than traditional fully connected layers'). "
                 "The reason given, less capacity, is checked in q1d.con.capacity."),
        Claim(
            id="q1d.pro.speed",
            statement="Fewer parameters mean fewer parameters to update in training and less "
                      "computation in inference.",
            quote=QUOTE["speed"], stated=Labeled.of(parameters=LOWER, MACs=LOWER),
            derived=speed,
            reading="Counted as work, global average pooling against the flatten head: the "
                    "parameters an optimizer step updates, and the head's MACs in one forward "
                    "pass. Wall-clock time is not measured here.",
            note=f"Parameters {full['standard']:,} -> {full['gap']:,}; head MACs "
                 f"{head_macs['standard']:,} -> {head_macs['gap']:,}. The convolutions' MACs do "
                 f"not change, so the whole network's MACs fall by only {saving:.1f}% "
                 f"({total_macs['standard']:,} -> {total_macs['gap']:,}).",
            derivation=Derivation((
                *_sum("parameters to update, flatten network", "P",
                      _layer_params(rows, "standard")),
                *_sum("parameters to update, GAP network", "P", _layer_params(rows, "gap")),
                *_named("head MACs, flatten head", _fc_steps("standard", "macs")),
                *_named("head MACs, GAP head", _fc_steps("gap", "macs")))),
            checks=(state_check, head_check)),
        Claim(
            id="q1d.pro.abstract", basis=Basis.UNSOURCED, quote=QUOTE["abstract"],
            statement="A dimensionality reduction captures more abstract features and improves "
                      "performance.",
            note="An empirical claim about accuracy, with no source and nothing run here to test "
                 "it. What can be checked: the 1 x 1 convolution itself is a per-pixel linear "
                 "map of the channels (q1d.con.nonlinearity); only the ReLU after it adds a "
                 "non-linear layer."),
        Claim(
            id="q1d.con.capacity",
            statement="Fewer FC parameters can reduce what the head can represent.",
            quote=QUOTE["capacity"], stated=True, derived=True,
            reading="For global average pooling, capacity as the set of functions the head can "
                    "compute: the GAP head is the flatten head with the same FC weights at every "
                    "one of the 256 positions, so it computes a strict subset of the flatten "
                    "head's functions (it cannot tell where a feature is).",
            note="For the 1 x 1 reduction with a ReLU after it the head is not a restriction of "
                 "the flatten head (the ReLU adds a non-linear layer): fewer parameters alone do "
                 "not mean less capacity.",
            derivation=Derivation((
                Step("GAP head: FC weights W on the 256 channel means of the 256 positions p",
                     "y_u", _GAP_Y),
                Step("the same as a flatten head whose weight for position p and channel c is "
                     "W_cu / 256, the same at every p", "y_u", _TIED_Y))),
            checks=(capacity,)),
        Claim(
            id="q1d.con.underfitting", basis=Basis.UNSOURCED, quote=QUOTE["underfitting"],
            statement="Less capacity can lead to underfitting.",
            note="An empirical effect of training, unsourced and not tested here; with "
                 f"{full['gap']:,} parameters left (the convolutions keep theirs), whether the "
                 "GAP network underfits depends on the data."),
        Claim(
            id="q1d.con.nonlinearity",
            statement="1x1 convolutions may add non-linearity, which makes training harder.",
            quote=QUOTE["nonlinearity"], stated=True, derived=False,
            reading="The claim checked: a 1 x 1 convolution introduces non-linearity (the rest "
                    "of the sentence follows from it).",
            correction="The source says a 1 x 1 convolution may add non-linearity. It is an "
                       "affine map: each output pixel is the kernel matrix times that pixel's "
                       "channels plus a bias, so it adds no non-linearity by itself (checked on "
                       "the Flax layer). Only an activation after it, such as the ReLU the "
                       "toolkit puts there, is non-linear, as after any layer; the stated reason "
                       "for harder training therefore does not hold.",
            derivation=Derivation((
                Step("a 1x1 convolution at pixel (i, j), output channel d: a weighted sum of "
                     "that pixel's 256 channels plus a bias, linear in x", "y_{ijd}", _CONV_Y),)),
            checks=(linear, as_matmul)),
    ]
