"""``symconv``: the command line. Each command parses, calls the library, renders; nothing more.

Errors in what the user typed end with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from symconv.errors import SymconvError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit code 2
        self.exit(2, f"symconv: error: {message}\n")


def _cmd_prove(args: argparse.Namespace) -> int:
    from symconv.report.render import report_json, report_markdown
    from symconv.report.render.figures import write_figures
    from symconv.report.render.latex import INSTALL_HINT, compile_pdf, report_latex
    from symconv.report.runner import default_proof_dir, environment, proof_files, run_proofs

    files = proof_files(args.paths or [default_proof_dir()])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = run_proofs(files, progress=lambda s: print(s, file=sys.stderr, flush=True))
    env = environment()
    write_figures(result.proofs, out)
    (out / "report.md").write_text(report_markdown(result.proofs, env), encoding="utf-8")
    (out / "report.json").write_text(report_json(result.proofs, env), encoding="utf-8")
    tex = out / "report.tex"
    tex.write_text(report_latex(result.proofs, env), encoding="utf-8")
    _print_summary(result)
    for file, err in result.errors:
        print(f"symconv: proof {file} failed to run: {err}", file=sys.stderr)
    written = ["report.md", "report.json", "report.tex"]
    code = result.exit_code(strict=args.strict)
    if args.no_pdf:
        pass
    else:
        try:
            pdf = compile_pdf(tex)
        except SymconvError as e:
            print(f"symconv: {e}", file=sys.stderr)
            code = code or 1
        else:
            if pdf is None:
                print(f"report.pdf skipped: {INSTALL_HINT}", file=sys.stderr)
            else:
                written.append("report.pdf")
    print(f"wrote {', '.join(written)} and figures/ to {out}")
    return code


def _print_summary(result) -> None:
    rows = [(c.id, f"{c.question}({c.part})", c.verdict.value)
            for p in result.proofs for c in p.claims]
    width = max([len(r[0]) for r in rows] + [5])
    print(f"{'claim':<{width}}  part     verdict")
    for cid, part, verdict in rows:
        print(f"{cid:<{width}}  {part:<7}  {verdict}")
    counts: dict[str, int] = {}
    for _, _, v in rows:
        counts[v] = counts.get(v, 0) + 1
    print(", ".join(f"{n} {v}" for v, n in sorted(counts.items())))


def _fmt(value) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, tuple):
        return "x".join(_fmt(v) if isinstance(v, int) else str(v) for v in value)
    return str(value)


def _cmd_models(args: argparse.Namespace) -> int:
    from symconv.models.registry import MODELS

    width = max(len(n) for n in MODELS)
    for name, entry in MODELS.items():
        print(f"{name:<{width}}  {entry.description}")
    return 0


def _cmd_cost(args: argparse.Namespace) -> int:
    import json

    import sympy as sp

    from symconv.tools.cost import cost_report
    from symconv.algebra.parse import parse_assignments, parse_shape
    from symconv.report.render.tables import stack_latex, stack_markdown

    at = parse_assignments(args.at) if args.at else None
    from symconv.models.registry import MODELS

    if args.engine == "trace" or args.model not in MODELS:
        return _print_trace(args, at)
    shape = parse_shape(args.input)
    report = cost_report(args.model, shape, at=at, convention=args.convention)
    if args.format == "json":
        print(json.dumps(report.as_dict(), indent=2, sort_keys=True))
        return 0 if report.agrees in (None, True) else 1
    if args.format == "markdown":
        print(stack_markdown(report.table))
    elif args.format == "latex":
        print(stack_latex(report.table))
    else:
        cols = ["layer", "kind", "output", "params", f"MACs ({args.convention})", "FLOPs"]
        key = "macs_dense" if args.convention == "dense" else "macs_exact"
        body = [[r.name, r.kind, _fmt(r.output_shape), _fmt(r.params), _fmt(getattr(r, key)),
                 _fmt(r.flops)] for r in report.table.rows]
        widths = [max(len(c), *(len(b[i]) for b in body)) for i, c in enumerate(cols)]
        print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
        for b in body:
            print("  ".join(v.ljust(w) for v, w in zip(b, widths)))
    totals = report.table.totals
    print(f"\n{args.model} on input {_fmt(tuple(shape))}")
    print(f"parameters: {_fmt(totals['params'])} (weights {_fmt(totals['weights'])}, "
          f"biases {_fmt(totals['biases'])})")
    print(f"MACs ({args.convention}): {_fmt(totals['macs_' + args.convention])}")
    print(f"FLOPs (exact, what XLA counts): {_fmt(totals['flops'])}")
    if report.point is not None:
        _print_check(report, "algebra", report.algebra_flops, report.algebra_params)
    del sp
    return 0 if report.agrees in (None, True) else 1


_LAYERS = ("conv2d", "depthwise", "pointwise", "separable", "conv_transpose2d", "dense",
           "maxpool", "avgpool")


def _cmd_derive(args: argparse.Namespace) -> int:
    from symconv import algebra as A
    from symconv.algebra import symbols as S
    from symconv.algebra.parse import parse_shape

    def value(text, default, flag):
        if text is None:
            return default
        parsed = parse_shape(text, flag)
        if len(parsed) != 1:
            raise SymconvError(f"{flag}: expected one value, got {text!r}")
        return parsed[0]

    m, n = value(args.in_features, S.M, "--in"), value(args.out_features, S.N, "--out")
    k, s = value(args.kernel, S.K, "-k"), value(args.stride, 1, "-s")
    d, g = value(args.dilation, 1, "-d"), value(args.groups, 1, "-g")
    pad = args.padding
    if pad is None:
        pad = 0
    elif pad.upper() in ("SAME", "VALID"):
        pad = pad.upper()
    else:
        pad = value(pad, S.P, "-p")
    hw = parse_shape(args.input, "--input") if args.input else (S.H, S.W)
    if len(hw) != 2:
        raise SymconvError(f"--input takes H,W (two entries), got {args.input!r}")
    kind = args.layer
    if kind == "conv2d":
        layer = A.Conv2D(m, n, k, s, pad, d, g, not args.no_bias)
    elif kind == "depthwise":
        layer = A.depthwise_conv2d(m, k, s, pad, d, use_bias=not args.no_bias)
    elif kind == "pointwise":
        layer = A.pointwise_conv2d(m, n, not args.no_bias)
    elif kind == "separable":
        layer = A.SeparableConv2D(m, n, k, s, pad, d, use_bias=not args.no_bias)
    elif kind == "conv_transpose2d":
        if isinstance(pad, str):
            raise SymconvError("conv_transpose2d takes an integer --padding (PyTorch meaning)")
        layer = A.ConvTranspose2D(m, n, k, s, pad,
                                  value(args.output_padding, 0, "--output-padding"), d,
                                  not args.no_bias)
    elif kind == "dense":
        layer = A.Dense(m, n, not args.no_bias)
        hw = (m,)
    else:
        pool = A.MaxPool2D if kind == "maxpool" else A.AvgPool2D
        layer = pool(k, s, pad if isinstance(pad, str) else ((pad, pad), (pad, pad)))
        hw = (*hw, m)
    from symconv.report.render.math import derivation_latex, derivation_markdown, step_text

    derivation = layer.derive(hw)
    if args.format == "latex":
        print(derivation_latex(derivation, display=True))
    elif args.format == "markdown":
        print(derivation_markdown(derivation))
    else:
        for step in derivation.steps:
            print(step_text(step))
    return 0


def _print_check(report, side: str, flops: int, params: int) -> None:
    """One line: the closed form's numbers at the point against XLA and nnx.state."""
    pt = ", ".join(f"{k}={v}" for k, v in report.point.items())
    print(f"at {pt}: FLOPs {flops:,} ({side}) vs {report.xla_flops:,} (XLA lowered HLO); "
          f"parameters {params:,} vs {report.model_params:,} (nnx.state): "
          f"{'agree' if report.agrees else 'DISAGREE'}"
          + (f" (within XLA's float32 accumulation, ±{report.tolerance:,})"
             if report.agrees and flops != report.xla_flops else ""))


def _print_trace(args: argparse.Namespace, at) -> int:
    import json

    from symconv.tools.cost import trace_report
    from symconv.report.render.math import to_latex, to_text

    report = trace_report(args.model, args.input, at)
    res = report.result
    key = "macs_dense" if args.convention == "dense" else "macs_exact"
    rows = res.by_module(args.depth)
    if args.format == "json":
        doc = {"model": args.model, "input": [to_text(d) for d in report.input_shape],
               "complete": res.complete, "unknown_primitives": res.unknown,
               "modules": [{"path": r.path, "params": r.params, "flops": to_text(r.flops),
                            "transcendentals": to_text(r.transcendentals),
                            "macs": to_text(getattr(r, key))} for r in rows],
               "totals": {k: to_text(v) for k, v in res.totals.items()},
               "check": None if report.point is None else {
                   "at": report.point, "traced_flops": report.traced_flops,
                   "xla_flops": report.xla_flops, "traced_params": report.traced_params,
                   "model_params": report.model_params, "agrees": report.agrees}}
        print(json.dumps(doc, indent=2, sort_keys=True))
        return 0 if report.agrees in (None, True) else 1
    cols = ["module", "params", f"MACs ({args.convention})", "FLOPs"]
    body = [[r.path, _fmt(r.params), _fmt(getattr(r, key)), _fmt(r.flops)] for r in rows]
    if args.format == "markdown":
        print("| " + " | ".join(cols) + " |\n|---|---:|---:|---:|")
        for b in body:
            print("| " + " | ".join(b) + " |")
    elif args.format == "latex":
        print("\\begin{tabular}{lrrr}\n\\toprule\n" + " & ".join(cols) + " \\\\\n\\midrule")
        for r in rows:
            cells = [r.path.replace("_", "\\_"), _fmt(r.params).replace(",", "{,}")] + [
                "$" + to_latex(v) + "$" for v in (getattr(r, key), r.flops)]
            print(" & ".join(cells) + " \\\\")
        print("\\bottomrule\n\\end{tabular}")
    else:
        widths = [max(len(c), *(len(b[i]) for b in body)) for i, c in enumerate(cols)]
        print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
        for b in body:
            print("  ".join(v.ljust(w) for v, w in zip(b, widths)))
    totals = res.totals
    print(f"\n{args.model} on input {_fmt(tuple(report.input_shape))} (traced jaxpr)")
    print(f"parameters: {totals['params']:,}")
    print(f"MACs ({args.convention}): {_fmt(totals[key])}")
    print(f"FLOPs: {_fmt(totals['flops'])}; transcendentals: {_fmt(totals['transcendentals'])}")
    if not res.complete:
        print(f"INCOMPLETE: no cost rule for {dict(res.unknown)}; the totals leave them out")
    if report.point is not None:
        _print_check(report, "traced", report.traced_flops, report.traced_params)
    return 0 if report.agrees in (None, True) else 1


def _cmd_bench(args: argparse.Namespace) -> int:
    import json

    from symconv.tools.bench import bench, format_table
    from symconv.algebra.parse import parse_shape

    hw = None
    if args.input is not None:
        hw = parse_shape(args.input, "--input")
        if len(hw) != 2 or not all(isinstance(v, int) for v in hw):
            raise SymconvError(f"--input takes H,W (two positive integers), got {args.input!r}")
    devices = args.devices if args.devices == "all" else _positive(args.devices, "--devices")
    result = bench(args.model, _positive(args.batch, "--batch"), hw, dtype=args.dtype,
                   train=args.train, steps=_positive(args.steps, "--steps"),
                   warmup=_positive(args.warmup, "--warmup", zero=True), devices=devices,
                   optimizer=args.optimizer, init=args.init, xla_tuning=not args.xla_defaults,
                   progress=False if args.quiet else None)
    if args.format == "json":
        print(json.dumps(result.as_dict(), indent=2, sort_keys=True))
    else:
        print(format_table(result))
    return 0


def _positive(text: str, flag: str, zero: bool = False) -> int:
    """A strictly parsed integer >= 1 (>= 0 with ``zero``)."""
    item = str(text).strip()
    if not item.isdigit() or len(item) > 9 or int(item) < (0 if zero else 1):
        raise SymconvError(f"{flag}: expected a {'non-negative' if zero else 'positive'} "
                           f"integer, got {text!r}")
    return int(item)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="symconv", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    prove = sub.add_parser("prove", help="run proofs and write the report")
    prove.add_argument("paths", nargs="*", help="proof files or directories (default: proofs/)")
    prove.add_argument("--out", default="build/report", help="output directory")
    prove.add_argument("--strict", action="store_true",
                       help="exit non-zero when any claim is refuted, too")
    prove.add_argument("--no-pdf", action="store_true", help="write report.tex, skip pdflatex")
    prove.set_defaults(func=_cmd_prove)
    models = sub.add_parser("models", help="list the built-in models")
    models.set_defaults(func=_cmd_models)
    cost = sub.add_parser("cost", help="closed-form per-layer cost of a model")
    cost.add_argument("model", help="a built-in model name (see `symconv models`) or "
                      "package.module:factory returning an nnx.Module")
    cost.add_argument("--input", default="1,H,W,3",
                      help="NHWC input shape; names are symbols (default 1,H,W,3)")
    cost.add_argument("--at", help="values for the symbols, e.g. H=224,W=224; the numbers are "
                      "cross-checked against XLA")
    cost.add_argument("--format", choices=("table", "markdown", "latex", "json"),
                      default="table")
    cost.add_argument("--convention", choices=("dense", "exact"), default="dense")
    cost.add_argument("--engine", choices=("algebra", "trace"), default="algebra",
                      help="built-in models: their algebra Stack (default) or the jaxpr tracer; "
                      "package.module:factory always uses the tracer")
    cost.add_argument("--depth", type=int, default=None,
                      help="tracer: group costs by module path up to this depth")
    cost.set_defaults(func=_cmd_cost)
    derive = sub.add_parser("derive", help="step-by-step derivation of one layer")
    derive.add_argument("layer", choices=_LAYERS)
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
    derive.add_argument("--format", choices=("latex", "markdown", "text"), default="text")
    derive.set_defaults(func=_cmd_derive)
    bench = sub.add_parser("bench", help="run a built-in model jitted and data-parallel; time "
                           "it against the device's peak FLOP/s")
    bench.add_argument("model", help="a built-in model name (see `symconv models`)")
    bench.add_argument("--batch", default="1", help="global batch size (default 1); a multiple "
                       "of the number of devices")
    bench.add_argument("--input", help="H,W of the input (default: the model's own size)")
    bench.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    bench.add_argument("--train", action="store_true",
                       help="time a full training step (loss, gradients, optimizer update)")
    bench.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                       help="with --train: SGD with momentum 0.9 (default) or Adam")
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
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SymconvError as e:
        print(f"symconv: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `symconv derive ... | head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
