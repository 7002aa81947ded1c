"""Q2 part (c): a practical use of DenseNet. The suitability statements are judgements; the
example study the source describes names no paper and cannot be checked here, so its sentences
are reported as unsourced."""

from __future__ import annotations

from symconv.report.proof import Basis, Claim, Proof

_NO_STUDY = ("The source names no study, authors or data set, so which study this is — and "
             "whether it reports this — cannot be checked here.")


def build() -> Proof:
    claims = (
        Claim(id="q2c.medical",
              statement="DenseNet suits medical image analysis.",
              quote="DenseNet is particularly suitable for tasks where feature reuse and "
                    "efficient gradient flow are essential, such as medical image analysis.",
              basis=Basis.JUDGEMENT,
              note="A recommendation. DenseNet is used there: CheXNet, for instance, is a "
                   "DenseNet-121 reading chest X-rays (Rajpurkar et al. 2017). That feature "
                   "reuse and gradient flow are what medical images need is the source's "
                   "judgement; the mechanisms themselves are measured in q2a.concatenation and "
                   "q2b.gradient_flow.",
              cite=("rajpurkar2017", "Sec. 2.2")),
        Claim(id="q2c.high_resolution",
              statement="DenseNet is ideal for extracting complex features from "
                        "high-resolution medical images.",
              quote="DenseNet's architecture, with its dense connections, allows for the "
                    "efficient sharing and reuse of features, making it ideal for extracting "
                    "complex features from high-resolution medical images like CT scans, MRI "
                    "scans, or X-rays.",
              basis=Basis.JUDGEMENT,
              note="'Ideal' is a judgement. One cost weighs against it at high resolution: the "
                   "feature maps a training step keeps grow with the number of pixels, and "
                   "DenseNet-121 already needs more training memory than ResNet-50 at 224 x 224 "
                   "(q2b.memory); CheXNet, for one, downscales its X-rays to 224 x 224.",
              cite=("rajpurkar2017", "Sec. 3.1")),
        Claim(id="q2c.tumor_example",
              statement="DenseNet is highly effective at detecting tumours in medical images.",
              quote="A real-world example where DenseNet is highly effective is in the task of "
                    "detecting tumors in medical images.",
              basis=Basis.UNSOURCED,
              note="A factual claim about results, with no study named. " + _NO_STUDY),
        Claim(id="q2c.mammography_study",
              statement="A breast-cancer study used DenseNet on mammograms.",
              quote="For instance, in a study for breast cancer detection, DenseNet was used to "
                    "analyze mammogram images.",
              basis=Basis.UNSOURCED, note=_NO_STUDY),
        Claim(id="q2c.study_result",
              statement="In that study DenseNet gave higher accuracy and better generalisation, "
                        "especially on small or ambiguous tumours.",
              quote="This resulted in higher accuracy and better generalization, especially in "
                    "challenging cases with small or ambiguous tumors.",
              basis=Basis.UNSOURCED,
              note="Higher than what is not said (no baseline, no numbers). " + _NO_STUDY),
    )
    return Proof("Q2", "c", "A practical use", claims)
