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
    from symconv.render import report_json, report_markdown
    from symconv.render.figures import write_figures
    from symconv.runner import default_proof_dir, environment, proof_files, run_proofs

    files = proof_files(args.paths or [default_proof_dir()])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = run_proofs(files, progress=lambda s: print(s, file=sys.stderr, flush=True))
    env = environment()
    write_figures(result.proofs, out)
    (out / "report.md").write_text(report_markdown(result.proofs, env), encoding="utf-8")
    (out / "report.json").write_text(report_json(result.proofs, env), encoding="utf-8")
    _print_summary(result)
    for file, err in result.errors:
        print(f"symconv: proof {file} failed to run: {err}", file=sys.stderr)
    print(f"wrote {out / 'report.md'} and {out / 'report.json'}")
    return result.exit_code(strict=args.strict)


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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="symconv", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    prove = sub.add_parser("prove", help="run proofs and write the report")
    prove.add_argument("paths", nargs="*", help="proof files or directories (default: proofs/)")
    prove.add_argument("--out", default="build/report", help="output directory")
    prove.add_argument("--strict", action="store_true",
                       help="exit non-zero when any claim is refuted, too")
    prove.set_defaults(func=_cmd_prove)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SymconvError as e:
        print(f"symconv: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
