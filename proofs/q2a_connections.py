"""Q2 part (a): residual against dense connections — what each block computes (checked on the
Flax blocks), what the papers measured (He et al. 2016, Huang et al. 2017, with the toolkit's
own parameter counts beside them), and how the gradient reaches the first layer (the
gradient-flow experiment, without and with batch norm).
"""

from __future__ import annotations

import jax
import numpy as np
import sympy as sp
from flax import nnx

from symconv.algebra.blocks import DenseBlock, ResidualBlock, dense_layer_channels, transition
from symconv.algebra.conv import Conv2D
from symconv.algebra.nets.densenet import DenseNetConfig, densenet_stack
from symconv.algebra.nets.resnet import ResNetConfig, resnet_stack
from symconv.algebra.symbols import H, W
from symconv.checks import xla
from symconv.report.derive import derive
from symconv.report.proof import Check, Claim, Compared, Derivation, Labeled, Proof, Step

from ._q2_common import (
    HE_TABLE2,
    IMAGENET_TOP1_10CROP,
    densenet121_abstract,
    difference_steps,
    random_state,
)
from ._q2_gradient import decades, gradients

P_D, P_R = sp.symbols("P_D P_R", positive=True)
k0_, k_, l_, L_ = sp.symbols("k_0 k l L", positive=True, integer=True)
x_ = sp.Symbol("x")


def _convs(stack) -> int:
    return sum(isinstance(layer, Conv2D) for layer in stack.layers)


def _residual_claims() -> list[Claim]:
    from symconv.models.resnet import ResidualBlockModule

    # The residual branch driven to zero (its last conv's weights, as He et al. put it):
    # a basic and a bottleneck block, batch norm in inference mode (statistics 0 and 1).
    # Random weights (NumPy), then the last conv of the branch zeroed; one compiled program.
    blocks, inputs = {}, {}
    for kind, c, p in (("basic", 16, 16), ("bottleneck", 64, 16)):
        graphdef, state = random_state(
            lambda c=c, p=p, kind=kind: ResidualBlockModule(c, p, 1, kind, False, nnx.Rngs(0)))
        last = state["convs"][len(state["convs"]) - 1]["kernel"]
        last[...] = np.zeros(last.shape, last.dtype)
        blocks[kind] = (graphdef, state)
        x = np.random.default_rng(1).normal(size=(2, 8, 8, c)).astype(np.float32)
        inputs[kind] = (x, np.maximum(x, 0))  # a block's input follows a ReLU: non-negative
    graphdefs = {kind: g for kind, (g, _) in blocks.items()}

    @jax.jit
    def zeroed_branch(states, inputs):
        return {kind: tuple(nnx.merge(graphdefs[kind], states[kind])(a) for a in inputs[kind])
                for kind in states}

    got = zeroed_branch({kind: s for kind, (_, s) in blocks.items()}, inputs)
    outs = {kind: (np.asarray(got[kind][0]), np.maximum(inputs[kind][0], 0),
                   np.asarray(got[kind][1]), inputs[kind][1],
                   len(nnx.merge(*blocks[kind]).convs)) for kind in blocks}
    added = all(np.array_equal(y, relu_x) for y, relu_x, *_ in outs.values())
    identity = all(np.array_equal(y_pos, x_pos) for _, _, y_pos, x_pos, _ in outs.values())
    span = Labeled.of(basic=_convs(ResidualBlock(64, 64).main()),
                      bottleneck=_convs(ResidualBlock(256, 64, 1, "bottleneck").main()))
    model_span = Labeled.of(basic=outs["basic"][4], bottleneck=outs["bottleneck"][4])
    zeroed = ("the last convolution of the residual branch set to zero, batch norm in inference "
              "mode; basic block 16->16 and bottleneck 64->16->64 channels")

    depth = {}
    for n, layers in ((18, (2, 2, 2, 2)), (34, (3, 4, 6, 3))):
        cfg = ResNetConfig(layers=layers, kind="basic")
        # weighted layers on the main path: the stem conv, every block's convs, the FC
        depth[n] = 1 + sum(_convs(ResidualBlock(c, p, s, cfg.kind).main())
                           for c, p, s in cfg.blocks()) + 1
    t2 = HE_TABLE2
    deeper = Labeled.of(plain=Compared.of(t2[("plain", 34)], t2[("plain", 18)]),
                        ResNet=Compared.of(t2[("ResNet", 34)], t2[("ResNet", 18)]))
    return [
        Claim(id="q2a.residual_addition",
              statement="A residual connection adds a block's input to the output of its "
                        "layers.",
              quote="In ResNet, residual connections allow the input to be added to the output "
                    "of a layer, forming a residual block.",
              stated=True, derived=added,
              derivation=Derivation((
                  Step("residual block (He et al. 2016, Eq. (1)); ResNet applies a ReLU after "
                       "the addition", "y", sp.Function("ReLU")(x_ + sp.Function("F")(x_))),
                  Step("residual branch zeroed", "y", sp.Function("ReLU")(sp.Symbol("x"))))),
              checks=(Check("model", "the Flax residual blocks with the residual branch zeroed "
                            "return ReLU(x): the input is added, unchanged", zeroed, added),),
              cite=("he2016", "Sec. 3.2, Eq. (1)")),
        Claim(id="q2a.residual_span",
              statement="Layers a ResNet shortcut skips.",
              quote="the input to be added to the output of a layer",
              reading="'a layer' taken as the source writes it: one layer between the input and "
                      "the addition.",
              stated=1, derived=span,
              derivation=Derivation((
                  Step("convolutions on the residual branch, basic block (ResNet-18/34)",
                       r"n_{\mathrm{basic}}", span["basic"]),
                  Step("convolutions on the residual branch, bottleneck block (ResNet-50 and "
                       "deeper)", r"n_{\mathrm{bottleneck}}", span["bottleneck"]))),
              checks=(Check("model", "convolutions of the Flax ResidualBlockModule, basic and "
                            "bottleneck", "ResidualBlockModule(16, 16) and (64, 16)",
                            model_span == span, str(model_span)),),
              correction="The source says the input is added to the output of a layer. In "
                         "ResNet a shortcut skips a stack of layers: two 3x3 convolutions in "
                         "the basic block, three (1x1, 3x3, 1x1) in the bottleneck block. He "
                         "et al. (Sec. 3.2) found no advantage in a shortcut over a single "
                         "layer, which makes the block close to a linear layer y = W x + x.",
              note="Borderline: 'a layer' may be meant loosely for 'a stack of layers'; read "
                   "as written, it is one layer where ResNet uses two or three.",
              cite=("he2016", "Sec. 3.2 and Fig. 5")),
        _residual_gradient_claim(),
        Claim(id="q2a.residual_depth",
              statement="Residual connections let deeper networks train better: going from 18 to "
                        "34 layers raises a plain net's ImageNet error and lowers a ResNet's.",
              quote="allowing for deeper networks",
              stated=True,
              derived=deeper == Labeled.of(plain=Compared.HIGHER, ResNet=Compared.LOWER),
              derivation=Derivation((
                  *difference_steps("plain net, 34 against 18 layers (top-1 error, %)",
                                           r"E_{34} - E_{18}", t2[("plain", 34)],
                                           t2[("plain", 18)]),
                  *difference_steps("ResNet, 34 against 18 layers (top-1 error, %)",
                                           r"E_{34} - E_{18}", t2[("ResNet", 34)],
                                           t2[("ResNet", 18)]),
                  Step("error with depth", r"\text{34 vs 18}", deeper))),
              checks=(Check("model", "weighted layers on the main path (stem conv, the blocks' "
                            "convolutions, the FC) of the toolkit's ResNet configs the table's "
                            "rows name", "ResNetConfig basic (2,2,2,2) and (3,4,6,3)",
                            depth == {18: 18, 34: 34}, f"{depth}"),),
              note="Errors are the paper's (top-1, 10-crop, ImageNet validation; the plain and "
                   "residual nets have the same parameters). He et al. also show the deeper "
                   "plain net's training error is higher: the degradation is an optimisation "
                   "difficulty, not overfitting.",
              cite=("he2016", "Table 2")),
        Claim(id="q2a.identity",
              statement="A residual block can represent the identity: with its residual branch "
                        "at zero it passes its (non-negative) input through unchanged.",
              quote="The primary advantage of ResNet's residual connections is that they "
                    "simplify optimization by ensuring that the identity function can be "
                    "learned, improving training stability.",
              reading="'ensuring that the identity function can be learned' checked as: a block "
                      "whose residual branch outputs zero — the weights driven to zero, as He et "
                      "al. put it — is the identity on its input, which follows a ReLU and is "
                      "non-negative. 'Primary' advantage and 'training stability' are "
                      "judgements, not checked; that optimisation gets easier is He et al.'s "
                      "Table 2 (q2a.residual_depth).",
              stated=True, derived=identity,
              derivation=Derivation((
                  Step("residual branch zeroed, input x >= 0", "y",
                       sp.Function("ReLU")(sp.Symbol("x"))),
                  Step("ReLU(x) = x for x >= 0", "y", sp.Symbol("x")))),
              checks=(Check("model", "the Flax residual blocks with the residual branch zeroed "
                            "return their non-negative input exactly", zeroed, identity),),
              cite=("he2016", "Sec. 3.1")),
    ]


def _residual_gradient_claim() -> Claim:
    g = gradients()
    rho, spread, (lo, hi) = g.rho, g.spread, (g.depths[0], g.depths[-1])
    no_vanish = rho[("residual", False)] >= 1 and rho[("plain", False)] < 0.1
    evener = decades(spread[("residual", True)]) < decades(spread[("plain", True)])
    return Claim(
        id="q2a.residual_gradient",
        statement="The addition carries the gradient back: with the shortcut the first layer's "
                  "gradient does not vanish with depth.",
        quote="This addition helps gradients flow more easily during backpropagation, "
              "alleviating the vanishing gradient problem",
        reading=f"Measured at initialisation on conv stacks of depth {lo} to {hi} "
                "(symconv.experiments.gradient_flow): without batch norm, the first layer's "
                "gradient of a plain stack vanishes with depth and that of a residual stack "
                "does not; with batch norm, as ResNets are built, the residual stack's gradient "
                "is more even across its layers than the plain stack's.",
        stated=True, derived=bool(no_vanish and evener),
        derivation=Derivation((
            *g.rho_steps(f"plain stack, no batch norm: first-layer gradient, depth {hi} over "
                         f"depth {lo}", r"\rho_{\mathrm{plain}}", "plain"),
            *g.rho_steps("residual stack, no batch norm", r"\rho_{\mathrm{residual}}",
                         "residual"),
            Step(f"with batch norm, depth {hi}: first over last layer's gradient",
                 r"\lVert g_1\rVert / \lVert g_{" + str(hi) + r"}\rVert",
                 Labeled.of(plain=sp.Float(spread[("plain", True)], 3),
                            residual=sp.Float(spread[("residual", True)], 3))))),
        checks=(g.check("plain, residual and dense"),),
        note="Borderline, and the limits matter. Without batch norm the residual stack's "
             f"gradient does not vanish but explodes (x{rho[('residual', False)]:.2g} from depth "
             f"{lo} to {hi}: the sums grow with depth). With batch norm the plain stack's "
             "gradient does not vanish either at initialisation — it grows toward the input — "
             "which is what He et al. report for their BN-trained plain nets (Sec. 4.1: the "
             "degradation 'is unlikely to be caused by vanishing gradients'); there the "
             "shortcut makes the gradient more even, and its benefit is easier optimisation. "
             "Initialisation only, no training.",
        cite=("he2016", "Sec. 4.1"))


def _dense_claims() -> list[Claim]:
    from symconv.models.densenet import DenseBlockModule

    cfg = DenseNetConfig.densenet121()
    chans = cfg.channels()
    k, n1 = cfg.growth_rate, cfg.block_config[0]
    model = densenet121_abstract()
    got_block2 = int(model.blocks[1].layers[0].conv1.kernel.shape[2])
    sizes = [tuple(p.in_shape[:2]) for p in densenet_stack(cfg).named_parts((224, 224, 3))
             if p.name in ("denseblock1", "denseblock2")]
    all_before = dense_layer_channels(chans[0], k, n1 + 1)  # the stem's maps and block 1's
    trans = derive(transition(all_before), (*sizes[0], all_before), keys=("shape",))

    # concatenation, value for value: a small dense block with random weights
    small = DenseNetConfig(growth_rate=4, block_config=(3,), num_init_features=8)
    graphdef, state = random_state(lambda: DenseBlockModule(8, 3, small, False,
                                                                   nnx.Rngs(0)), seed=2)
    x = np.random.default_rng(2).normal(size=(2, 6, 6, 8)).astype(np.float32)

    @jax.jit
    def pieces(state, x):
        b = nnx.merge(graphdef, state)
        y = b(x)
        new = [b.layers[i](y[..., :8 + 4 * i]) for i in range(3)]
        return y, new

    y, new = pieces(state, x)
    kept = bool(np.array_equal(np.asarray(y[..., :8]), np.asarray(x)) and all(
        np.array_equal(np.asarray(y[..., 8 + 4 * i:12 + 4 * i]), np.asarray(n))
        for i, n in enumerate(new)))
    shapes = (tuple(ResidualBlock(64, 64).output_shape((56, 56, 64))),
              tuple(DenseBlock(64, 6, 32).output_shape((56, 56, 64))))
    from symconv.models.resnet import ResidualBlockModule

    m_res = xla.abstract(lambda: ResidualBlockModule(64, 64, 1, "basic", False, nnx.Rngs(0)))
    m_dense = xla.abstract(lambda: DenseBlockModule(64, 6, DenseNetConfig(), False,
                                                    nnx.Rngs(0)))
    got = (tuple(xla.output_shape(m_res, (1, 56, 56, 64), sympy=False)[1:]),
           tuple(xla.output_shape(m_dense, (1, 56, 56, 64), sympy=False)[1:]))
    structure = ("Flax DenseBlockModule, 8 input maps, 3 layers of growth 4, random weights, "
                 "2 inputs 6x6")
    return [
        Claim(id="q2a.connections",
              statement="ResNet adds a block's input to its output; DenseNet concatenates every "
              "earlier layer's maps: a residual block keeps the channel count, a dense block of "
              "L layers adds L*k channels.",
              derived=shapes,
              derivation=Derivation((
                  Step("residual block, 64 channels", "x + F(x)", shapes[0]),
                  Step("dense block, k0 = 64, L = 6, k = 32", "[x, H_1, ..., H_6]",
                       shapes[1]))),
              checks=(Check("model", "jax.eval_shape of the Flax residual and dense blocks",
                            "input 56x56x64", got == shapes, f"{got[0]}, {got[1]}"),)),
        Claim(id="q2a.dense_inputs",
              statement="Which earlier layers a DenseNet layer receives.",
              quote="In contrast, DenseNet uses dense connections, where each layer receives "
                    "input from all previous layers.",
              reading="'each layer receives input from all previous layers' taken for the whole "
                      "network, as written.",
              stated=True, derived=bool(chans[1] >= all_before),
              derivation=Derivation((
                  Step("maps leaving dense block 1 of DenseNet-121 (56 x 56)", r"c_1",
                       all_before),
                  *trans.steps,
                  Step("channels entering layer 1 of dense block 2 (28 x 28)", r"c_{2,1}",
                       chans[1]))),
              checks=(Check("model", "input channels of the first convolution of dense block "
                            "2, layer 1, in the Flax DenseNet-121 (abstract)", "ImageNet head",
                            got_block2 == chans[1], f"model: {got_block2}"),),
              correction="The source says each layer receives the maps of all previous layers. "
                         "That holds within a dense block (Huang et al., Eq. (2)): layer l of a "
                         "block receives k0 + k(l-1) maps. Between blocks the feature maps "
                         "change size (56 x 56, then 28 x 28 in DenseNet-121), where "
                         "concatenation is impossible, so a transition layer (BN, 1x1 "
                         "convolution halving the channels, 2x2 average pooling) passes on a "
                         f"compressed summary: the first layer of block 2 receives "
                         f"{chans[1]} maps, not the {all_before} maps of block 1 and "
                         "the stem.",
              note="The paper's own abstract says 'connects each layer to every other layer'; "
                   "its Sec. 1 adds 'with matching feature-map sizes'. Read as shorthand for "
                   "'within a dense block', the sentence would be right.",
              cite=("huang2017", "Sec. 3, Eq. (2) and 'Pooling layers'")),
        Claim(id="q2a.concatenation",
              statement="A dense block's output is its input followed by every layer's new "
                        "maps, unchanged, and each layer reads all of them before it.",
              quote="This means that the output of every layer is concatenated with the outputs "
                    "of earlier layers and passed through subsequent layers.",
              stated=True, derived=kept,
              derivation=derive(DenseBlock(k0_, L_, k_), (H, W, k0_), keys=("shape",)),
              checks=(Check("model", "output channels 0-7 equal the input and channels 8+4i to "
                            "11+4i equal layer i+1 applied to the first 8+4i channels", structure,
                            kept),),
              cite=("huang2017", "Sec. 3, Eq. (2)")),
        Claim(id="q2a.feature_reuse",
              statement="Dense connections let later layers reuse earlier layers' maps.",
              quote="DenseNet's advantage lies in improved feature reuse",
              reading="Checked as structure: within a block every layer's maps reach every later "
                      "layer unchanged (q2a.concatenation's model check). That trained DenseNets "
                      "do use early maps is Huang et al.'s Fig. 5 (weights of a trained "
                      "DenseNet on CIFAR-10), not measured here; calling it the advantage is a "
                      "judgement.",
              stated=True, derived=kept,
              derivation=Derivation((Step("maps layer l of a block reads", r"c_l",
                                          dense_layer_channels(k0_, k_, l_)),)),
              checks=(Check("model", "every earlier map of the block reaches each layer "
                            "unchanged (the concatenation check)", structure, kept),),
              cite=("huang2017", "Sec. 5, Fig. 5")),
    ]


def _dense_gradient_claim() -> Claim:
    g = gradients()
    others = ("plain", "residual")
    most_even = all(decades(g.rho[("dense", bn)]) < min(decades(g.rho[(a, bn)]) for a in others)
                    for bn in (False, True))

    def rho(bn):
        return Labeled.of((a, sp.Float(g.rho[(a, bn)], 3)) for a in ("plain", "residual",
                                                                      "dense"))

    return Claim(
        id="q2a.dense_gradient",
        statement="Dense connections give better gradient flow than plain or residual ones.",
        quote="leading to more efficient learning and better gradient flow",
        reading=f"'Better gradient flow' measured at initialisation (depths {g.depths}): the "
                "first layer's gradient changes least with depth in the dense stack, without "
                "and with batch norm. 'More efficient learning' is read as parameter efficiency "
                "(q2a.fewer_params, q2b.parameter_efficiency).",
        stated=True, derived=most_even,
        derivation=Derivation((
            Step(f"first-layer gradient, depth {g.depths[-1]} over depth {g.depths[0]}, no "
                 "batch norm", r"\rho", rho(False)),
            Step("the same with batch norm", r"\rho_{BN}", rho(True)))),
        checks=(g.check("plain, residual and dense"),),
        note="At initialisation only, on small stacks (16 maps, 3x3 convolutions); the figure "
             "of Q2(b) shows every layer.")


def _fewer_params_claim() -> Claim:
    d201 = densenet_stack(DenseNetConfig.densenet201()).param_count()
    r101 = resnet_stack(ResNetConfig(layers=(3, 4, 23, 3), kind="bottleneck")).param_count()
    err = {k: v[2] for k, v in IMAGENET_TOP1_10CROP.items()}
    return Claim(
        id="q2a.fewer_params",
        statement="DenseNet needs fewer parameters than a ResNet of the same accuracy: "
                  "DenseNet-201 against ResNet-101 (Huang et al.'s example).",
        quote="DenseNet also reduces the number of parameters compared to traditional networks "
              "by avoiding redundant feature learning.",
        reading="'Traditional networks' read as ResNets of similar ImageNet accuracy. 'By "
                "avoiding redundant feature learning' is Huang et al.'s explanation (Sec. 1): "
                "each layer adds only k = 32 maps (q2b.fewer_params).",
        stated=Compared.LOWER, derived=Compared.of(d201, r101),
        derivation=Derivation((
            Step("parameters, DenseNet-201", "P_D", d201),
            Step("parameters, ResNet-101", "P_R", r101),
            Step("ratio", "P_D / P_R", P_D / P_R, {P_D: d201, P_R: r101}),
            Step("ratio", "P_D / P_R", sp.Rational(d201, r101).evalf(3)),
            *difference_steps("top-1 error, 10-crop (%), DenseNet-201 against "
                                     "ResNet-101", "E_D - E_R", err["DenseNet-201"],
                                     err["ResNet-101"]))),
        checks=(Check("paper", "the toolkit's counts against Huang et al.'s words: "
                      "'DenseNet-201 with 20M parameters' and 'a 101-layer ResNet with more "
                      "than 40M'", "DenseNet-201, ResNet-101 (algebra)",
                      round(d201 / 1e6) == 20 and r101 > 40_000_000,
                      f"{d201:,} and {r101:,}"),),
        note="The errors come from two papers (Huang et al. Table 3, He et al. Table 3), trained "
             "with different code; Huang et al.'s Fig. 3 compares both under the same training "
             "code and shows the same trend. Against DenseNet-121 and ResNet-50 see "
             "q2b.fewer_params.",
        cite=("huang2017", "Sec. 4.4, Table 3"))


def build() -> Proof:
    claims = [*_residual_claims(), *_dense_claims(), _dense_gradient_claim(),
              _fewer_params_claim()]
    order = ["q2a.residual_addition", "q2a.residual_span", "q2a.residual_gradient",
             "q2a.residual_depth", "q2a.identity", "q2a.connections", "q2a.dense_inputs",
             "q2a.concatenation", "q2a.feature_reuse", "q2a.dense_gradient", "q2a.fewer_params"]
    by_id = {c.id: c for c in claims}
    return Proof("Q2", "a", "Residual against dense connections",
                 tuple(by_id[i] for i in order))
