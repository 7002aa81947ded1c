"""``symconv``: the command line. Each command parses, calls the library, renders; nothing more.

Errors in what the user typed end with one line on stderr and exit code 2, never a traceback.
Commands import the library when they run: ``--help`` and ``models`` load neither JAX, Flax nor
SymPy.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from symconv.errors import SymconvError
from symconv.tools.layers import LAYERS

Output = tuple[str, int]  # what a command prints on stdout, and its exit code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit code 2
        self.exit(2, f"symconv: error: {message}\n")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)  # the current sys.stderr (tests capture it)


def _prove(a: argparse.Namespace) -> Output:
    from symconv.report.write import report_summary, write_report

    done = write_report(a.paths, a.out, strict=a.strict, pdf=not a.no_pdf,
                        experiments=a.experiments, progress=_stderr)
    for note in done.notes:
        _stderr(note)
    return report_summary(done), done.code


def _models(a: argparse.Namespace) -> Output:
    from symconv.models.registry import listing

    return listing(), 0


def _cost(a: argparse.Namespace) -> Output:
    from symconv.algebra.parse import parse_assignments
    from symconv.checks.trace.inputs import parse_kwargs
    from symconv.report.render.cost import render_cost
    from symconv.tools.cost import cost

    at = parse_assignments(a.at, "--at") if a.at else None
    if a.train:
        from symconv.tools.train import render_train, train_report

        if a.format == "latex":
            raise SymconvError("--train prints table, plain, markdown or json")
        if a.input and len(a.input) != 1:
            raise SymconvError("--train takes one --input (the batch)")
        rep = train_report(a.model, a.input[0] if a.input else None, at,
                           optimizer=a.optimizer, loss=a.loss, depth=a.depth,
                           factory_args=parse_kwargs(a.args, "--args") or None)
        return render_train(rep, a.format), 0 if rep.agrees in (None, True) else 1
    report = cost(a.model, a.input or ["1,H,W,3"], at, convention=a.convention,
                  engine=a.engine, depth=a.depth, constraints=tuple(a.constraint or ()),
                  dtype=a.dtype, call=parse_kwargs(a.call, "--call") or None,
                  args=parse_kwargs(a.args, "--args") or None)
    return render_cost(report, a.format), 0 if report.agrees in (None, True) else 1


def _derive(a: argparse.Namespace) -> Output:
    from symconv.algebra.parse import parse_dim as one
    from symconv.algebra.parse import parse_shape
    from symconv.report.render.cost import render_derivation
    from symconv.tools.layers import derive_layer

    named = a.padding is not None and a.padding.upper() in ("SAME", "VALID")
    derivation = derive_layer(
        a.layer, in_features=one(a.in_features, "--in"), out_features=one(a.out_features, "--out"),
        kernel=one(a.kernel, "-k"), stride=one(a.stride, "-s"), dilation=one(a.dilation, "-d"),
        groups=one(a.groups, "-g"), padding=a.padding if named else one(a.padding, "-p"),
        input_hw=parse_shape(a.input, "--input") if a.input else None,
        output_padding=one(a.output_padding, "--output-padding"), use_bias=not a.no_bias)
    return render_derivation(derivation, a.format), 0


def _bench(a: argparse.Namespace) -> Output:
    from symconv.algebra.parse import parse_count as count
    from symconv.algebra.parse import parse_hw
    from symconv.tools.bench import bench, render_bench

    hw = None if a.input is None else parse_hw(a.input, "--input")
    devices = a.devices if a.devices == "all" else count(a.devices, "--devices")
    result = bench(a.model, count(a.batch, "--batch"), hw, dtype=a.dtype, train=a.train,
                   steps=count(a.steps, "--steps"), warmup=count(a.warmup, "--warmup", True),
                   devices=devices, optimizer=a.optimizer, init=a.init,
                   xla_tuning=not a.xla_defaults, progress=False if a.quiet else None)
    return render_bench(result, a.format), 0


def _rf(a: argparse.Namespace) -> Output:
    from symconv.checks.trace.inputs import parse_kwargs
    from symconv.tools.rf import plot_rf, render_rf, rf_report

    report = rf_report(a.model, a.input or "1,H,W,3", args=parse_kwargs(a.args, "--args") or None,
                       call=parse_kwargs(a.call, "--call") or None,
                       constraints=tuple(a.constraint or ()))
    if a.plot:
        _stderr(f"wrote {plot_rf(report, a.plot)}")
    return render_rf(report, a.format), 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="symconv", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    prove = sub.add_parser("prove", help="run proofs and write the report")
    prove.add_argument("paths", nargs="*", help="proof files or directories (default: proofs/)")
    prove.add_argument("--out", default="build/report", help="output directory")
    prove.add_argument("--strict", action="store_true",
                       help="exit non-zero when any claim is refuted, too")
    prove.add_argument("--no-pdf", action="store_true", help="write report.tex, skip pdflatex")
    prove.add_argument("--experiments", action="store_true",
                       help="run the slow experiments again (gradient flow, training memory) "
                       "instead of reading their committed results")
    sub.add_parser("models", help="list the built-in models").set_defaults(func=_models)
    cost = sub.add_parser("cost", help="closed-form per-layer cost of a model")
    cost.add_argument("model", help="a built-in model name (see `symconv models`) or "
                      "package.module:factory returning an nnx.Module or a flax.linen.Module")
    cost.add_argument("--input", action="append",
                      help="input shape, e.g. 1,H,W,3 (the default) or B,32*h,32*w,3; names are "
                      "symbols; [name=]shape[:dtype] names an input (passed by keyword) and "
                      "sets its dtype, e.g. tokens=B,L:int32; repeat for several inputs")
    cost.add_argument("--constraint", action="append",
                      help="tracer: a constraint on the symbols, e.g. 'L <= 2048' or 'H >= 4' "
                      "(repeatable)")
    cost.add_argument("--dtype", default="float32",
                      help="tracer: dtype of inputs without their own (default float32)")
    cost.add_argument("--call", help="tracer: keyword arguments of the call, literals only, "
                      "e.g. train=False (a call taking rngs gets one)")
    cost.add_argument("--args", help="tracer: keyword arguments of package.module:factory, "
                      "literals only; a bare name is a dimension, e.g. depth=4,img=H")
    cost.add_argument("--at", help="values for the symbols, e.g. H=224,W=224; the numbers are "
                      "cross-checked against XLA")
    cost.add_argument("--format", choices=("table", "plain", "markdown", "latex", "json"),
                      default="table", help="table: Unicode math for a terminal (default); "
                      "plain: ASCII for scripts")
    cost.add_argument("--convention", choices=("dense", "exact"), default="dense")
    cost.add_argument("--engine", choices=("algebra", "trace"), default="algebra",
                      help="built-in models: their algebra Stack (default) or the jaxpr tracer; "
                      "package.module:factory always uses the tracer")
    cost.add_argument("--depth", type=int, default=None,
                      help="tracer: group costs by module path up to this depth")
    cost.add_argument("--train", action="store_true",
                      help="one training step per module: forward, backward input, backward "
                      "weights, optimizer (default input for a built-in: B at its default size; "
                      "a symbolic side as written, e.g. B,32*h,32*h,3)")
    cost.add_argument("--optimizer", choices=("sgd", "adam", "adamw"), default="sgd",
                      help="with --train: SGD with momentum 0.9 (default), Adam or AdamW")
    cost.add_argument("--loss", choices=("auto", "cross_entropy", "softmax_cross_entropy",
                                         "mse"), default="auto",
                      help="with --train: auto (cross-entropy of a classifier's softmax output, "
                      "else the mean squared output), or one of them")
    derive = sub.add_parser("derive", help="step-by-step derivation of one layer")
    derive.add_argument("layer", choices=LAYERS)
    derive.add_argument("--in", dest="in_features", help="input channels M (default: symbol)")
    derive.add_argument("--out", dest="out_features", help="filters N (default: symbol)")
    derive.add_argument("-k", "--kernel", help="kernel size K (default: symbol)")
    derive.add_argument("-s", "--stride", help="stride S (default 1)")
    derive.add_argument("-p", "--padding", help="padding: int, name, SAME or VALID (default 0)")
    derive.add_argument("-d", "--dilation", help="kernel dilation D (default 1)")
    derive.add_argument("-g", "--groups", help="feature groups G (default 1)")
    derive.add_argument("--output-padding", help="transposed conv output padding (default 0)")
    derive.add_argument("--no-bias", action="store_true")
    derive.add_argument("--input", help="H,W of the input (default: symbols H, W)")
    derive.add_argument("--format", choices=("text", "plain", "latex", "markdown"),
                        default="text", help="text: Unicode math (default); plain: ASCII")
    bench = sub.add_parser("bench", help="run a built-in model jitted and data-parallel; time "
                           "it against the device's peak FLOP/s")
    bench.add_argument("model", help="a built-in model name (see `symconv models`)")
    bench.add_argument("--batch", default="1", help="global batch size (default 1); a multiple "
                       "of the number of devices")
    bench.add_argument("--input", help="H,W of the input (default: the model's own size)")
    bench.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    bench.add_argument("--train", action="store_true",
                       help="time a full training step (loss, gradients, optimizer update)")
    bench.add_argument("--optimizer", choices=("sgd", "adam", "adamw"), default="sgd",
                       help="with --train: SGD with momentum 0.9 (default), Adam or AdamW")
    bench.add_argument("--steps", default="10", help="timed steps (default 10)")
    bench.add_argument("--warmup", default="2", help="untimed steps after compiling (default 2)")
    bench.add_argument("--devices", default="all",
                       help="'all' local devices (default) or how many, e.g. 1")
    bench.add_argument("--init", choices=("fast", "model"), default="fast",
                       help="parameter values: NumPy draw on the abstract model (default) or the "
                       "model's own initialisers")
    bench.add_argument("--xla-defaults", action="store_true",
                       help="compile with XLA's default options (on CPU symconv turns XLA's "
                       "YNNPACK fusions off, which were slower here)")
    bench.add_argument("--format", choices=("table", "json"), default="table")
    bench.add_argument("--quiet", action="store_true", help="no progress bar")
    rf = sub.add_parser("rf", help="closed-form receptive field of a model, per layer and output")
    rf.add_argument("model", help="a built-in model name (see `symconv models`) or "
                    "package.module:factory returning an nnx.Module or a flax.linen.Module")
    rf.add_argument("--input", help="input shape, e.g. 1,H,W,3 (the default) or B,T,C; the "
                    "spatial axes are all but the first and the last")
    rf.add_argument("--constraint", action="append",
                    help="a constraint on the symbols, e.g. 'H >= 32' (repeatable)")
    rf.add_argument("--call", help="keyword arguments of the call, literals only, e.g. "
                    "train=False")
    rf.add_argument("--args", help="keyword arguments of package.module:factory, literals "
                    "only; a bare name is a dimension")
    rf.add_argument("--format", choices=("table", "plain", "json"), default="table")
    rf.add_argument("--plot", metavar="FILE", help="also save field size against depth "
                    "(matplotlib; PNG, SVG or PDF by the suffix)")
    rf.set_defaults(func=_rf)
    for command, func in ((prove, _prove), (cost, _cost), (derive, _derive), (bench, _bench)):
        command.set_defaults(func=func)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        text, code = args.func(args)
        print(text)
        return code
    except SymconvError as e:
        print(f"symconv: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `symconv derive ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
