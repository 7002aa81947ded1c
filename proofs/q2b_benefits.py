"""Q2 part (b): DenseNet's benefits in numbers — the gradient reaching the first layer (the
gradient-flow experiment, without and with batch norm), parameters and FLOPs from the algebra
and the Flax models set beside the papers' tables, and the memory of a training step as XLA
plans it (the experiments are read from their committed results unless ``symconv prove
--experiments``).
"""

from __future__ import annotations

from decimal import Decimal

import sympy as sp
from flax import nnx

from symconv.algebra.blocks import dense_layer_channels
from symconv.algebra.nets.densenet import PUBLISHED_PARAMS as DENSENET_PUBLISHED
from symconv.algebra.nets.densenet import DenseNetConfig, densenet_stack
from symconv.algebra.nets.resnet import PUBLISHED_PARAMS as RESNET_PUBLISHED
from symconv.algebra.nets.resnet import ResNetConfig, resnet_stack
from symconv.checks import xla
from symconv.models.resnet import ResNet
from symconv.report.proof import (
    Check,
    Claim,
    Compared,
    Derivation,
    Figure,
    Labeled,
    Proof,
    Step,
    Table,
)

from ._q2_common import (
    DENSENETS,
    HUANG_C10,
    IMAGENET_TOP1_10CROP,
    PAIRS,
    RESNET1001_PARAMS,
    RESNETS,
    densenet121_abstract,
    difference_steps,
    imagenet_counts,
    training_step_results,
)
from ._q2_gradient import decades, gradients
from ._train_step import train_step_claim

k0, k, l = sp.symbols("k_0 k l", integer=True, positive=True)
P_D, P_R, M_D, M_R = sp.symbols("P_D P_R M_D M_R", positive=True)
MIB = 2**20

def _gradient_claim() -> tuple[Claim, Figure]:
    g = gradients()
    rho, spread, (lo, hi) = g.rho, g.spread, (g.depths[0], g.depths[-1])
    vanishes = rho[("plain", False)] < 0.1
    kept = decades(rho[("dense", False)]) < 1
    even = decades(spread[("dense", True)]) < decades(spread[("plain", True)])
    claim = Claim(
        id="q2b.gradient_flow",
        statement="Dense connections keep the gradient reaching the first layer from vanishing "
                  "as the network gets deeper.",
        quote="DenseNet reduces the vanishing gradient problem through its dense connections, "
              "where each layer receives input from all previous layers.",
        reading=f"Measured at initialisation on conv stacks of depth {g.depths} with about "
                "equal parameters (symconv.experiments.gradient_flow). Without batch norm a "
                "plain stack's first-layer gradient vanishes with depth ('vanishes': falls by "
                f"more than 10x from depth {lo} to {hi}) and a dense stack's stays within a "
                "factor of ten. With batch norm, as DenseNet is built, nothing vanishes at "
                "initialisation — the plain stack's gradient grows toward the input — and the "
                "dense stack's stays the most even across its layers. 'All previous layers' "
                "holds within a dense block (q2a.dense_inputs).",
        stated=True, derived=bool(vanishes and kept and even),
        derivation=Derivation((
            *g.rho_steps(f"plain stack, no batch norm: first-layer gradient, depth {hi} over "
                         f"depth {lo}", r"\rho_{\mathrm{plain}}", "plain"),
            *g.rho_steps("dense stack, no batch norm", r"\rho_{\mathrm{dense}}", "dense"),
            Step(f"with batch norm, depth {hi}: first over last layer's gradient",
                 r"\lVert g_1\rVert / \lVert g_{" + str(hi) + r"}\rVert",
                 Labeled.of(plain=sp.Float(spread[("plain", True)], 3),
                            dense=sp.Float(spread[("dense", True)], 3))))),
        checks=(g.check("plain, residual and dense"),),
        note="The limits: gradients at initialisation, before any training, on stacks of 16 "
             "maps; the papers' networks are larger and are trained. The experiment measures "
             "the mechanism (how the gradient reaches early layers), not accuracy.",
        cite=("huang2017", "Sec. 1"))
    return claim, g.figure()


def _architecture_claims(counts) -> list[Claim]:
    plain = DenseNetConfig(growth_rate=12, block_config=(32, 32, 32), num_init_features=16,
                           compression=1, bottleneck=False, classes=10, stem="cifar")
    p_dense = densenet_stack(plain).param_count()
    p_bc = densenet_stack(DenseNetConfig.bc_cifar(100, 12)).param_count()
    c10 = {name: err for name, (_, err) in HUANG_C10.items()}
    printed = {name: p for name, (p, _) in HUANG_C10.items()}
    as_printed = (f"{p_dense / 1e6:.1f}M" == printed["DenseNet (L=100, k=12)"]
                  and f"{p_bc / 1e6:.1f}M" == printed["DenseNet-BC (L=100, k=12)"])
    r1001 = RESNET1001_PARAMS
    both = "DenseNet (L=100, k=12) and DenseNet-BC (L=100, k=12), CIFAR, 10 classes (algebra)"
    return [
        Claim(id="q2b.architecture",
              statement="Dense connectivity alone already needs fewer parameters than a ResNet "
                        "of the same accuracy; the bottleneck layers and compression of "
                        "DenseNet-BC cut them much further.",
              quote="The computational benefits of DenseNet arise from its architecture of "
                    "dense connections.",
              reading="'Its architecture' read as DenseNet as published, bottleneck layers and "
                      "compression (DenseNet-BC) included; compared on CIFAR-10 (C10+), where "
                      "Huang et al. report both variants.",
              stated=True, derived=bool(p_dense < r1001 and c10["DenseNet (L=100, k=12)"]
                                        < c10["pre-activation ResNet-1001"]),
              derivation=Derivation((
                  Step("DenseNet (L=100, k=12), no bottleneck, no compression", "P_{D}",
                       p_dense),
                  Step("DenseNet-BC (L=100, k=12)", "P_{BC}", p_bc),
                  Step("parameters removed by bottleneck and compression", "P_D / P_{BC}",
                       P_D / P_R, {P_D: p_dense, P_R: p_bc}),
                  Step("parameters removed by bottleneck and compression: result",
                       "P_D / P_{BC}", sp.Rational(p_dense, p_bc).evalf(3)),
                  Step("pre-activation ResNet-1001 (Huang et al., Table 2)", "P_{R}",
                       r1001))),
              checks=(Check("paper", "the toolkit's counts, rounded to 0.1M as Table 2 prints "
                            "them, against Table 2's 7.0M and 0.8M", both, as_printed,
                            f"{p_dense:,} and {p_bc:,}"),),
              note=f"C10+ test error (Table 2): DenseNet {c10['DenseNet (L=100, k=12)']}%, "
                   f"DenseNet-BC {c10['DenseNet-BC (L=100, k=12)']}%, pre-activation "
                   f"ResNet-1001 {c10['pre-activation ResNet-1001']}%. Dense connectivity "
                   f"alone uses {p_dense / r1001:.0%} of ResNet-1001's parameters at a lower "
                   f"error; the bottleneck and compression then remove {p_dense / p_bc:.1f}x "
                   "more, at +0.41 points: most of the parameter saving comes from them, and "
                   "they work because the dense connections keep every earlier map available.",
              cite=("huang2017", "Table 2")),
        Claim(id="q2b.compact",
              statement="DenseNet-BC (L=100, k=12) matches the 1001-layer pre-activation "
                        "ResNet's CIFAR-10 error with about a tenth of its parameters.",
              quote="DenseNet promotes feature reuse, which allows the network to learn more "
                    "compact and efficient representations",
              reading="'More compact' checked as fewer parameters at comparable accuracy, "
                      "against a ResNet (Huang et al., Sec. 4.3); feature reuse is "
                      "q2a.feature_reuse.",
              stated=Compared.LOWER, derived=Compared.of(p_bc, r1001),
              derivation=Derivation((
                  Step("DenseNet-BC (L=100, k=12)", "P_{BC}", p_bc),
                  Step("pre-activation ResNet-1001 (Table 2)", "P_R", r1001),
                  Step("fewer parameters", "1 - P_{BC} / P_R", 1 - P_D / P_R,
                       {P_D: p_bc, P_R: r1001}),
                  Step("fewer parameters: result", "1 - P_{BC} / P_R",
                       (1 - sp.Rational(p_bc, r1001)).evalf(3)),
                  *difference_steps("C10+ error (%), DenseNet-BC against ResNet-1001",
                                           "E_{BC} - E_R", c10["DenseNet-BC (L=100, k=12)"],
                                           c10["pre-activation ResNet-1001"]))),
              checks=(Check("paper", "Huang et al.'s 'using 90% fewer parameters', from the "
                            "toolkit's count and Table 2's 10.2M", "DenseNet-BC (L=100, k=12)",
                            1 - p_bc / r1001 >= 0.9, f"{1 - p_bc / r1001:.1%} fewer"),),
              cite=("huang2017", "Sec. 4.3 and Table 2")),
    ]


def _params_claims(counts) -> list[Claim]:
    d121, r50 = DenseNetConfig.densenet121(), ResNetConfig.resnet50()
    sd, sr = densenet_stack(d121), resnet_stack(r50)
    md = densenet121_abstract()
    mr = xla.abstract(lambda: ResNet(r50, rngs=nnx.Rngs(0)))
    pd, pr = sd.param_count(), sr.param_count()
    macs_d, macs_r = sd.macs((224, 224, 3)), sr.macs((224, 224, 3))
    flops_d = sd.batch_flops((224, 224, 3), 1, "exact")
    cost_d = xla.cost(md, (1, 224, 224, 3))
    new_maps = {int(layer.conv2.kernel.shape[3]) for block in md.blocks for layer in block.layers}
    res_maps = sorted({p for _, p, _ in r50.blocks()})
    err = {n: v[2] for n, v in IMAGENET_TOP1_10CROP.items()}
    return [
        Claim(id="q2b.densenet121.params",
              statement="DenseNet-121 (k = 32, ImageNet): parameters.", derived=pd,
              derivation=Derivation((Step("sum over layers and blocks", "P", pd),)),
              checks=(Check("model", "nnx.state of the Flax DenseNet-121 (abstract)",
                            "ImageNet head", xla.param_count(md) == pd,
                            f"model: {xla.param_count(md):,}"),),
              unit="params", note="torchvision's densenet121 has 7,978,856."),
        Claim(id="q2b.densenet121.flops",
              statement="DenseNet-121 at 224x224: FLOPs as XLA counts them (exact convention, "
              "batch norm, ReLU, pooling, softmax included).", derived=flops_d,
              derivation=Derivation((Step("dense MACs", r"\mathrm{MACs}_{dense}", macs_d),
                                     Step("exact FLOPs", r"\mathrm{FLOPs}", flops_d))),
              checks=(Check("xla", "lowered-HLO cost analysis of the Flax DenseNet-121",
                            "1x224x224x3",
                            xla.flops_agree(flops_d, cost_d["flops"], cost_d["ops"]),
                            f"XLA: {cost_d['flops']:,} (float32 sums; tolerance "
                            f"{xla.flops_tolerance(flops_d, cost_d['ops']):,})"),),
              unit="FLOPs"),
        Claim(id="q2b.fewer_params",
              statement="DenseNet needs fewer parameters than a traditional (residual) network: "
              "DenseNet-121 against ResNet-50; each dense layer adds only k = 32 maps.",
              quote="This leads to fewer parameters compared to traditional networks, as "
                    "DenseNet does not require each layer to learn entirely new feature maps "
                    "but can reuse existing ones.",
              reading="'Traditional networks' read as ResNet-50, the usual comparison; at "
                      "matched accuracy see q2b.parameter_efficiency.",
              stated=True, derived=pd < pr,
              derivation=Derivation((Step("DenseNet-121", "P_D", pd), Step("ResNet-50", "P_R", pr),
                                     Step("ratio", "P_D / P_R", sp.Rational(pd, pr).evalf(3)),
                                     Step("MAC ratio", "M_D / M_R",
                                          sp.Rational(macs_d, macs_r).evalf(3)),
                                     Step("new maps per DenseNet-121 layer (growth rate)", "k",
                                          d121.growth_rate),
                                     Step("filters of ResNet-50's 3x3 convolutions",
                                          r"p", sp.FiniteSet(*res_maps)))),
              checks=(Check("model", "nnx.state of both Flax networks", "ImageNet heads",
                            (xla.param_count(md), xla.param_count(mr)) == (pd, pr),
                            f"{xla.param_count(md):,} vs {xla.param_count(mr):,}"),
                      Check("model", "output maps of every dense layer's 3x3 convolution in the "
                            "Flax DenseNet-121", "58 layers", new_maps == {d121.growth_rate},
                            f"{sorted(new_maps)}")),
              note=f"Fewer parameters, but not the same accuracy: DenseNet-121's top-1 error is "
                   f"{err['DenseNet-121']}% against ResNet-50's {err['ResNet-50']}% (10-crop; "
                   "Huang et al. Table 3, He et al. Table 3).",
              cite=("huang2017", "Sec. 1 and Table 3")),
    ]


def _reuse_claim() -> Claim:
    cfg = DenseNetConfig.densenet121()
    model = densenet121_abstract()
    seen = [int(layer.conv1.kernel.shape[2]) for layer in model.blocks[0].layers]
    formula = [dense_layer_channels(64, 32, i) for i in range(1, 7)]
    return Claim(
        id="q2b.feature_reuse",
        statement="Each layer receives the feature maps of all previous layers of its block: "
        "layer l of a block sees k0 + k(l - 1) channels.", derived=dense_layer_channels(k0, k, l),
        derivation=Derivation((
            Step("channels entering layer l", "c_l", dense_layer_channels(k0, k, l)),
            Step("block 1 of DenseNet-121 (k0 = 64, k = 32)", "c_{1..6}", tuple(formula)))),
        checks=(Check("model", "input channels of each layer's first conv kernel in the Flax "
                      "DenseNet-121, block 1", "6 layers", seen == formula, f"model: {seen}"),),
        note=f"Growth rate k = {cfg.growth_rate}.")


def _efficiency_claim(counts) -> tuple[Claim, Table]:
    err = {n: v[2] for n, v in IMAGENET_TOP1_10CROP.items()}
    better = [counts[d][0] < counts[r][0] and err[d] <= err[r] for d, r in PAIRS]
    published = {**{n: DENSENET_PUBLISHED[p] for n, p in DENSENETS.items()
                     if p in DENSENET_PUBLISHED},
                  "ResNet-50": RESNET_PUBLISHED["resnet50"]}
    papers = {"huang2017": "Huang et al., Table 3", "he2016": "He et al., Table 3"}
    rows = tuple((name, counts[name][0], sp.Rational(counts[name][1], 10**9).evalf(3),
                  err[name], papers[IMAGENET_TOP1_10CROP[name][0]])
                 for name in (*DENSENETS, *RESNETS))
    table = Table("ImageNet: parameters and MACs at 224 x 224 (the toolkit's algebra) beside the "
                  "papers' top-1 error (10-crop, validation set).",
                  ("network", "parameters", "GMACs", "top-1 error (%)", "error from"), rows,
                  rules=(len(DENSENETS),))
    claim = Claim(
        id="q2b.parameter_efficiency",
        statement="For every ResNet from 50 to 152 layers there is a DenseNet with fewer "
                  "parameters and lower ImageNet error.",
        quote="As a result, DenseNet networks tend to be more parameter-efficient while "
              "achieving competitive performance.",
        reading="'Competitive performance' checked as top-1 error at most the ResNet's; the "
                "pairs are DenseNet-169/ResNet-50, DenseNet-201/ResNet-101, "
                "DenseNet-264/ResNet-152.",
        stated=True, derived=all(better),
        derivation=Derivation(tuple(
            Step(f"{d} against {r}", r"(P_D / P_R,\ E_D - E_R)",
                 (sp.Rational(counts[d][0], counts[r][0]).evalf(3),
                  err[d] - err[r]))
            for d, r in PAIRS)),
        checks=(Check("paper", "the algebra's parameter counts equal the published ones "
                      "(torchvision)", ", ".join(published),
                      all(counts[n][0] == p for n, p in published.items()),
                      "; ".join(f"{n} {p:,}" for n, p in published.items())),),
        note="The errors come from two papers trained with different code (Huang et al. with "
             "fb.resnet.torch's settings, He et al. their own); Huang et al.'s Fig. 3, both "
             "families trained with the same code, shows the same: 'DenseNet-201 with 20M "
             "parameters ... similar validation error as a 101-layer ResNet with more than 40M "
             "parameters' (Sec. 4.4).",
        cite=("huang2017", "Table 3 and Fig. 3"))
    return claim, table


def _memory_claims(counts) -> list[Claim]:
    mem, where, platform = training_step_results()
    by = {m.model: m for m in mem}
    dn, rn = by["densenet121"], by["resnet50"]
    pd, pr = counts["DenseNet-121"][0], counts["ResNet-50"][0]
    args_hold_params = dn.argument_bytes >= 4 * pd and rn.argument_bytes >= 4 * pr
    a, o, t = sp.symbols(r"A O T", nonnegative=True)

    def mib(n):
        return Decimal(n / MIB).quantize(Decimal("0.1"))

    def total(label, m):
        return (Step(f"{label}: arguments + outputs + temporaries (MiB)", "M", a + o + t,
                     {a: mib(m.argument_bytes), o: mib(m.output_bytes), t: mib(m.temp_bytes)}),
                Step(f"{label}: result (MiB)", "M", mib(m.total_bytes)))

    macs_d, macs_r = counts["DenseNet-121"][1], counts["ResNet-50"][1]
    d201, r50, r101 = (counts[n][1] for n in ("DenseNet-201", "ResNet-50", "ResNet-101"))
    return [
        Claim(id="q2b.memory",
              statement="Memory of a training step: DenseNet-121 against ResNet-50.",
              quote="the reduced parameter count decreases memory usage",
              reading=f"Memory usage read as the memory one training step needs (the sentence "
                      f"goes on about training): XLA's plan for a step on {dn.batch} images of "
                      f"224 x 224, DenseNet-121 against ResNet-50.",
              stated=Compared.LOWER, derived=Compared.of(dn.total_bytes, rn.total_bytes),
              derivation=Derivation((
                  Step("parameter memory, float32 (MiB)", r"(4 P_D,\ 4 P_R)",
                       (mib(4 * pd), mib(4 * pr))),
                  *total("DenseNet-121", dn), *total("ResNet-50", rn))),
              checks=(Check("xla", "memory_analysis() of the compiled training step "
                            "(jax.jit(jax.grad(loss)), batch norm in training mode); its "
                            "arguments hold at least the algebra's parameters in float32",
                            f"batch {dn.batch}, 224x224; {where}", args_hold_params,
                            f"arguments {mib(dn.argument_bytes)} and {mib(rn.argument_bytes)} "
                            f"MiB; parameters {mib(4 * pd)} and {mib(4 * pr)} MiB"),),
              correction=f"The source says the smaller parameter count lowers memory use. The "
                         f"parameters do take less memory ({mib(4 * pd)} MiB for DenseNet-121 "
                         f"against {mib(4 * pr)} MiB for ResNet-50 in float32), but training "
                         "memory is dominated by the feature maps kept for the backward pass, "
                         "and concatenation keeps every earlier map of a block alive and "
                         f"larger inputs for each layer: XLA plans {mib(dn.total_bytes)} MiB for "
                         f"one DenseNet-121 training step on {dn.batch} images against "
                         f"{mib(rn.total_bytes)} MiB for ResNet-50 "
                         f"({dn.total_bytes / rn.total_bytes - 1:.0%} more). Pleiss et al. "
                         "show that a naive implementation's feature-map memory grows "
                         "quadratically with depth, and reduce it to linear.",
              note="Borderline in one case: for inference on a single image the parameters "
                   "weigh more and DenseNet-121 may need less; training, which the sentence "
                   "is about, needs more. Memory-efficient implementations (shared buffers, "
                   "recomputation) lower DenseNet's figure at the cost of computation.",
              cite=("pleiss2017", "Abstract")),
        Claim(id="q2b.compute",
              statement="DenseNet-121 needs fewer multiply-accumulates than ResNet-50 despite "
                        "more than twice the depth.",
              quote="making DenseNet computationally efficient despite its depth",
              reading="Computation counted as multiply-accumulates of a forward pass at 224 x "
                      "224 (a training step costs about three times as much, in the same "
                      "ratio).",
              stated=Compared.LOWER, derived=Compared.of(macs_d, macs_r),
              derivation=Derivation((
                  Step("MACs, DenseNet-121 (121 layers)", "M_D", macs_d),
                  Step("MACs, ResNet-50 (50 layers)", "M_R", macs_r),
                  Step("ratio", "M_D / M_R", M_D / M_R, {M_D: macs_d, M_R: macs_r}),
                  Step("ratio: result", "M_D / M_R", sp.Rational(macs_d, macs_r).evalf(3)))),
              checks=(Check("paper", "Huang et al.: 'a DenseNet that requires as much "
                            "computation as a ResNet-50 performs on par with a ResNet-101, which "
                            "requires twice as much computation', from the algebra's MACs: "
                            "DenseNet-201 within 10% of ResNet-50, ResNet-101 within 10% of "
                            "twice ResNet-50", "DenseNet-201, ResNet-50, ResNet-101 at 224x224",
                            abs(d201 / r50 - 1) < 0.1 and abs(r101 / (2 * r50) - 1) < 0.1,
                            f"{d201 / r50:.3f} and {r101 / r50:.3f}"),),
              note="The XLA side of DenseNet-121's count is q2b.densenet121.flops.",
              cite=("huang2017", "Sec. 4.4 and Fig. 3")),
        _speed_claim(dn, rn, where, platform),
    ]


def _speed_claim(dn, rn, where: str, platform: str) -> Claim:
    t_d, t_r = (Decimal(repr(m.seconds)).quantize(Decimal("0.01")) for m in (dn, rn))
    derived = Compared.of(dn.seconds, rn.seconds)
    return Claim(
        id="q2b.training_speed",
        statement="Time of a training step: DenseNet-121 against ResNet-50, on this machine.",
        quote="accelerates training",
        reading=f"Read as: a training step of DenseNet-121 takes less time than one of ResNet-50, "
                f"the network q2b.fewer_params compares it with. Timed with XLA on this "
                f"machine ({platform.upper()}), {dn.batch} images of 224 x 224.",
        stated=Compared.LOWER, derived=derived,
        derivation=Derivation((
            Step("DenseNet-121, median seconds a step", "t_D", t_d),
            Step("ResNet-50, median seconds a step", "t_R", t_r),
            Step("ratio", "t_D / t_R", (t_d / t_r).quantize(Decimal("0.01"))))),
        checks=(Check("experiment", "wall time of the compiled training steps (jax.jit of "
                      "jax.grad), the two networks alternating, median of 3 after a warm-up",
                      f"batch {dn.batch}, 224x224; {where}",
                      dn.seconds > 0 and rn.seconds > 0, f"{t_d} s and {t_r} s"),),
        correction="" if derived is Compared.LOWER else (
            f"The source says the smaller parameter count accelerates training. A step's time "
            f"follows its arithmetic and its memory traffic, not its parameter count: "
            f"DenseNet-121 has fewer multiply-accumulates (q2b.compute) but moves more data "
            f"(its concatenations, q2b.memory), and on this machine its training step on "
            f"{dn.batch} images takes {t_d} s against {t_r} s for ResNet-50."),
        note="Borderline: one machine, shared and loaded (the ratio, measured with the two "
             "networks alternating, is what to read), CPU rather than the GPUs the papers "
             "trained on; a smaller parameter count speeds up only the optimizer's update.")


def build() -> Proof:
    counts = imagenet_counts()
    gradient, fig = _gradient_claim()
    efficiency, table = _efficiency_claim(counts)
    architecture, compact = _architecture_claims(counts)
    params, flops, fewer = _params_claims(counts)
    memory, compute, speed = _memory_claims(counts)
    claims = (gradient, architecture, compact, _reuse_claim(), params, flops, fewer,
              efficiency, memory, compute, speed,
              train_step_claim("q2b.train_step", "densenet121"))
    return Proof("Q2", "b", "Vanishing gradients and computational benefits", claims,
                 figures=(fig,), tables=(table,))
