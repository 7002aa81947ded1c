"""Q4 part (b): independent logistic class scores against a softmax (multi-label), the worked
example of a box around a woman, and what the objectness score does to the class scores —
checked with ``symconv.detection.decode_yolo`` and NumPy sigmoid/softmax in float64.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import sympy as sp

from symconv.algebra.nets.yolo_head import max_confident_classes
from symconv.detection import decode_yolo
from symconv.report.proof import Basis, Claim, Derivation, Labeled, Proof, Step, Table, decimal

from ._yolo_common import (
    C_,
    STATED_LABELS,
    THRESHOLD,
    C,
    LabelMode,
    check,
    class_logits,
    decode_both,
    max_label_checks,
    np_sigmoid,
    np_softmax,
    t_,
)

NAMES = ("person", "woman", "man", "car", "dog")
# Logits of one box around a woman: she is a person and a woman; the rest are unlikely.
WOMAN_LOGITS = np.array([4.0, 2.5, -3.0, -6.0, -5.0])
WOMAN_OBJ = 3.0
BACKGROUND_OBJ = -4.0  # a box on background: low objectness, the class logits as above


def _head(obj: float, logits) -> jnp.ndarray:
    """A (1, 1, 1, 5 + C) head, one anchor: t = 0 box, objectness logit, class logits."""
    return jnp.asarray(np.concatenate([[0, 0, 0, 0, obj], logits])[None, None, None],
                       jnp.float32)


def _replacement_claim(one, k: int) -> Claim:
    """Independent logistic classifiers (v3) against a softmax (v2): how each class probability
    depends on the class logits, by the Jacobian of ``decode_yolo``'s class probabilities."""
    def probs(t, rule):
        return np.asarray(decode_yolo(_head(WOMAN_OBJ, t), one, num_classes=k,
                                      class_activation=rule).class_probs, np.float64).reshape(-1)

    step = 1e-2  # central differences, one class logit at a time (the head's shape, compiled)
    jac = {r: np.stack([(probs(WOMAN_LOGITS + step * e, r) - probs(WOMAN_LOGITS - step * e, r))
                        / (2 * step) for e in np.eye(k)], axis=1)
           for r in ("logistic", "softmax")}
    off = {r: float(np.abs(j - np.diag(np.diag(j))).max()) for r, j in jac.items()}
    sig, soft = np_sigmoid(WOMAN_LOGITS), np_softmax(WOMAN_LOGITS)
    ref = {"logistic": np.diag(sig * (1 - sig)), "softmax": np.diag(soft) - np.outer(soft, soft)}
    err = max(float(np.abs(jac[r] - ref[r]).max()) for r in jac)
    return Claim(
        id="q4b.replaces", statement="YOLOv3 replaces the softmax over the classes (YOLOv2) by "
        "independent logistic classifiers, one per class.",
        quote="YOLOv3 addresses class ambiguity by replacing the softmax layer with independent "
              "logistic classifiers for class predictions.",
        stated=Labeled.of(YOLOv2="softmax", YOLOv3="independent logistic"),
        derived=Labeled.of(YOLOv2="softmax", YOLOv3="independent logistic"),
        cite=("redmon2018", "Sec. 2.2"),
        reading="The YOLOv3 paper: 'We do not use a softmax as we have found it is unnecessary "
                "for good performance, instead we simply use independent logistic "
                "classifiers.'",
        derivation=Derivation((
            Step("logistic: each probability depends on its own logit only",
                 r"\partial p_i / \partial t_j", sp.Mul(sp.KroneckerDelta(sp.Symbol("i"),
                                                                          sp.Symbol("j")),
                                                         sp.Symbol("p_i"),
                                                         1 - sp.Symbol("p_i"))),
            Step("softmax: every probability depends on every logit", r"\partial p_i / "
                 r"\partial t_j", sp.Symbol("p_i") * (sp.KroneckerDelta(sp.Symbol("i"),
                                                                      sp.Symbol("j"))
                                                    - sp.Symbol("p_j"))),
            Step("largest off-diagonal entry of the Jacobian, the woman box",
                 r"\max_{i \ne j} |\partial p_i / \partial t_j|",
                 Labeled.of(logistic=decimal(off["logistic"], 4),
                            softmax=decimal(off["softmax"], 4))))),
        checks=(check("model", "Jacobian of decode_yolo's class probabilities with respect to "
                      "the class logits (central differences, step 1/100): diagonal for "
                      "class_activation='logistic', not for 'softmax'",
                      f"{k} classes, the woman box",
                      off["logistic"] == 0 and off["softmax"] > 1e-3,
                      f"off-diagonal max: logistic {off['logistic']:.1e}, softmax "
                      f"{off['softmax']:.3f}"),
                check("numpy", "the same Jacobians from the formulas above in float64",
                      "same logits", err < 1e-3, f"max |difference| {err:.1e}")))


def _label_claims(logits, batch) -> tuple[list[Claim], Table]:
    one = np.ones((1, 2), np.float32)
    k = len(NAMES)
    dec = {r: decode_yolo(_head(WOMAN_OBJ, WOMAN_LOGITS), one, num_classes=k,
                          class_activation=r) for r in ("logistic", "softmax")}
    probs = {r: np.asarray(d.class_probs).reshape(-1) for r, d in dec.items()}
    ref = {"logistic": np_sigmoid(WOMAN_LOGITS), "softmax": np_softmax(WOMAN_LOGITS)}
    labels = {r: tuple(NAMES[i] for i in np.flatnonzero(p > THRESHOLD)) for r, p in probs.items()}
    ref_labels = {r: tuple(NAMES[i] for i in np.flatnonzero(p > THRESHOLD))
                  for r, p in ref.items()}
    bound = {r: max_confident_classes(C, r, THRESHOLD) for r in ("logistic", "softmax")}
    claims = [_replacement_claim(one, k)]
    claims += [
        Claim(id="q4b.max_labels", statement="YOLOv3 replaces the softmax with independent "
              "logistic classifiers, so an object can belong to several classes at once "
              "(multi-label).", stated=STATED_LABELS,
              derived=Labeled.of(logistic=LabelMode.of(bound["logistic"]),
                                 softmax=LabelMode.of(bound["softmax"])),
              derivation=Derivation((
                  Step("a softmax sums to one, so two classes cannot both exceed 1/2",
                       r"\sum_i p_i", sp.Integer(1)),
                  Step("softmax, C = 80", r"\max |\{i : p_i > 1/2\}|", bound["softmax"]),
                  Step("logistic (independent), C = 80", r"\max |\{i : \sigma(t_i) > 1/2\}|",
                       bound["logistic"])), ("threshold 1/2 on the class probability",)),
              checks=max_label_checks(logits, batch),
              quote="This allows the model to output probabilities for each class "
                    "independently, enabling multi-label predictions where objects belong to "
                    "multiple categories simultaneously.",
              cite=("redmon2018", "Sec. 2.2"),
              reading="Read as: with logistic scores several classes can exceed 1/2 in one box; "
                      "with a softmax only one can.",
              note="With a softmax the C probabilities sum to 1, so two of them cannot both "
                   "exceed 1/2: a box is forced into one class. Logistic scores are independent: "
                   "all 80 can exceed 1/2 (all logits = 1 gives sigmoid(1) = 0.731 each). The "
                   "YOLOv3 paper: 'Using a softmax imposes the assumption that each box has "
                   "exactly one class which is often not the case. A multilabel approach better "
                   "models the data.'"),
        Claim(id="q4b.woman_example", statement="A box around a woman, who is also a person (the "
              "YOLOv3 paper's Open Images example): which labels score above 1/2?",
              derived=Labeled.of(logistic=labels["logistic"], softmax=labels["softmax"]),
              derivation=Derivation(tuple(
                  Step(f"{n}: logit {WOMAN_LOGITS[i]:g}", f"p_{{\\mathrm{{{n}}}}}",
                       Labeled.of(logistic=decimal(probs["logistic"][i], 3),
                                  softmax=decimal(probs["softmax"][i], 3)))
                  for i, n in enumerate(NAMES))),
              checks=(check("model", "decode_yolo class probabilities, logistic and softmax",
                            f"{k} classes, one box", labels == ref_labels
                            and all(np.allclose(probs[r], ref[r], atol=1e-6) for r in probs),
                            "; ".join(f"{r}: {', '.join(v) or 'none'}"
                                      for r, v in labels.items())),
                      check("numpy", "NumPy sigmoid / softmax in float64", "same logits",
                            all(np.allclose(probs[r], ref[r], atol=1e-6) for r in probs),
                            "max |diff| "
                            f"{max(np.abs(probs[r] - ref[r]).max() for r in probs):.1e}")),
              note="Softmax splits the mass between person and woman and keeps only one; the "
                   "logistic head says both. Classes: " + ", ".join(NAMES) + "."),
    ]
    table = Table(
        "Class probabilities of the woman box (labels above 1/2: "
        + "; ".join(f"{r}: {', '.join(v) or 'none'}" for r, v in labels.items()) + ")",
        ("class", "logit", r"logistic $\sigma(t)$", "softmax"),
        tuple((n, decimal(WOMAN_LOGITS[i], 1), decimal(probs["logistic"][i], 3),
               decimal(probs["softmax"][i], 3)) for i, n in enumerate(NAMES)))
    return claims, table


def _objectness_claims(batch) -> list[Claim]:
    """Class-specific score = objectness x class probability <= objectness."""
    one = np.ones((1, 2), np.float32)
    bg = decode_yolo(_head(BACKGROUND_OBJ, WOMAN_LOGITS), one, num_classes=len(NAMES))
    bg_scores = np.asarray(bg.scores).reshape(-1)
    bg_ref = np_sigmoid(BACKGROUND_OBJ) * np_sigmoid(WOMAN_LOGITS)
    sc = {r: np.asarray(d.scores) for r, d in batch.items()}
    obj = np.asarray(batch["logistic"].objectness)[..., None]
    bounded = all(bool((s <= obj + 1e-7).all()) for s in sc.values())
    suppressed = bool((bg_scores < THRESHOLD).all()) and bounded
    o_, pi_ = sp.Function("sigma")(sp.Symbol("t_o")), sp.Symbol("p_i")
    soft_min = float(np.asarray(batch["softmax"].class_probs).max(-1).min())
    none_p = float(np.asarray(batch["logistic"].class_probs)[0, 0, 3].max())
    return [
        Claim(id="q4b.objectness", statement="The objectness score suppresses predictions for "
              "samples that do not belong to any class.", stated=True, derived=suppressed,
              derivation=Derivation((
                  Step("class-specific confidence", "s_i", o_ * pi_),
                  Step("since p_i <= 1", "s_i", sp.LessThan(o_ * pi_, o_)),
                  Step(f"background box, t_o = {BACKGROUND_OBJ:g}", r"\sigma(t_o)",
                       decimal(np_sigmoid(BACKGROUND_OBJ), 4)),
                  Step("its best class score", r"\max_i s_i", decimal(bg_scores.max(), 4))),
                  ("a detection needs s_i > 1/2",)),
              checks=(check("model", "decode_yolo(...).scores <= objectness for every class of "
                            "every box", "10,000 random heads (C = 80), logistic and softmax",
                            bounded),
                      check("numpy", "background box scores = sigmoid(t_o) x sigmoid(t_i) in "
                            "NumPy", f"t_o = {BACKGROUND_OBJ:g}, woman logits",
                            np.allclose(bg_scores, bg_ref, atol=1e-7),
                            f"max score {bg_scores.max():.4f} (person), NumPy "
                            f"{bg_ref.max():.4f}")),
              note="True: every class score of a background box stays below 1/2. Even with the "
                   "class logits of a confident 'person, woman' box, an objectness of "
                   f"{np_sigmoid(BACKGROUND_OBJ):.3f} caps every score below it. Not new in v3: "
                   "YOLOv1's per-box confidence Pr(Object) x IoU multiplies its class "
                   "probabilities the same way.",
              quote="Additionally, the objectness score suppresses predictions for samples that "
                    "do not belong to any class",
              cite=("redmon2018", "Sec. 2.1"),
              reading="Read as: a box whose objectness is low gets low scores for every class, "
                      "whatever its class logits."),
        Claim(id="q4b.no_class", statement="Only independent logistic scores can say 'none of "
              "the C classes': a softmax's largest probability is at least 1/C.",
              derived=sp.Rational(1, C),
              derivation=Derivation((
                  Step("softmax: they sum to 1, so the largest is at least their mean",
                       r"\min_t \max_i p_i", 1 / C_),
                  Step("C = 80", r"\min_t \max_i p_i", sp.Rational(1, C)),
                  Step("logistic: each p_i -> 0 as t_i -> -oo", r"\inf_t \max_i \sigma(t_i)",
                       sp.limit(1 / (1 + sp.exp(-t_)), t_, -sp.oo)))),
              checks=(check("model", "smallest top softmax probability over the random logits "
                            "is >= 1/80", "10,000 random logit vectors", soft_min >= 1 / C - 1e-7,
                            f"{soft_min:.4f}"),
                      check("model", "logistic head, decode_yolo, all class logits -8: top "
                            "probability", "C = 80", none_p < 1e-3, f"{none_p:.2e}")),
              note="The source's 'samples that do not belong to any class' are handled twice in "
                   "v3: a low objectness, and class scores that may all be low."),
        Claim(id="q4b.robustness", statement="The objectness score ensures robustness to "
              "background or unlabeled data.",
              quote="ensuring robustness to background or unlabeled data.",
              basis=Basis.UNSOURCED, cite=("redmon2018", "Sec. 2.1"),
              note="A statement about training and data that names no source and no "
                   "measurement. The YOLOv3 paper says a prior assigned to no object 'incurs no "
                   "loss for coordinate or class predictions, only objectness' (Sec. 2.1), i.e. "
                   "background boxes train the objectness score; it says nothing about "
                   "unlabeled data. What the score does to the outputs is checked in "
                   "q4b.objectness."),
    ]


def build() -> Proof:
    logits, objectness = class_logits()
    batch = decode_both(logits, objectness)
    claims, table = _label_claims(logits, batch)
    return Proof("Q4", "b", "Multi-label classes and objectness",
                 tuple(claims + _objectness_claims(batch)), tables=(table,))
