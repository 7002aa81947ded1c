"""Q4 part (e): YOLOv1, YOLOv2, YOLOv3 and their backbones in numbers — layers with weights,
residual blocks, output scales, anchors per cell and parameters, from the algebra and checked
against the Flax models (``nnx.state``, ``jax.eval_shape``).
"""

from __future__ import annotations

import sympy as sp

from symconv.algebra.nets.yolo_head import anchor_depth, box_count, max_confident_classes
from symconv.checks import xla
from symconv.report.notation import human
from symconv.report.proof import Basis, Claim, Compared, Derivation, Labeled, Proof, Step, Table

from ._tracing import conv_path_lengths
from ._train_step import train_step_claim
from ._yolo_common import (
    STATED,
    STATED_LABELS,
    C,
    LabelMode,
    Layers,
    check,
    class_logits,
    decode_both,
    max_label_checks,
    networks,
)
from ._yolo_papers import small_objects_claim


def _layer_claims(nets, lay, mlay, params) -> list[Claim]:
    d53, d19 = lay["Darknet-53"], lay["Darknet-19"]
    short = d53["conv"] - 2 * d53["residual"]
    paths = conv_path_lengths(nets["Darknet-53"].model, (1, *nets["Darknet-53"].in_shape), -1)
    t53 = nets["Darknet-53"].algebra_layers(nets["Darknet-53"].top)
    t19 = nets["Darknet-19"].algebra_layers(nets["Darknet-19"].top)
    n53, n19 = t53["conv"] + t53["fc"], t19["conv"] + t19["fc"]

    def backbone_check(k, d):
        m = mlay[k]
        return check("model", f"4-D and 2-D kernels in nnx.state of the Flax {k} inside "
                     f"{'YOLOv3' if k == 'Darknet-53' else 'YOLOv2'} (no classifier) against "
                     "the algebra's backbone", nets[k].source,
                     (m["conv"], m["fc"]) == (d["conv"], d["fc"]),
                     f"{m['conv']} conv + {m['fc']} dense")

    return [
        Claim(id="q4e.darknet53_layers", statement="YOLOv3 replaces the backbone with Darknet-53 "
              "(53 layers with weights), for deeper feature extraction.", stated=53, derived=n53,
              derivation=Derivation((
                  Step("stem + 5 downsampling convolutions", "L_{down}", 1 + 5),
                  Step("residual blocks 1 + 2 + 8 + 8 + 4, two convolutions each", "L_{res}",
                       2 * d53["residual"]),
                  Step("backbone", "L_{conv}", d53["conv"]),
                  Step("classifier (global pool, FC 1000)", "L_{fc}", t53["fc"]),
                  Step("total", "L", n53))),
              checks=(backbone_check("Darknet-53", d53),),
              note=f"{t53['conv']} convolutions and one dense layer (the classifier's, not used "
                   f"in YOLOv3). YOLOv2's Darknet-19 has {n19} (q4e.darknet19_layers): "
                   f"{n53 / n19:.1f}x as deep; as backbones, {human(params['Darknet-53'])} vs "
                   f"{human(params['Darknet-19'])} parameters and "
                   f"{human(nets['Darknet-53'].flops())} vs {human(nets['Darknet-19'].flops())} "
                   "FLOPs at 416.", unit="layers", quote="It replaces the backbone network with "
              "Darknet-53", cite=("redmon2018", "Sec. 2.4"),
              reading="'Darknet-53' read as: 53 layers with weights (the paper says it has 53 "
                      "convolutional layers; its Table 1 lists 52 convolutions and the "
                      "classifier's connected layer)."),
        Claim(id="q4e.has_residual", statement="Darknet-53 includes residual (shortcut) "
              "connections.", quote="which includes residual connections",
              stated=True, derived=d53["residual"] > 0 and mlay["Darknet-53"]["residual"] > 0,
              cite=("redmon2018", "Sec. 2.4"),
              derivation=Derivation((Step("residual blocks, algebra (q4e.residual)", "R",
                                          d53["residual"]),)),
              checks=(check("model", "ResidualUnit modules in the Flax Darknet-53 (the backbone "
                            "inside YOLOv3)", nets["Darknet-53"].source,
                            mlay["Darknet-53"]["residual"] == d53["residual"],
                            f"{mlay['Darknet-53']['residual']}"),)),
        Claim(id="q4e.gradient_flow", statement="The residual connections give a shorter path "
              "for the gradient.", quote="for better gradient flow",
              stated=Compared.LOWER, derived=Compared.of(short, d53["conv"]),
              reading="'Better gradient flow' read as: the gradient reaches the first layers "
                      "through fewer convolutions, the shortcuts skipping the blocks' own.",
              derivation=Derivation((
                  Step("convolutions of Darknet-53 (no classifier)", "L", d53["conv"]),
                  Step("of them inside residual blocks, two per block", "L_{res}",
                       sp.Mul(2, d53["residual"], evaluate=False)),
                  Step("on the shortest path: the stem and the five downsampling convolutions",
                       "L - L_{res}", short))),
              checks=(check("model", "fewest and most convolutions from the input to the "
                            "13 x 13 output in the traced Flax Darknet-53 (data flow of "
                            "jax.make_jaxpr)", "1 x 416 x 416 x 3",
                            paths == (short, d53["conv"]), f"fewest {paths[0]}, most "
                            f"{paths[1]}"),),
              note="The YOLOv3 paper does not speak of gradient flow; He et al. introduced "
                   "shortcuts because deeper plain networks trained worse (the degradation "
                   "problem).", cite=("he2016", "Sec. 1"),
              unit="convolutions on the shortest path (with shortcuts against without)"),
        Claim(id="q4e.deeper", statement="Darknet-53 is deeper than Darknet-19.",
              quote="and deeper feature extraction", stated=Compared.HIGHER,
              derived=Compared.of(n53, n19), cite=("redmon2018", "Sec. 2.4"),
              derivation=Derivation((Step("Darknet-53 (q4e.darknet53_layers)", "L_{53}", n53),
                                     Step("Darknet-19 (q4e.darknet19_layers)", "L_{19}", n19))),
              checks=(backbone_check("Darknet-53", d53), backbone_check("Darknet-19", d19)),
              unit="layers with weights (Darknet-53 against Darknet-19)"),
        Claim(id="q4e.darknet19_layers", statement="YOLOv2's backbone, Darknet-19: its number of "
              "layers with weights.", derived=n19,
              derivation=Derivation((
                  Step("3x3 and 1x1 convolutions (YOLO9000, Table 6)", "L_{conv}", d19["conv"]),
                  Step("1x1 classifier convolution (to 1000 classes)", "L_{cls}",
                       t19["conv"] - d19["conv"]),
                  Step("total", "L", n19))),
              checks=(backbone_check("Darknet-19", d19),), unit="layers"),
        Claim(id="q4e.residual", statement="Darknet-53 includes residual connections (Darknet-19 "
              "has none).", derived=d53["residual"],
              derivation=Derivation((
                  Step("blocks per stage", r"(R_1, \dots, R_5)", sp.Tuple(1, 2, 8, 8, 4)),
                  Step("total", "R", d53["residual"]))),
              checks=(check("model", "ResidualUnit modules in the Flax Darknet-53 and Darknet-19 "
                            "graphs", "the backbones inside YOLOv3 and YOLOv2",
                            mlay["Darknet-53"]["residual"] == d53["residual"]
                            and mlay["Darknet-19"]["residual"] == d19["residual"] == 0,
                            f"{mlay['Darknet-53']['residual']} and "
                            f"{mlay['Darknet-19']['residual']}"),),
              unit="blocks"),
    ]


def _head_claims(outs, mouts, per_cell) -> list[Claim]:
    logits, objectness = class_logits()
    most = {r: max_confident_classes(C, r) for r in ("softmax", "logistic")}
    v2_boxes, v3_boxes = box_count(416, per_cell["YOLOv2"], (32,)), box_count(416)
    return [
        Claim(id="q4e.v2_scales", statement="YOLOv2 uses a single-scale detection approach.",
              stated=1, derived=len(outs["YOLOv2"]),
              derivation=Derivation((Step("outputs at 416", "Y_{v2}", outs["YOLOv2"]),)),
              checks=(check("model", "jax.eval_shape of the Flax YOLOv2 (C = 80): output maps",
                            "1 x 416 x 416 x 3", mouts["YOLOv2"] == outs["YOLOv2"],
                            f"{mouts['YOLOv2']}"),),
              note="The passthrough layer brings 26 x 26 features into the 13 x 13 map, but "
                   "there is one output. (YOLOv2's multi-scale training changes the input size "
                   "between batches; each input still gives one map.)", unit="scales",
              quote="Unlike YOLOv2, which uses a single-scale detection approach",
              cite=("redmon2017", "Sec. 2")),
        Claim(id="q4e.v3_scales", statement="YOLOv3 predicts bounding boxes at three different "
              "scales.", stated=STATED["v3_scales"], derived=len(outs["YOLOv3"]),
              derivation=Derivation((Step("outputs at 416", "Y_{v3}", outs["YOLOv3"]),)),
              checks=(check("model", "jax.eval_shape of the Flax YOLOv3: output maps",
                            "1 x 416 x 416 x 3", mouts["YOLOv3"] == outs["YOLOv3"],
                            f"{mouts['YOLOv3']}"),),
              note="As q4a.scales.", unit="scales",
              quote="YOLOv3 predicts bounding boxes at three different scales",
              cite=("redmon2018", "Sec. 2.3")),
        small_objects_claim("q4e.varying_sizes", "improving detection for objects of varying "
                            "sizes", mouts["YOLOv3"]),
        Claim(id="q4e.logistic", statement="YOLOv3 replaces the softmax with independent "
              "logistic classifiers, enabling multi-label predictions for overlapping classes.",
              stated=STATED_LABELS,
              derived=Labeled.of(logistic=LabelMode.of(most["logistic"]),
                                 softmax=LabelMode.of(most["softmax"])),
              derivation=Derivation((Step("most classes above 1/2", "m", Labeled.of(**most)),)),
              checks=max_label_checks(logits, decode_both(logits, objectness)),
              note="The checks of q4b.max_labels.",
              quote="It also replaces the softmax function for classification with independent "
                    "logistic classifiers, enabling multi-label predictions for overlapping "
                    "classes.", cite=("redmon2018", "Sec. 2.2")),
        Claim(id="q4e.v3_anchors", statement="YOLOv3 uses three anchor boxes per grid cell.",
              stated=STATED["v3_anchors_per_cell"], derived=per_cell["YOLOv3"],
              derivation=Derivation((
                  Step("output depth / (5 + C)", "A_{v3}", sp.Mul(
                      outs["YOLOv3"][0][-1], sp.Pow(5 + C, -1, evaluate=False), evaluate=False)),
                  Step("result", "A_{v3}", per_cell["YOLOv3"]))),
              checks=(check("model", "depth of every Flax YOLOv3 output / (5 + C)",
                            "1 x 416 x 416 x 3",
                            {o[-1] // (5 + C) for o in mouts["YOLOv3"]} == {per_cell["YOLOv3"]}
                            and all(o[-1] % (5 + C) == 0 for o in mouts["YOLOv3"])),),
              note="Per cell and per scale; nine anchor shapes in all, three for each scale.",
              unit="anchors", quote="the number of anchor boxes per grid cell to three",
              cite=("redmon2018", "Sec. 2.3")),
        Claim(id="q4e.anchors_increase", statement="YOLOv3 increases the number of anchor boxes "
              "per grid cell to three.", stated=Compared.HIGHER,
              derived=Compared.of(per_cell["YOLOv3"], per_cell["YOLOv2"]),
              derivation=Derivation((
                  Step("YOLOv2: output depth / (5 + C)", "A_{v2}", per_cell["YOLOv2"]),
                  Step("YOLOv3: output depth / (5 + C)", "A_{v3}", per_cell["YOLOv3"]),
                  Step("boxes per 416 image, v2", "N_{v2}", v2_boxes),
                  Step("boxes per 416 image, v3", "N_{v3}", v3_boxes))),
              checks=(check("model", "jax.eval_shape of the Flax YOLOv2 (C = 80): depth / (5 + C)",
                            "1 x 416 x 416 x 3",
                            mouts["YOLOv2"][0][-1] == anchor_depth(per_cell["YOLOv2"], C),
                            f"{mouts['YOLOv2'][0][-1]} = {mouts['YOLOv2'][0][-1] // (5 + C)} x "
                            f"{5 + C}"),),
              note=f"From {per_cell['YOLOv2']} to {per_cell['YOLOv3']} per cell: YOLOv2 already "
                   "used 5 anchors per cell (k = 5 dimension clusters); YOLOv3 has fewer per "
                   "cell, 3, but at three scales: 9 anchor shapes and "
                   f"{v3_boxes / v2_boxes:.1f}x as many boxes per image.",
              unit="anchors per cell (YOLOv3 against YOLOv2)",
              quote="Additionally, YOLOv3 increases the number of anchor boxes per grid cell",
              cite=("redmon2018", "Sec. 2.3"),
              correction=f"The source says YOLOv3 increases the anchor boxes per grid cell to "
                         f"three. YOLOv2 already used {per_cell['YOLOv2']} per cell (its k = 5 "
                         "dimension clusters, YOLO9000 paper Sec. 2); YOLOv3 uses "
                         f"{per_cell['YOLOv3']} per cell at each of its three scales. What grows "
                         "is the number of anchor shapes (5 to 9) and of boxes per image "
                         f"({v2_boxes:,} to {v3_boxes:,} at 416), not the anchors per cell."),
    ]


def _table(nets, lay, params, outs, per_cell) -> Table:
    rows = []
    for k, n in nets.items():
        o = n.outputs_algebra()
        anchors = ("2 boxes, no anchors" if k == "YOLOv1" else
                   per_cell[k] if k in per_cell else None)
        rows.append((k + (" (backbone)" if n.top else ""), lay[k]["conv"], lay[k]["fc"],
                     lay[k]["residual"], params[k], n.flops(), n.side,
                     len(o) if k in outs else None, anchors, o))
    return Table("The networks in numbers (algebra; parameters and layers checked against "
                 "nnx.state). Detectors with C = 80, backbones without their classifier; FLOPs "
                 "for one image at the input side shown, as XLA counts them (2 per MAC, batch "
                 "norm and activations included)",
                 ("network", "conv", "FC", "residual", "params", "FLOPs", "input", "scales",
                  "per cell", "output"), tuple(rows), align="l" + "r" * 8 + "l")


def build() -> Proof:
    nets = networks()
    lay = {k: n.algebra_layers() for k, n in nets.items()}
    mlay = {k: n.model_layers() for k, n in nets.items()}
    params = {k: int(n.algebra.param_count()) for k, n in nets.items()}
    mparams = {k: xla.param_count(n.model) for k, n in nets.items()}
    outs = {k: n.outputs_algebra() for k, n in nets.items() if k.startswith("YOLO")}
    mouts = {k: nets[k].outputs_model() for k in outs}
    per_cell = {k: outs[k][0][-1] // anchor_depth(1, C) for k in ("YOLOv2", "YOLOv3")}
    layers = Labeled.of((k, Layers(lay[k]["conv"], lay[k]["fc"])) for k in outs)
    claims = _layer_claims(nets, lay, mlay, params) + _head_claims(outs, mouts, per_cell)
    claims.append(Claim(
        id="q4e.conv_layers", statement="Depth of the three detectors: convolutional and fully "
        "connected layers.", derived=layers,
        derivation=Derivation(tuple(
            Step(k, "L_{conv} + L_{fc}", sp.Add(lay[k]["conv"], lay[k]["fc"], evaluate=False))
            for k in outs)),
        checks=(check("model", "4-D and 2-D kernels in nnx.state of the Flax models", "C = 80",
                      all((mlay[k]["conv"], mlay[k]["fc"]) == (lay[k]["conv"], lay[k]["fc"])
                          for k in outs),
                      "; ".join(f"{k} {mlay[k]['conv']}+{mlay[k]['fc']}" for k in outs)),)))
    for k, n in nets.items():
        claims.append(Claim(
            id=f"q4e.params.{k.lower().replace('-', '')}", statement=f"Parameters of {k}"
            + (f" ({n.source}, without the classifier)." if n.top else f" (C = {C})."),
            derived=params[k],
            derivation=Derivation((Step("weights + biases (incl. batch norm's scale and "
                                        "offset)", "P", params[k]),)),
            checks=(check("model", "nnx.Param scalars of the abstract Flax model", n.source,
                          mparams[k] == params[k], f"{mparams[k]:,}"),), unit="params"))
    claims.append(Claim(
        id="q4e.accuracy", statement="Three anchors per cell enhance detection flexibility and "
        "accuracy.", quote="enhancing detection flexibility and accuracy.",
        basis=Basis.UNSOURCED,
        note="No source and no measurement: the YOLOv3 paper has no ablation of the anchors per "
             "cell, and the premise is wrong (q4e.anchors_increase: 5 per cell in YOLOv2, 3 per "
             "cell and scale in YOLOv3). The scales' effect on small objects is in "
             "q4e.varying_sizes; the architecture in the table."))
    claims.append(train_step_claim("q4e.train_step", "yolov3"))
    return Proof("Q4", "e", "YOLOv1, YOLOv2, YOLOv3 and their backbones in numbers",
                 tuple(claims), tables=(_table(nets, lay, params, outs, per_cell),))
