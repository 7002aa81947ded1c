"""What ``symconv rf`` computes and prints: the receptive field of a built-in model or of
``package.module:factory`` (:func:`rf_report`), as a per-layer table (:func:`render_rf`:
``table``, ``plain`` or ``json``) and a figure of field size against depth (:func:`plot_rf`)."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sympy as sp

from symconv.checks import xla
from symconv.checks.trace.fields import Summary
from symconv.checks.trace.receptive import ReceptiveField, receptive_field
from symconv.errors import SymconvError
from symconv.models.registry import MODELS
from symconv.report.notation import to_text, to_unicode
from symconv.tools.cost import load_factory

FORMATS = ("table", "plain", "json")
PHASED = "*"  #: marks a size that is the largest over the output's phases


@dataclass(frozen=True)
class RFReport:
    """The model's name, its input as given, and its :class:`ReceptiveField`."""

    model: str
    input: str
    rf: ReceptiveField

    def as_dict(self) -> dict:
        rf = self.rf
        return {
            "model": self.model, "input": [to_text(d) for d in rf.input_shape],
            "spatial_axes": list(rf.spatial), "complete": rf.complete,
            "unknown_primitives": rf.unknown,
            "outputs": [{"shape": [to_text(d) for d in shape],
                         "axes": [_axis_dict(a) for a in rf.axes(k)],
                         "unit0_clipped": _border(rf, k) or None}
                        for k, shape in enumerate(rf.output_shapes)],
            "layers": [{"depth": i, "path": layer.path, "op": layer.op,
                        "shape": [to_text(d) for d in layer.shape],
                        "axes": [_axis_dict(a) for a in layer.axes]}
                       for i, layer in enumerate(rf.layers, 1)],
        }


def _axis_dict(axis: Any) -> dict | None:
    if axis is None:
        return None
    if isinstance(axis, Summary):
        return {"size": to_text(axis.size), "jump": to_text(axis.jump),
                "offset": to_text(axis.offset), "phase_dependent": axis.phased}
    return {"global": True, "op": axis.op, "path": axis.path}


def rf_report(name: str, input_shape: str, *, args: Mapping[str, Any] | None = None,
              call: Mapping[str, Any] | None = None, constraints: tuple[str, ...] = ()
              ) -> RFReport:
    """Trace built-in model ``name`` (built at the input's concrete H, W, else its default
    size) or ``package.module:factory`` (built abstractly with ``args``) on ``input_shape``."""
    factory_args = None
    if name in MODELS:
        entry = MODELS[name]
        dims = [d.strip() for d in input_shape.split(":")[0].split(",")]
        if len(dims) != 4:
            raise SymconvError(f"{name} takes an NHWC input, got {input_shape!r}")
        hw = tuple(int(d) if d.isdigit() else entry.default_hw[i]
                   for i, d in enumerate(dims[1:3]))
        model = xla.abstract(lambda: entry.build(hw))
    else:
        model = load_factory(name)
        factory_args = dict(args or {})
    rf = receptive_field(model, input_shape, constraints=constraints, kwargs=call,
                         factory_args=factory_args)
    return RFReport(name, input_shape, rf)


def _cell(axis: Any, unicode: bool) -> str:
    show = to_unicode if unicode else to_text
    if axis is None:
        return "-"
    if isinstance(axis, Summary):
        star = PHASED if axis.phased else ""
        return f"{show(axis.size)}{star} | {show(axis.jump)} | {show(axis.offset)}"
    return str(axis)


def render_rf(report: RFReport, fmt: str = "table") -> str:
    """The per-layer table (size | jump | offset per spatial axis) and each output's field."""
    if fmt not in FORMATS:
        raise SymconvError(f"format must be one of {FORMATS}, got {fmt!r}")
    if fmt == "json":
        return json.dumps(report.as_dict(), indent=2)
    rf = report.rf
    unicode = fmt == "table"
    names = [f"axis {a} ({to_text(rf.input_shape[a])})" for a in rf.spatial]
    columns = ["#", "module", "op", "output", *[f"{n}: size | jump | offset" for n in names]]
    rows = [[str(i), layer.path or "(top)", layer.op, to_text(list(layer.shape)),
             *[_cell(a, unicode) for a in layer.axes]] for i, layer in enumerate(rf.layers, 1)]
    table = _rich(columns, rows) if unicode else _aligned(columns, rows)
    lines = [f"{report.model} on ({', '.join(to_text(d) for d in rf.input_shape)}), spatial "
             f"axes {list(rf.spatial)}", table, ""]
    for k in range(len(rf.outputs)):
        cells = ", ".join(f"{n}: {_cell(a, unicode)}" for n, a in zip(names, rf.axes(k)))
        lines.append(f"output {k} {to_text(list(rf.output_shapes[k]))}: {cells}")
        border = _border(rf, k)
        if border:
            lines.append(f"  clipped at the border, its unit 0 reads {border}")
    if any(isinstance(a, Summary) and a.phased for layer in rf.layers for a in layer.axes):
        lines.append(f"{PHASED} the field depends on the output's phase (after upsampling): "
                     f"the largest over phases")
    lines.append("sizes are theoretical (not clipped at the border); offset: centre of output "
                 "0's field in input pixels")
    if rf.unknown:
        lines.append(f"no rule for {sorted(rf.unknown)}: fields through them are global")
    return "\n".join(lines)


def _border(rf: ReceptiveField, output: int) -> str:
    """Unit 0's field clipped to the input, per axis, where the input's sizes are numbers."""
    if not all(isinstance(rf.input_shape[a], int) for a in rf.spatial) or not all(
            isinstance(a, Summary) for a in rf.axes(output)):
        return ""
    spans = [rf.clipped(output, k, 0) for k in range(len(rf.spatial))]
    return ", ".join("nothing (padding)" if s is None else f"pixels {s[0]}..{s[1]}"
                     for s in spans)


def _aligned(columns: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [columns, *rows]) for i in range(len(columns))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
                     for r in [columns, *rows])


def _rich(columns: list[str], rows: list[list[str]]) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for i, c in enumerate(columns):
        table.add_column(c, justify="right" if i == 0 else "left", overflow="fold")
    for row in rows:
        table.add_row(*row)
    console = Console(file=io.StringIO(), width=120, color_system=None, highlight=False)
    console.print(table)
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines())


def plot_rf(report: RFReport, path: str, values: Mapping[str, int] | None = None) -> str:
    """Field size against depth (one line per spatial axis; log y when the sizes span a decade
    or more), saved to ``path``; symbols are set to ``values`` (default 224)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rf = report.rf
    subs = {s: (values or {}).get(n, 224) for n, s in rf.symbols.items()}
    fig, ax = plt.subplots(figsize=(7, 4))
    sizes_all = []
    for k, a in enumerate(rf.spatial):
        xs, ys = [], []
        for depth, layer in enumerate(rf.layers, 1):
            axis = layer.axes[k]
            if isinstance(axis, Summary):
                xs.append(depth)
                ys.append(float(sp.sympify(axis.size).subs(subs)))
        sizes_all += ys
        ax.plot(xs, ys, marker=".", label=f"axis {a} ({to_text(rf.input_shape[a])})")
    if sizes_all and max(sizes_all) >= 10 * max(min(sizes_all), 1):
        ax.set_yscale("log")
    ax.set_xlabel("depth (windowed op)")
    ax.set_ylabel("receptive field size (pixels)")
    ax.set_title(f"{report.model}: receptive field")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
