"""The tracer's inputs (issue #16 E, F, G): Flax Linen modules, shapes with expressions and
constraints, named inputs with dtypes, call and factory keyword arguments, symbolic parameter
counts, and one clear error per kind of failure. Each closed form is evaluated at integers and
compared with XLA's ``cost_analysis`` of the call lowered there (written out here, not the
tracer's own helpers), and parameters with the model built at that size."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn
from flax import nnx

from symconv.checks import xla
from symconv.checks.trace import Dim, trace
from symconv.checks.trace.inputs import parse_kwargs
from symconv.errors import SymconvError, UnsafeInputError
from symconv.tools.cli import main


def lowered(f, *avals) -> dict:
    """XLA's count of ``f`` lowered (not compiled) on ``avals``."""
    analysis = jax.jit(f).lower(*avals).cost_analysis()
    return {k: int(analysis.get(k, 0)) for k in ("flops", "transcendentals")}


def f32(*shape, dtype=jnp.float32):
    return jax.ShapeDtypeStruct(shape, dtype)


def size(tree) -> int:
    return sum(int(np.prod(a.shape)) for a in jax.tree.leaves(tree))


# --- E: Linen -----------------------------------------------------------------------------

class LinenBlock(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.gelu(nn.Dense(6)(x))


class LinenNet(nn.Module):
    """Flatten then dense: the first kernel grows with the input (symbolic parameters)."""

    @nn.compact
    def __call__(self, x, train: bool = True):
        x = nn.Conv(4, (3, 3), strides=2)(x)
        x = nn.Dropout(0.5, deterministic=not train)(x)
        x = LinenBlock(name="block")(x.reshape(x.shape[0], -1))
        return nn.Dense(3, name="head")(x)


@pytest.mark.parametrize("b,h,w", [(1, 5, 7), (2, 8, 8)])
def test_linen_without_variables_agrees_with_xla(b, h, w):
    model = LinenNet()
    result = trace(model, "B, H, W, 3", kwargs={"train": False})
    assert result.complete
    assert set(result.params) == {"Conv_0", "block.Dense_0", "head"}  # Linen paths, no wrapper
    variables = jax.eval_shape(model.init, jax.random.key(0), f32(b, h, w, 3))
    assert result.params_at({"B": b, "H": h, "W": w}) == size(variables["params"])
    measured = lowered(lambda v, x: model.apply(v, x, train=False), variables, f32(b, h, w, 3))
    for attr in ("flops", "transcendentals"):
        assert result.at({"B": b, "H": h, "W": w}, attr) == measured[attr]
    assert {r.path for r in result.by_module()} >= {"Conv_0", "block", "block.Dense_0", "head"}


def test_linen_with_real_variables_counts_them():
    model = LinenBlock()
    variables = model.init(jax.random.key(0), jnp.ones((1, 5)))
    result = trace(model, "B, 5", variables=variables)
    assert result.params == {"Dense_0": 36}
    assert result.at({"B": 3}) == lowered(lambda v, x: model.apply(v, x), variables,
                                          f32(3, 5))["flops"]


def test_linen_factory_on_the_command_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "linmod.py").write_text(
        "from flax import linen as nn\n"
        "class Net(nn.Module):\n    @nn.compact\n    def __call__(self, x, train: bool = True):\n"
        "        x = nn.Dropout(0.5, deterministic=not train)(x)\n"
        "        return nn.Dense(4, name='fc')(nn.relu(nn.Dense(8)(x)))\n"
        "def make():\n    return Net()\n")
    monkeypatch.chdir(tmp_path)
    assert main(["cost", "linmod:make", "--input", "B,5", "--call", "train=False",
                 "--at", "B=3", "--format", "plain"]) == 0
    out = capsys.readouterr().out
    assert "agree" in out and "fc" in out and "Dense_0" in out


# --- F: inputs as users write them ---------------------------------------------------------

class ConvNet(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.conv = nnx.Conv(3, 8, (3, 3), strides=2, rngs=rngs)
        self.drop = nnx.Dropout(0.5)

    def __call__(self, x, train: bool, rngs: nnx.Rngs):
        return self.drop(jax.nn.relu(self.conv(x)), deterministic=not train, rngs=rngs).sum()


def test_shape_expressions_call_kwargs_and_rngs():
    model = xla.abstract(lambda: ConvNet(nnx.Rngs(0)))
    result = trace(model, "B, 4*h, 4*w + 1, 3", kwargs={"train": False})
    assert set(result.symbols) == {"B", "h", "w"}
    graphdef, state = nnx.split(model)
    for b, h, w in ((1, 2, 3), (2, 5, 1)):
        measured = lowered(lambda s, x: nnx.merge(graphdef, s)(x, False, nnx.Rngs(0)), state,
                           f32(b, 4 * h, 4 * w + 1, 3))
        assert result.at({"B": b, "h": h, "w": w}) == measured["flops"]


def test_named_inputs_with_dtypes():
    def f(image, tokens):
        return image.mean(axis=(1, 2, 3)) + jnp.tanh(tokens.astype(jnp.float32)).sum(axis=1)

    result = trace(f, inputs=["image=B, H, W, 3", "tokens=B, L:int32"])
    assert [name for name, _ in result.inputs] == ["image", "tokens"]
    measured = lowered(f, f32(2, 5, 4, 3), f32(2, 7, dtype=jnp.int32))
    values = {"B": 2, "H": 5, "W": 4, "L": 7}
    assert result.at(values) == measured["flops"]
    assert result.at(values, "transcendentals") == measured["transcendentals"] == 14


def needs_four(x):
    if x.shape[1] >= 4:  # a Python comparison of a symbolic size
        return x[:, :4] * 2.0
    return x * 2.0


def test_inconclusive_comparison_names_the_constraint_that_helps():
    with pytest.raises(SymconvError, match="constraint 'H >= 4'"):
        trace(needs_four, "B, H")
    result = trace(needs_four, "B, H", constraints=["H >= 4", "H <= 2048"])
    assert result.at({"B": 3, "H": 9}) == lowered(needs_four, f32(3, 9))["flops"] == 12


class PosEmbed(nnx.Module):
    """A ViT's position embedding: one vector per 4x4 patch, so it grows with the image."""

    def __init__(self, size: int, dim: int, rngs: nnx.Rngs):
        n = (size // 4) * (size // 4)
        self.patch = nnx.Conv(3, dim, (4, 4), strides=4, padding="VALID", rngs=rngs)
        self.pos = nnx.Param(jax.random.normal(rngs.params(), (1, n, dim)))

    def __call__(self, x):
        y = self.patch(x)
        return y.reshape(y.shape[0], -1, y.shape[-1]) + self.pos[...]


@pytest.mark.parametrize("s", [1, 2, 5])
def test_parameters_that_grow_with_the_input_are_symbolic(s):
    # "S, S" would not do: JAX cannot prove floordiv(S - 4, 4) + 1 == floordiv(S, 4)
    result = trace(PosEmbed, "B, 4*s, 4*s, 3", factory_args={"size": Dim("4*s"), "dim": 6})
    assert result.params[""].free_symbols == {result.symbols["s"]}
    built = xla.abstract(lambda: PosEmbed(4 * s, 6, nnx.Rngs(0)))
    assert result.params_at({"B": 2, "s": s}) == xla.param_count(built)
    assert result.at({"B": 2, "s": s}) == xla.cost(built, (2, 4 * s, 4 * s, 3))["flops"]


def test_symbolic_factory_arguments_on_the_command_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "vitish.py").write_text(
        "import jax\nfrom flax import nnx\n"
        "class P(nnx.Module):\n    def __init__(self, size, rngs):\n"
        "        self.pos = nnx.Param(jax.random.normal(rngs.params(), (1, size // 2, 5)))\n"
        "    def __call__(self, x):\n        return x + self.pos[...]\n"
        "def make(size, rngs):\n    return P(size, rngs)\n")
    monkeypatch.chdir(tmp_path)
    assert main(["cost", "vitish:make", "--input", "B,floordiv(S,2),5", "--args", "size=S",
                 "--at", "B=2,S=9", "--format", "plain"]) == 0
    out = capsys.readouterr().out
    assert "agree" in out and "⌊S/2⌋" not in out  # plain: ASCII
    assert "parameters: 5*floor(S/2)" in out


@pytest.mark.parametrize("text", ["__import__('os').system('true')", "a=open('x')", "a=1+2",
                                  "a=[x for x in ()]", "a=(lambda: 1)", "a=1) + f(b=2",
                                  "a=__builtins__", "**{'a': 1}", "a=b.c"])
def test_factory_and_call_arguments_are_literals_only(text):
    with pytest.raises(UnsafeInputError):
        parse_kwargs(text, "--args")


def test_arguments_parse_as_literals_and_dimensions():
    got = parse_kwargs("train=False, depth=3, k=(3, 3), act='relu', img=H, p=None", "--args")
    assert got == {"train": False, "depth": 3, "k": (3, 3), "act": "relu", "img": Dim("H"),
                   "p": None}


@pytest.mark.parametrize("argv,fragment", [
    (["--input", "B,H;import os"], "dimension names"),
    (["--input", "B,system(H)"], "dimension functions"),
    (["--input", "B,H:complex128"], "unknown dtype"),
    (["--constraint", "H > 4; x"], "constraint"),
    (["--call", "a=eval('1')"], "literal"),
])
def test_hostile_cli_inputs_are_one_line_exit_2(argv, fragment, capsys):
    assert main(["cost", "assignment-gap", "--engine", "trace", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err


# --- G: errors that say what happened ------------------------------------------------------

def make_factory(rngs: nnx.Rngs):
    return nnx.Linear(4, 4, rngs=rngs)


@pytest.mark.parametrize("model,spec,fragment", [
    (ConvNet, "B, 8, 8, 3", "got the class ConvNet"),
    (lambda x, y: x + y, "B, 4", "missing a required argument: 'y'"),
    (lambda x: str(x.shape), "B, 4", "returned str, not JAX arrays"),
    (lambda x: None, "B, 4", "returned NoneType"),
    (make_factory, "B, 4", "looks like a factory"),
    (lambda x: nnx.Linear(4, 4, rngs=nnx.Rngs(0)), "B, 4", "looks like a factory"),
])
def test_each_failure_has_its_own_message(model, spec, fragment):
    with pytest.raises(SymconvError) as e:
        trace(model, spec)
    assert fragment in str(e.value) and "rejects" not in str(e.value)


def test_missing_call_argument_of_a_module_names_it():
    model = xla.abstract(lambda: ConvNet(nnx.Rngs(0)))
    with pytest.raises(SymconvError, match=r"'train'.*--call"):
        trace(model, "B, 8, 8, 3")


@pytest.mark.parametrize("body,fragment", [
    ("def make():\n    return 'not a model'\n", "not a model"),
    ("from flax import nnx\nclass M(nnx.Module):\n    def __init__(self, rngs):\n"
     "        self.l = nnx.Linear(4, 4, rngs=rngs)\n"
     "    def __call__(self, x, mask):\n        return self.l(x) * mask\n"
     "def make(rngs):\n    return M(rngs)\n", "--input mask="),
    ("import jax.numpy as jnp\ndef make():\n    return lambda x: 'done'\n", "not JAX arrays"),
])
def test_cli_errors_are_one_line_exit_2(body, fragment, tmp_path, monkeypatch, capsys):
    name = f"badmod{abs(hash(body))}"  # one module per case: imports are cached
    (tmp_path / f"{name}.py").write_text(body)
    monkeypatch.chdir(tmp_path)
    assert main(["cost", f"{name}:make", "--input", "B,4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err


def test_shape_expressions_on_the_command_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "exprnet.py").write_text(
        "import jax\nfrom flax import nnx\n"
        "def make(rngs):\n    return nnx.Conv(3, 4, (3, 3), strides=2, rngs=rngs)\n")
    monkeypatch.chdir(tmp_path)
    assert main(["cost", "exprnet:make", "--input", "B,4*h,4*w+1,3", "--constraint", "h <= 64",
                 "--at", "B=2,h=3,w=2", "--format", "plain"]) == 0
    out = capsys.readouterr().out
    assert "agree" in out and "(B, 4*h, 4*w + 1, 3)" in out
