"""`symconv bench` and :mod:`symconv.tools.bench`: what it reports, never how fast.

Timings are never asserted, only their structure and sanity (positive, ordered quartiles). The
smoke test runs every registry model (entries added later included) at the smallest valid square
input of side >= 32 that its algebra accepts, batch 1, one step: lowering, compilation with
XLA's backend optimisation level 0 (compiles about twice as fast on CPU; the program computes the
same), one timed call: ``SMOKE`` in the default tier, every other model and every model's
training step in the ``slow`` tier.
"""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from symconv.errors import SymconvError
from symconv.models.registry import MODELS
from symconv.tools import bench as B
from symconv.tools.bench.parallel import check_batch, nearest_valid_batches
from symconv.tools.cli import main

FAST_COMPILE = {"xla_backend_optimization_level": 0}


def _sane(doc: dict, steps: int) -> None:
    assert doc["lower_s"] > 0 and doc["compile_s"] >= 0
    assert len(doc["step_times_s"]) == steps and all(t > 0 for t in doc["step_times_s"])
    assert (doc["step_min_s"] <= doc["step_q1_s"] <= doc["step_median_s"] <= doc["step_q3_s"]
            <= doc["step_max_s"])
    assert doc["images_per_s"] == pytest.approx(doc["batch"] / doc["step_median_s"])
    assert doc["flops_per_step"] > 0
    assert doc["achieved_flops_per_s"] == pytest.approx(doc["flops_per_step"]
                                                        / doc["step_median_s"])
    assert doc["peak_flops_per_s"] > 0 and doc["peak_source"]
    assert doc["utilisation"] == pytest.approx(doc["achieved_flops_per_s"]
                                               / doc["peak_flops_per_s"])
    assert doc["devices"] >= 1 and doc["platform"] == jax.devices()[0].platform


def test_cli_table_prints_every_field(capsys):
    assert main(["bench", "assignment", "--batch", "2", "--input", "64,64", "--steps", "2"]) == 0
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert [line.split(":", 1)[0] for line in lines] == list(B.FIELDS)
    assert all(line.split(":", 1)[1].strip() for line in lines)
    assert "assignment (inference)" in out and "2 x 64x64x3, float32" in out
    assert "images/s" in out and "FLOP/s" in out and "%" in out
    assert err == ""  # no progress bar when stderr is not a terminal


def test_cli_json_parses_and_is_sane(capsys):
    assert main(["bench", "assignment", "--batch", "2", "--input", "64,64", "--steps", "3",
                 "--warmup", "1", "--devices", "1", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    _sane(doc, 3)
    assert doc["mode"] == "inference" and doc["loss"] is None and doc["input"] == [64, 64, 3]
    assert doc["flops_per_step"] == doc["algebra_flops"]
    assert doc["flops_source"].startswith("algebra")
    assert "DISAGREES" not in doc["flops_check"]


def test_cli_train_small_model(capsys):
    assert main(["bench", "assignment-gap", "--batch", "2", "--input", "32,32", "--train",
                 "--steps", "2", "--warmup", "1", "--format", "json", "--quiet"]) == 0
    doc = json.loads(capsys.readouterr().out)
    _sane(doc, 2)
    assert doc["mode"] == "train" and doc["optimizer"] == "sgd"
    assert doc["loss"].startswith("softmax cross-entropy")
    assert doc["flops_per_step"] == doc["algebra_flops"]  # the closed form of the step
    assert doc["flops_source"].startswith("closed form of the training step")
    assert "DISAGREES" not in doc["flops_check"]
    # a training step costs more than a forward pass: compare with the closed form of one
    forward = MODELS["assignment-gap"].algebra((32, 32)).batch_flops((32, 32, 3), 2, "exact")
    assert doc["flops_per_step"] > 2 * forward


def test_xla_options_cpu_tuning_and_defaults(capsys):
    base = ["bench", "assignment-gap", "--batch", "1", "--input", "32,32", "--steps", "1",
            "--format", "json"]
    assert main(base) == 0
    tuned = json.loads(capsys.readouterr().out)
    assert main([*base, "--xla-defaults"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert tuned["xla_options"] == (B.CPU_TUNING if tuned["platform"] == "cpu" else {})
    assert plain["xla_options"] == {}
    assert tuned["flops_per_step"] == plain["flops_per_step"]


def test_bfloat16(capsys):
    assert main(["bench", "assignment-gap", "--batch", "2", "--input", "32,32", "--dtype",
                 "bfloat16", "--steps", "1", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    _sane(doc, 1)
    assert doc["dtype"] == "bfloat16" and "batch-norm running statistics" in doc["precision_note"]


def test_bfloat16_train_adam_state_is_bfloat16():
    work = B.prepare("assignment-gap", 2, (32, 32), dtype="bfloat16", train=True,
                     optimizer="adam", devices=1)
    floats = [x for x in jax.tree.leaves(work.state) if jnp.issubdtype(x.dtype, jnp.floating)]
    assert floats and all(x.dtype == jnp.bfloat16 for x in floats)
    state, loss = work.run(work.compile(FAST_COMPILE))
    assert np.isfinite(float(loss)) and work.leaves is state  # donated, replaced
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(work.params()))


def test_dense_prediction_loss_and_bn_train_mode():
    """U-Net (several-pixel output): mean squared loss; a BN model trains with batch statistics
    and moves its running averages."""
    work = B.prepare("unet-padded", 2, (16, 16), train=True, devices=1)
    assert not work.classifier and len(work.inputs) == 1
    _, loss = work.run(work.compile(FAST_COMPILE))
    assert float(loss) > 0
    bn = B.prepare("resnet18", 2, (32, 32), train=True, devices=1)
    before = jax.tree.map(np.asarray, nnx.state(nnx.merge(bn.graphdef, bn.state)[0],
                                                nnx.BatchStat))
    bn.run(bn.compile(FAST_COMPILE))
    after = nnx.state(nnx.merge(bn.graphdef, bn.state)[0], nnx.BatchStat)
    moved = jax.tree.map(lambda a, b: bool(np.any(a != np.asarray(b))), before, after)
    assert all(jax.tree.leaves(moved))


@pytest.mark.parametrize("argv,fragment", [
    (["bench", "nope"], "unknown model"),
    (["bench", "assignment", "--input", "64"], "--input takes H,W"),
    (["bench", "assignment", "--input", "64,W"], "--input takes H,W"),
    (["bench", "assignment", "--input", "64,0"], "positive integer"),
    (["bench", "assignment", "--input", "1,64,64,3"], "--input takes H,W"),
    (["bench", "assignment", "--batch", "0"], "--batch"),
    (["bench", "assignment", "--batch", "-2"], "--batch"),
    (["bench", "assignment", "--steps", "0"], "--steps"),
    (["bench", "assignment", "--devices", "0"], "--devices"),
    (["bench", "assignment", "--devices", "99"], "devices=99"),
    (["bench", "assignment", "--dtype", "float16"], "invalid choice"),
    (["bench", "unet", "--input", "100,100"], "nearest valid sizes"),
], ids=["unknown-model", "one-side", "symbol", "zero", "rank-4", "batch-0", "batch-negative",
        "steps-0", "devices-0", "devices-too-many", "dtype", "invalid-size"])
def test_bad_input_is_one_line_exit_2(argv, fragment, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors (e.g. --dtype choices)
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err


def test_indivisible_batch_names_batch_devices_and_nearest():
    with pytest.raises(SymconvError, match=r"batch 10 .* 8 devices.*nearest valid batches: 8 "
                                           r"or 16"):
        check_batch(10, 8)
    with pytest.raises(SymconvError, match=r"batch 3 .* 4 devices.*nearest valid batches: 4$"):
        check_batch(3, 4)
    assert nearest_valid_batches(17, 8) == (16, 24)
    check_batch(16, 8)


def _compiled_flops(name: str, hw: tuple[int, int]) -> int:
    """Independent side: the model jitted and compiled here, without symconv.tools.bench or
    xla.py."""
    entry = MODELS[name]
    graphdef, state = nnx.split(entry.build(hw))
    compiled = jax.jit(lambda s, x: nnx.merge(graphdef, s)(x)).lower(
        state, jnp.zeros((1, *hw, entry.channels))).compile()
    analysis = compiled.cost_analysis()
    analysis = analysis[0] if isinstance(analysis, (list, tuple)) else analysis
    return int(analysis["flops"])


def test_flop_numerator_equals_compiled_hlo():
    """U-Net (no softmax): the closed form equals the compiled program's count exactly."""
    result = B.bench("unet-padded", 1, (16, 16), steps=1, warmup=0, devices=1)
    assert result.flops_per_step == result.algebra_flops == _compiled_flops("unet-padded",
                                                                           (16, 16))
    assert result.hlo_compiled_flops == result.hlo_lowered_flops == result.flops_per_step


def test_flop_numerator_against_compiled_hlo_with_softmax():
    """Below 2**24 FLOPs XLA's float32 sums are exact: the closed form equals the lowered HLO's
    count. The compiled program's count is a little higher: XLA's CPU backend splits the
    softmax's two 200-wide reductions into padded reduce-windows (248 FLOPs more here)."""
    result = B.bench("assignment-gap", 1, (16, 16), steps=1, warmup=0, devices=1)
    compiled = _compiled_flops("assignment-gap", (16, 16))
    assert result.flops_per_step < 2 ** 24
    assert result.flops_per_step == result.algebra_flops == result.hlo_lowered_flops
    assert result.flops_check.startswith("equal to the lowered HLO")
    assert result.hlo_compiled_flops == compiled
    assert 0 <= compiled - result.flops_per_step < 1e-4 * result.flops_per_step


@pytest.mark.parametrize("kind,dtype,tflops", [
    ("NVIDIA H100 80GB HBM3", "bfloat16", 989.5),
    ("NVIDIA H100 80GB HBM3", "float32", 494.5),
    ("NVIDIA H100 PCIe", "bfloat16", 756.5),
    ("NVIDIA H100 NVL", "bfloat16", 835.5),
    ("NVIDIA H200", "bfloat16", 989.5),
    ("NVIDIA H200 NVL", "bfloat16", 835.5),
    ("NVIDIA GH200 480GB", "bfloat16", 989.5),
    ("NVIDIA A100-SXM4-80GB", "bfloat16", 312),
    ("NVIDIA A100-PCIE-40GB", "float32", 156),
    ("NVIDIA A100 80GB PCIe", "bfloat16", 312),
    ("NVIDIA L4", "bfloat16", 121),
    ("NVIDIA L40S", "bfloat16", 366.5),
    ("Tesla V100-SXM2-16GB", "float32", 15.7),
    ("Tesla V100-PCIE-32GB", "float32", 14),
    ("Tesla T4", "float32", 8.1),
    ("TPU v4", "bfloat16", 275),
    ("TPU v5 lite", "bfloat16", 197),
    ("TPU v5e", "float32", 197),
    ("TPU v5", "bfloat16", 459),
    ("TPU v5p", "bfloat16", 459),
    ("TPU v6 lite", "bfloat16", 918),
    ("TPU v3", "bfloat16", 61.5),
])
def test_published_peaks(kind, dtype, tflops):
    value, source = B.published_peak(kind, dtype)
    assert value == pytest.approx(tflops * 1e12) and source


def test_published_peaks_full_precision_and_unknown():
    with jax.default_matmul_precision("highest"):
        assert B.published_peak("NVIDIA H100 80GB HBM3", "float32")[0] == pytest.approx(67e12)
        assert B.published_peak("TPU v4", "float32")[0] is None
    assert B.published_peak("Tesla V100-SXM2-16GB", "bfloat16")[0] is None
    value, source = B.published_peak("Some Future GPU", "float32")
    assert value is None and "no published peak" in source


def test_cpu_peak_is_measured_once():
    first = B.cpu_peak("float32")
    assert first[0] > 0 and "measured" in first[1]
    assert B.cpu_peak("float32") is first


def test_progress_bar_only_when_asked(capsys):
    B.bench("assignment-gap", 1, (32, 32), steps=2, warmup=0, devices=1, progress=True)
    assert "assignment-gap inference" in capsys.readouterr().err
    B.bench("assignment-gap", 1, (32, 32), steps=2, warmup=0, devices=1)
    assert capsys.readouterr().err == ""


def test_small_valid_hw_uses_the_algebra():
    assert B.small_valid_hw("unet") == (188, 188)
    assert B.small_valid_hw("unet-padded") == (32, 32)
    assert B.small_valid_hw("densenet121") == (32, 32)


#: The default tier's smoke runs: every assignment variant and the smallest of each family (the
#: rest, including entries added later, run in the slow tier).
SMOKE = {"assignment", "assignment-separable", "assignment-gap", "assignment-reduce",
         "mobilenet_v1_0.5", "densenet121", "resnet18", "unet-padded", "yolov2", "yolov3"}


@pytest.mark.parametrize("name", [name if name in SMOKE else pytest.param(
    name, marks=pytest.mark.slow) for name in MODELS])
def test_every_model_runs(name):
    """Each built-in model: smallest valid input, batch 1, lowering + one compiled step; the FLOP
    numerator is the algebra's and agrees with the lowered HLO."""
    hw = B.small_valid_hw(name)
    r = B.bench(name, 1, hw, steps=1, warmup=0, devices=1, progress=False,
                compiler_options=FAST_COMPILE)
    assert r.images_per_s > 0 and r.flops_per_step == r.algebra_flops > 0
    assert "DISAGREES" not in r.flops_check, r.flops_check


#: ``bench --train`` compiled and run on one model of each family (compiling a DenseNet's step
#: took 27-180 s here, YOLOv3's 19 s); every model's closed-form step is checked against the
#: lowered step at two batches with SGD and Adam in tests/test_train_built_ins.py.
TRAINED = ["assignment", "assignment-separable", "mobilenet_v1_0.5", "resnet18", "unet",
           "espcn", "yolov1", "darknet19"]


@pytest.mark.slow
@pytest.mark.parametrize("name", TRAINED)
def test_bench_trains(name):
    hw = B.small_valid_hw(name)
    r = B.bench(name, 2, hw, train=True, steps=1, warmup=0, devices=1, progress=False,
                compiler_options=FAST_COMPILE)
    assert r.images_per_s > 0 and r.flops_per_step > 0
    # the numerator is the closed form of the training step, checked against the lowered step
    assert r.flops_per_step == r.algebra_flops and "DISAGREES" not in r.flops_check, r.flops_check
