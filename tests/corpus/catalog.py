"""The model corpus: public JAX/Flax models written by others (``vendor/``), each with how to
build it abstractly, the symbolic input the tracer gets, and the concrete sizes it is checked at.

Every model is an NNX module when traced: Linen models through :class:`Linen` (the module and its
variables from ``module.init`` under ``nnx.eval_shape``, so nothing is allocated), models whose
call needs more than the input through :class:`Bound`. :func:`measure` gives, at one size, the
tracer's closed form evaluated there, the exact per-equation reference
(:mod:`symconv.checks.reference`) and XLA's whole-function figure.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from symconv.checks import xla
from symconv.checks.reference import reference
from symconv.checks.trace import TraceResult, trace

VENDOR = Path(__file__).resolve().parent / "vendor"
if str(VENDOR) not in sys.path:  # the vendored files import each other by file name
    sys.path.insert(0, str(VENDOR))


class Linen(nnx.Module):
    """A Linen module as an NNX module: its variables (from ``init`` on a zero input of
    ``shape``) are NNX parameters; the call is ``apply(variables, x, **kwargs)``, of which
    ``select`` keeps the prediction (e.g. the logits of a ``(logits, extras)`` pair)."""

    def __init__(self, module, shape: tuple, dtype=jnp.float32, select: Callable | None = None,
                 extra: Callable | None = None, **kwargs: Any):
        self.module = module
        self.kwargs = tuple(sorted(kwargs.items()))
        self.select = select
        self.extra = extra  # more positional arguments, computed from the input
        x = jnp.zeros(shape, dtype)
        variables = module.init(jax.random.key(0), x, *(extra(x) if extra else ()), **kwargs)
        self.variables = nnx.data(jax.tree.map(nnx.Param, variables))

    def __call__(self, x):
        variables = jax.tree.map(lambda p: p[...], self.variables,
                                 is_leaf=lambda p: isinstance(p, nnx.Variable))
        y = self.module.apply(variables, x, *(self.extra(x) if self.extra else ()),
                              **dict(self.kwargs))
        return self.select(y) if self.select else y


class Bound(nnx.Module):
    """An NNX model whose call takes more than the input: ``model(x, *args, **kwargs)``."""

    def __init__(self, model: nnx.Module, *args: Any, **kwargs: Any):
        self.model = model
        self.args = args
        self.kwargs = tuple(sorted(kwargs.items()))

    def __call__(self, x):
        return self.model(x, *self.args, **dict(self.kwargs))


@dataclass(frozen=True)
class Case:
    """One corpus model: where it comes from, how to build it (abstractly), the input spec the
    tracer gets (names are symbols) and the sizes it is checked at (the first is the smallest)."""

    name: str
    source: str
    build: Callable[[], nnx.Module]
    spec: str
    sizes: tuple[dict[str, int], ...]
    dtype: Any = jnp.float32
    notes: str = ""
    symbolic: bool = True  # False: JAX cannot trace it symbolically; traced at each size
    symbols: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = sorted(set().union(*(s.keys() for s in self.sizes)))
        object.__setattr__(self, "symbols", tuple(names))

    def shape(self, values: dict[str, int]) -> tuple[int, ...]:
        """The concrete input shape of ``spec`` at ``values`` (e.g. ``32*h`` with ``h=2``)."""
        return tuple(int(eval(term, {}, dict(values))) for term in self.spec.split(","))


_MODELS: dict[str, nnx.Module] = {}


def model(case: Case) -> nnx.Module:
    """The case's model, built once per process under ``nnx.eval_shape``."""
    if case.name not in _MODELS:
        _MODELS[case.name] = xla.abstract(case.build)
    return _MODELS[case.name]


def traced(case: Case, values: dict[str, int] | None = None) -> tuple[TraceResult, float]:
    """The tracer's result on the case's symbolic input (or, for a case JAX cannot trace
    symbolically, at the size ``values``, default the first), and the seconds it took."""
    start = time.perf_counter()
    spec = case.spec if case.symbolic else case.shape(values or case.sizes[0])
    result = trace(model(case), spec, case.dtype)
    return result, time.perf_counter() - start


def measure(case: Case, result: TraceResult, values: dict[str, int]) -> dict[str, Any]:
    """At one size: the tracer's value, the exact reference and XLA's whole-function count."""
    shape = case.shape(values)
    if not case.symbolic:
        result = traced(case, values)[0]
    ref = reference(model(case), shape, case.dtype)
    whole = xla.cost(model(case), shape, case.dtype)
    traced_xla = result.at(values, figure="xla") if result.complete else None
    return {"shape": shape, "traced": traced_xla,  # loops charged once, as XLA charges them
            "reference": ref.total("flops"), "exact": ref.exact, "methods": ref.methods,
            "xla": whole["flops"], "ops": whole["ops"], "float32_sum": ref.float32_sum()}


def _vendored(name: str) -> ModuleType:
    """A vendored module by its file name (``vendor/`` is on ``sys.path``)."""
    return importlib.import_module(name)


def _flax_resnet18() -> nnx.Module:
    return Linen(_vendored("flax_imagenet_resnet").ResNet18(num_classes=10),
                 (1, 32, 32, 3), train=False)


def _flax_resnet50() -> nnx.Module:
    return Linen(_vendored("flax_imagenet_resnet").ResNet50(num_classes=1000),
                 (1, 32, 32, 3), train=False)


def _flax_mnist() -> nnx.Module:
    cnn = _vendored("flax_mnist_cnn").CNN(rngs=nnx.Rngs(0))
    cnn.eval()
    return Bound(cnn, None)


def _flax_vae() -> nnx.Module:
    return Linen(_vendored("flax_vae").VAE(latents=20), (1, 784), select=lambda y: y[0],
                 z_rng=jax.random.key(2))


def _flax_ppo() -> nnx.Module:
    return Linen(_vendored("flax_ppo").ActorCritic(num_outputs=6), (1, 84, 84, 4),
                 select=lambda y: y[0])


def _flax_scan_mlp() -> nnx.Module:
    mlp = _vendored("flax_nnx_scan_mlp").ScanMLP(16, n_layers=4, rngs=nnx.Rngs(0))
    mlp.eval()
    return mlp


def _lm1b_config(**kw: Any):
    lm = _vendored("flax_lm1b")
    return lm.TransformerConfig(vocab_size=64, output_vocab_size=64, emb_dim=32, num_heads=2,
                                num_layers=2, qkv_dim=32, mlp_dim=64, max_len=64,
                                deterministic=True, **kw)


def _flax_lm1b() -> nnx.Module:
    return Linen(_vendored("flax_lm1b").TransformerLM(_lm1b_config()), (1, 8), jnp.int32)


class _Sampler(nnx.Module):
    """lm1b's ``temperature_sample`` (a ``while_loop``) around the decoder with its cache, glued
    as flax examples/lm1b/train.py's ``predict_step`` does (cache from ``init``, zeroed)."""

    def __init__(self):
        lm = _vendored("flax_lm1b")
        self.decoder = lm.TransformerLM(_lm1b_config(decode=True))
        variables = lm.TransformerLM(_lm1b_config()).init(jax.random.key(0),
                                                         jnp.ones((1, 8), jnp.int32))
        self.params = nnx.data(jax.tree.map(nnx.Param, variables["params"]))

    def __call__(self, prompt):
        params = jax.tree.map(lambda p: p[...], self.params,
                              is_leaf=lambda p: isinstance(p, nnx.Variable))
        shapes = jax.eval_shape(self.decoder.init, jax.random.key(0), prompt)["cache"]
        cache = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), shapes)

        def tokens_ids_to_logits(flat_ids, flat_cache):
            flat_logits, new_vars = self.decoder.apply(
                {"params": params, "cache": flat_cache}, flat_ids, mutable=["cache"])
            return flat_logits.squeeze(axis=1), new_vars["cache"]

        return _vendored("flax_lm1b_sampler").temperature_sample(
            prompt, cache, tokens_ids_to_logits, jax.random.key(1), topk=4)


def _flax_sst2() -> nnx.Module:
    module = _vendored("flax_sst2_lstm").TextClassifier(
        embedding_size=16, hidden_size=16, vocab_size=50, output_size=2, dropout_rate=0.0,
        word_dropout_rate=0.0)
    return Linen(module, (1, 6), jnp.int32, deterministic=True,
                 extra=lambda t: (jnp.full(t.shape[:1], t.shape[1], jnp.int32),))  # full length


def _vit_jax_vit() -> nnx.Module:
    vit = _vendored("vit_jax_models_vit")
    module = vit.VisionTransformer(
        num_classes=10, patches=_Patches((8, 8)), hidden_size=64,
        transformer={"mlp_dim": 128, "num_heads": 4, "num_layers": 2,
                     "attention_dropout_rate": 0.0, "dropout_rate": 0.0},
        classifier="token", representation_size=None)
    return Linen(module, (1, 32, 32, 3), train=False)


@dataclass(frozen=True)
class _Patches:  # vit_jax passes ml_collections.ConfigDict(size=...): only .size is read
    size: tuple[int, int]


def _vit_jax_mixer() -> nnx.Module:
    mixer = _vendored("vit_jax_models_mixer")
    module = mixer.MlpMixer(patches=_Patches((8, 8)), num_classes=10, num_blocks=2,
                            hidden_dim=64, tokens_mlp_dim=32, channels_mlp_dim=128)
    return Linen(module, (1, 32, 32, 3), train=False)


def _vit_jax_hybrid() -> nnx.Module:
    vit = _vendored("vit_jax_models_vit")
    module = vit.VisionTransformer(
        num_classes=10, patches=_Patches((1, 1)), hidden_size=64,
        resnet=_ResNet(num_layers=(2, 2), width_factor=0.5),
        transformer={"mlp_dim": 128, "num_heads": 4, "num_layers": 1,
                     "attention_dropout_rate": 0.0, "dropout_rate": 0.0},
        classifier="token", representation_size=None)
    return Linen(module, (1, 32, 32, 3), train=False)


@dataclass(frozen=True)
class _ResNet:  # vit_jax's ConfigDict for the hybrid's ResNet root: the two fields it reads
    num_layers: tuple[int, ...]
    width_factor: float


def _big_vision(module_name: str, **kw: Any) -> Callable[[], nnx.Module]:
    def build() -> nnx.Module:
        module = _vendored(module_name).Model(**kw)
        return Linen(module, (1, 32, 32, 3), select=lambda y: y[0], train=False)
    return build


def _bonsai_unet() -> nnx.Module:
    unet = _vendored("bonsai_unet")
    return unet.UNet(unet.ModelConfig(in_channels=3, num_classes=2, features=(8, 16, 32, 64, 128)),
                     rngs=nnx.Rngs(0))


def _bonsai_resnet() -> nnx.Module:
    res = _vendored("bonsai_resnet")
    return res.ResNet(res.ModelConfig.resnet50(num_classes=10), rngs=nnx.Rngs(0))


def _bonsai_vgg() -> nnx.Module:
    vgg = _vendored("bonsai_vgg19")
    cfg = vgg.ModelConfig(num_classes=10, block_layers=[2, 2, 4, 4, 4],
                          channels=[8, 16, 32, 64, 64, 128])
    return vgg.VGG(cfg, rngs=nnx.Rngs(0))


def _bonsai_convnext() -> nnx.Module:
    cnx = _vendored("bonsai_convnext")
    cfg = cnx.ModelConfig(stage_depths=(1, 1, 2, 1), stage_dims=(16, 32, 64, 128),
                          drop_path_rate=0.0, num_classes=10)
    return Bound(cnx.ConvNeXt(cfg, rngs=nnx.Rngs(0)), rngs=None, train=False)


def _bonsai_densenet() -> nnx.Module:
    dn = _vendored("bonsai_densenet121")
    return dn.DenseNet(dn.ModelConfig.densenet_121(), rngs=nnx.Rngs(0))


def _bonsai_efficientnet() -> nnx.Module:
    eff = _vendored("bonsai_efficientnet")
    return eff.EfficientNet(eff.ModelConfig.b0(num_classes=10), rngs=nnx.Rngs(0))


def _bonsai_vit() -> nnx.Module:
    vit = _vendored("bonsai_vit")
    cfg = vit.ModelConfig(image_size=(32, 32), patch_size=(8, 8), num_channels=3, hidden_dim=64,
                          attn_dropout_prob=0.0, dropout_prob=0.0, num_heads=4, mlp_dim=128,
                          eps=1e-12, num_layers=2, num_labels=10)
    return Bound(vit.ViTClassificationModel(cfg, rngs=nnx.Rngs(0)), rngs=None)


def _bonsai_mamba2() -> nnx.Module:
    m2 = _vendored("bonsai_mamba2")
    return m2.Mamba2Forecaster(input_dim=4, d_model=32, n_layers=2, forecast_horizon=6,
                               d_state=8, headdim=8, chunk_size=8, rngs=nnx.Rngs(0))


def _sizes(*points: tuple[int, ...], names: str = "B") -> tuple[dict[str, int], ...]:
    return tuple(dict(zip(names.split(), p)) for p in points)


FLAX = "google/flax"
VIT = "google-research/vision_transformer"
BV = "google-research/big_vision"
BONSAI = "jax-ml/bonsai"

CASES: dict[str, Case] = {c.name: c for c in [
    Case("flax_mnist_cnn", f"{FLAX} examples/mnist/train.py (NNX)", _flax_mnist,
         "B, 28, 28, 1", _sizes((1,), (3,))),
    Case("flax_ppo_cnn", f"{FLAX} examples/ppo/models.py (Linen)", _flax_ppo,
         "B, 84, 84, 4", _sizes((1,), (4,))),
    Case("flax_resnet18", f"{FLAX} examples/imagenet/models.py (Linen)", _flax_resnet18,
         "B, 32*h, 32*w, 3", _sizes((1, 1, 1), (2, 2, 3), names="B h w")),
    Case("flax_resnet50", f"{FLAX} examples/imagenet/models.py (Linen)", _flax_resnet50,
         "B, 32*h, 32*w, 3", _sizes((1, 1, 1), (2, 7, 7), names="B h w")),
    Case("flax_vae", f"{FLAX} examples/vae/models.py (Linen)", _flax_vae,
         "B, 784", _sizes((1,), (5,))),
    Case("flax_scan_mlp", f"{FLAX} examples/nnx_toy_examples/06_scan_over_layers.py (NNX)",
         _flax_scan_mlp, "B, 16", _sizes((2,), (7,))),
    Case("flax_lm1b", f"{FLAX} examples/lm1b/models.py (Linen)", _flax_lm1b,
         "B, 16", _sizes((1,), (3,)), jnp.int32,
         notes="L fixed: the position embedding is sliced to min(max_len, L)"),
    Case("flax_lm1b_sampler", f"{FLAX} examples/lm1b/temperature_sampler.py (while_loop)",
         _Sampler, "1, L", _sizes((8,), (12,), names="L"), jnp.int32, symbolic=False,
         notes="traced at each size (JAX cannot compare B with the length symbolically); "
               "batch 1: the sampler's carry changes type for B > 1"),
    Case("flax_sst2_lstm", f"{FLAX} examples/sst2/models.py (Linen)", _flax_sst2,
         "B, L", _sizes((1, 6), (3, 10), names="B L"), jnp.int32),
    Case("vit_jax_vit", f"{VIT} vit_jax/models_vit.py (Linen)", _vit_jax_vit,
         "B, 32, 32, 3", _sizes((1,), (3,))),
    Case("vit_jax_mixer", f"{VIT} vit_jax/models_mixer.py (Linen)", _vit_jax_mixer,
         "B, 32, 32, 3", _sizes((1,), (3,))),
    Case("vit_jax_hybrid", f"{VIT} vit_jax/models_vit.py + models_resnet.py (Linen)",
         _vit_jax_hybrid, "B, 32, 32, 3", _sizes((1,), (2,))),
    Case("big_vision_vit", f"{BV} big_vision/models/vit.py (Linen)",
         _big_vision("big_vision_vit", num_classes=10, variant="Ti/8", posemb="sincos2d"),
         "B, 8*h, 8*w, 3", _sizes((1, 4, 4), (2, 5, 6), names="B h w")),
    Case("big_vision_bit", f"{BV} big_vision/models/bit.py (Linen)",
         _big_vision("big_vision_bit", num_classes=10, width=0.5, depth=26),
         "B, 32*h, 32*w, 3", _sizes((1, 1, 1), (2, 2, 3), names="B h w")),
    Case("big_vision_mixer", f"{BV} big_vision/models/mlp_mixer.py (Linen)",
         _big_vision("big_vision_mlp_mixer", num_classes=10, patch_size=(8, 8), num_blocks=2,
                     hidden_dim=64, tokens_mlp_dim=32, channels_mlp_dim=128),
         "B, 32, 32, 3", _sizes((1,), (3,))),
    Case("bonsai_unet", f"{BONSAI} bonsai/models/unet/modeling.py (NNX)", _bonsai_unet,
         "B, 16*h, 16*w, 3", _sizes((1, 2, 2), (2, 3, 4), names="B h w")),
    Case("bonsai_resnet50", f"{BONSAI} bonsai/models/resnet/modeling.py (NNX)", _bonsai_resnet,
         "B, 32*h, 32*w, 3", _sizes((1, 1, 1), (2, 7, 7), names="B h w")),
    Case("bonsai_vgg19", f"{BONSAI} bonsai/models/vgg19/modeling.py (NNX)", _bonsai_vgg,
         "B, 32*h, 32*w, 3", _sizes((1, 1, 1), (2, 2, 3), names="B h w")),
    Case("bonsai_convnext", f"{BONSAI} bonsai/models/convnext/modeling.py (NNX)",
         _bonsai_convnext, "B, 32*h, 32*w, 3", _sizes((1, 1, 1), (2, 2, 3), names="B h w")),
    Case("bonsai_densenet121", f"{BONSAI} bonsai/models/densenet121/modeling.py (NNX)",
         _bonsai_densenet, "B, 32*h, 32*w, 3", _sizes((1, 1, 1), (2, 7, 7), names="B h w")),
    Case("bonsai_efficientnet_b0", f"{BONSAI} bonsai/models/efficientnet/modeling.py (NNX)",
         _bonsai_efficientnet, "B, 32*h, 32*w, 3",
         _sizes((1, 1, 1), (2, 2, 3), names="B h w")),
    Case("bonsai_vit", f"{BONSAI} bonsai/models/vit/modeling.py (NNX)", _bonsai_vit,
         "B, 32, 32, 3", _sizes((1,), (3,))),
    Case("bonsai_mamba2", f"{BONSAI} bonsai/models/mamba2/modeling.py (NNX, state space)",
         _bonsai_mamba2, "B, 8*l, 4", _sizes((1, 2), (2, 3), names="B l")),
]}
