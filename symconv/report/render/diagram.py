"""Architecture diagrams drawn from a spec's own structure: one box per part, with its output
shape and parameters, as a matplotlib figure (PNG/SVG) or Mermaid text for Markdown.

The boxes come from the spec, never from a hand-made list: a ``Stack``'s layers, or a
``Graph``'s ``named_parts(in_shape)``. A part named ``group.name`` belongs to ``group`` (a
branch); parts of a group are chained in execution order. Graphs whose groups are not one chain
say how they are wired with ``wiring()`` -> ``{target: sources}``, where a target is a group (its
first part's inputs) or a part (overriding the chain), a source is a group (its last part), a
part, or ``input:<name>`` (a graph input, in the order of ``in_shape``); a source written
``~name`` is auxiliary (a mask, drawn dashed). Without ``wiring`` groups follow each other.

>>> from symconv.algebra import Conv2D, ReLU, Stack
>>> print(diagram(Stack((Conv2D(3, 8, 3), ReLU())), (32, 32, 3)).mermaid())  # doctest: +ELLIPSIS
flowchart TB
  input(["input<br/>32×32×3"])
  conv1["conv1 · Conv2D<br/>30×30×8 · 224 params"]
  ...
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symconv.algebra.composite import Graph, Stack
from symconv.algebra.layer import Layer
from symconv.errors import SymconvError

_PALETTE = ("#dbe9f6", "#dff0d8", "#fcf3cf", "#f6dde5", "#e8e0f5", "#e0f2f1")
_MERGED = "#eeeeee"


@dataclass(frozen=True, slots=True)
class Box:
    """One part: ``id`` (unique, Mermaid-safe), its name, kind, output shape and parameters."""

    id: str
    name: str
    kind: str
    shape: tuple
    params: Any
    group: str
    is_input: bool = False

    @property
    def title(self) -> str:
        short = self.name.split(".", 1)[1] if "." in self.name else self.name
        return short if self.is_input else f"{short} · {self.kind}"

    @property
    def detail(self) -> str:
        text = shape_text(self.shape)
        if self.is_input:
            return text
        return f"{text} · {_count(self.params)} params" if self.params != 0 else text


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    aux: bool = False


def shape_text(shape: Sequence) -> str:
    """``(32, 32, 3)`` as ``32×32×3``; several shapes joined by ``, ``."""
    if shape and all(isinstance(s, (tuple, list)) for s in shape):
        return ", ".join(shape_text(s) for s in shape)
    return "×".join(str(d) for d in shape)


def _count(n: Any) -> str:
    return f"{n:,}" if isinstance(n, int) else str(n)


def _safe(name: str) -> str:
    """A Mermaid node id: letters, digits and underscores, never the keyword ``end``."""
    bid = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return bid + "_" if bid.lower() in ("end", "graph", "subgraph") else bid


@dataclass(frozen=True, slots=True)
class Diagram:
    """Boxes (inputs first, then parts in execution order) and the edges between them."""

    title: str
    boxes: tuple[Box, ...]
    edges: tuple[Edge, ...]

    def box(self, name: str) -> Box:
        for b in self.boxes:
            if b.name == name or b.id == name:
                return b
        raise SymconvError(f"diagram {self.title!r} has no box {name!r}")

    def groups(self) -> list[str]:
        seen: list[str] = []
        for b in self.boxes:
            if not b.is_input and b.group not in seen:
                seen.append(b.group)
        return seen

    # --- Mermaid ----------------------------------------------------------------------------

    def mermaid(self) -> str:
        """A ``flowchart TB`` with one subgraph per group of more than one part."""
        lines = ["flowchart TB"]

        def node(b: Box, indent: str) -> str:
            label = f"{b.title}<br/>{b.detail}".replace('"', "#quot;")
            return f'{indent}{b.id}(["{label}"])' if b.is_input else f'{indent}{b.id}["{label}"]'

        for b in self.boxes:
            if b.is_input:
                lines.append(node(b, "  "))
        for group in self.groups():
            members = [b for b in self.boxes if b.group == group and not b.is_input]
            if len(members) > 1:
                lines.append(f'  subgraph {_safe("g_" + group)}["{group}"]')
                lines += [node(b, "    ") for b in members]
                lines.append("  end")
            else:
                lines += [node(b, "  ") for b in members]
        for e in self.edges:
            lines.append(f"  {e.source} {'-.->' if e.aux else '-->'} {e.target}")
        return "\n".join(lines)

    def markdown(self) -> str:
        return "```mermaid\n" + self.mermaid() + "\n```\n"

    # --- matplotlib -------------------------------------------------------------------------

    def layout(self) -> dict[str, tuple[float, float]]:
        """``box id -> (x, rank)``. Rank: the longest chain of data edges from an input. x: each
        group that starts a branch (fed by inputs only) gets the next column, one more to its
        left when it has side parts (boxes feeding others only through auxiliary edges, such as
        a mask); a merging group is centred under its sources; an input above what it feeds."""
        by_id = {b.id: b for b in self.boxes}
        incoming: dict[str, list[Edge]] = {}
        outgoing: dict[str, list[Edge]] = {}
        for e in self.edges:
            incoming.setdefault(e.target, []).append(e)
            outgoing.setdefault(e.source, []).append(e)
        rank: dict[str, int] = {}
        for b in self.boxes:
            data = [rank[e.source] for e in incoming.get(b.id, []) if not e.aux]
            aux = [rank[e.source] for e in incoming.get(b.id, []) if e.aux]
            rank[b.id] = max(data, default=max(aux, default=-1)) + 1

        def side(b: Box) -> bool:
            outs = outgoing.get(b.id, [])
            return bool(outs) and all(e.aux for e in outs) and not b.is_input

        main: dict[str, float] = {}
        next_col = 0.0
        for b in self.boxes:
            if b.is_input or b.group in main:
                continue
            sources = [by_id[e.source] for e in incoming.get(b.id, []) if not e.aux]
            outer = [main[s.group] for s in sources if s.group in main and s.group != b.group]
            if outer:
                main[b.group] = sum(outer) / len(outer)
                continue
            has_side = any(side(m) for m in self.boxes if m.group == b.group)
            main[b.group] = next_col + (1.0 if has_side else 0.0)
            next_col += 2.0 if has_side else 1.0
        pos: dict[str, tuple[float, float]] = {}
        for b in self.boxes:
            if b.is_input:
                fed = [by_id[e.target] for e in outgoing.get(b.id, [])]
                x = main[fed[0].group] if fed else next_col
                pos[b.id] = (x, float(rank[b.id]))
            else:
                x = main[b.group] - (1.0 if side(b) else 0.0)
                pos[b.id] = (x, float(rank[b.id]))
        slots: dict[tuple[float, float], list[str]] = {}
        for i, p in pos.items():
            slots.setdefault(p, []).append(i)
        for (x, y), ids in slots.items():  # anything still sharing a place: spread sideways
            for k, i in enumerate(ids):
                pos[i] = (x + 0.5 * (k - (len(ids) - 1) / 2), y)
        return pos

    def figure(self, *, width_per_column: float = 3.6, height_per_rank: float = 0.62):
        """The diagram as a ``matplotlib.figure.Figure`` (boxes coloured by group)."""
        import matplotlib.pyplot as plt
        from matplotlib.patches import FancyBboxPatch

        pos = self.layout()
        xs = [p[0] for p in pos.values()] or [0.0]
        ys = [p[1] for p in pos.values()] or [0.0]
        cols = max(xs) - min(xs) + 1
        fig, ax = plt.subplots(figsize=(max(4.0, width_per_column * cols),
                                        max(2.0, height_per_rank * (max(ys) + 1) + 0.6)))
        ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
        ax.set_ylim(max(ys) + 0.6, -0.8)
        ax.axis("off")
        groups = self.groups()
        branch = {g: _PALETTE[i % len(_PALETTE)] for i, g in enumerate(groups)
                  if sum(1 for b in self.boxes if b.group == g and not b.is_input) > 1}
        bw, bh = 0.46, 0.4
        for b in self.boxes:
            x, y = pos[b.id]
            w = bw * (0.95 if not b.is_input else 0.8)
            face = "white" if b.is_input else branch.get(b.group, _MERGED)
            style = "round,pad=0.02,rounding_size=0.12" if b.is_input else "round,pad=0.02"
            ax.add_patch(FancyBboxPatch((x - w, y - bh / 2), 2 * w, bh, boxstyle=style,
                                        facecolor=face, edgecolor="#555555", lw=0.8))
            ax.text(x, y - 0.07, b.title, ha="center", va="center", fontsize=7.2,
                    fontweight="bold")
            ax.text(x, y + 0.1, b.detail, ha="center", va="center", fontsize=6.4)
        for e in self.edges:
            (x0, y0), (x1, y1) = pos[e.source], pos[e.target]
            if e.aux:  # from the side of the source to the side of the target
                sx = 1 if x1 > x0 else -1 if x1 < x0 else 0
                start = (x0 + sx * bw * 0.95, y0) if sx else (x0, y0 + bh / 2)
                end = (x1 - sx * bw * 0.95, y1) if sx else (x1, y1 - bh / 2)
                style = {"color": "#888888", "linestyle": "--", "connectionstyle": "arc3,rad=0.0"}
            else:
                start, end = (x0, y0 + bh / 2), (x1, y1 - bh / 2)
                bend = x0 != x1 and y1 - y0 > 1
                style = {"color": "#333333", "linestyle": "-",
                             "connectionstyle": "angle,angleA=-90,angleB=180,rad=0" if bend
                             else "arc3,rad=0.0"}
                if bend:  # down the source's column, then across into the target's side
                    end = (x1 - (1 if x1 > x0 else -1) * bw * 0.95, y1)
            ax.annotate("", xy=end, xytext=start,
                        arrowprops=dict(arrowstyle="-|>", lw=0.7, shrinkA=0, shrinkB=0,
                                        **style))
        for g in groups:  # group titles above their first box
            members = [b for b in self.boxes if b.group == g and not b.is_input]
            if g in branch and members:
                x, y = pos[members[0].id]
                ax.text(x - bw, y - bh / 2 - 0.05, g, ha="left", va="bottom", fontsize=7,
                        color="#444444", style="italic")
        ax.set_title(self.title, fontsize=9)
        fig.tight_layout()
        return fig

    def save(self, path: str | Path) -> Path:
        """Write ``.png``, ``.svg`` or ``.pdf`` (by suffix) or ``.mmd``/``.md`` (Mermaid)."""
        path = Path(path)
        if path.suffix in (".mmd", ".md"):
            path.write_text(self.mermaid() + "\n" if path.suffix == ".mmd" else self.markdown())
            return path
        if path.suffix not in (".png", ".svg", ".pdf"):
            raise SymconvError(f"diagram: cannot write {path.name!r}; use .png, .svg, .pdf, "
                               f".mmd or .md")
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig = self.figure()
        fig.savefig(path, metadata={"Software": None} if path.suffix == ".png" else
                    ({"Date": None} if path.suffix == ".svg" else {"CreationDate": None}),
                    bbox_inches="tight")
        plt.close(fig)
        return path


def _parts(spec: Layer, in_shape) -> list[tuple[str, Layer, tuple]]:
    if isinstance(spec, (Stack, Graph)):
        return [(name, layer, tuple(x) if isinstance(x, list) else x)
                for name, layer, x in spec.named_parts(in_shape)]
    return [(spec.label.lower(), spec, tuple(in_shape))]


def diagram(spec: Layer, in_shape, *, title: str | None = None) -> Diagram:
    """The diagram of ``spec`` (a Stack, a Graph, or a single layer) on ``in_shape``."""
    if not isinstance(spec, Layer):
        raise SymconvError(f"diagram: {type(spec).__name__} is not a layer spec (a Stack, a "
                           f"Graph or a layer of symconv.algebra)")
    parts = _parts(spec, in_shape)
    wiring = dict(spec.wiring()) if hasattr(spec, "wiring") else {}
    input_names = [s.split(":", 1)[1] for srcs in wiring.values() for s in srcs
                   if s.lstrip("~").startswith("input:")]
    input_names = list(dict.fromkeys(n.lstrip("~") for n in input_names)) or ["input"]
    shapes = [tuple(in_shape)] if len(input_names) == 1 else [tuple(s) for s in in_shape]
    if len(shapes) != len(input_names):
        raise SymconvError(f"diagram: {len(input_names)} inputs {input_names} but in_shape "
                           f"{in_shape!r}")
    boxes: list[Box] = []
    ids: dict[str, str] = {}
    for name, shape in zip(input_names, shapes):
        bid = _safe("input" if len(input_names) == 1 else f"input_{name}")
        ids[f"input:{name}"] = bid
        boxes.append(Box(bid, f"{name} input" if len(input_names) > 1 else "input", "input",
                         shape, 0, f"input:{name}", is_input=True))
    first: dict[str, str] = {}
    last: dict[str, str] = {}
    order: list[str] = []
    for name, layer, x in parts:
        bid = _safe(name)
        if bid in ids.values():
            raise SymconvError(f"diagram: two parts map to the box id {bid!r}")
        group = name.split(".", 1)[0]
        ids[name] = bid
        boxes.append(Box(bid, name, layer.label, tuple(layer.output_shape(x)),
                         layer.param_count(), group))
        first.setdefault(group, bid)
        order.append(name)

    def resolve(source: str) -> tuple[str, bool]:
        aux = source.startswith("~")
        source = source.lstrip("~")
        if source in last:  # a group: its last part so far
            return last[source], aux
        if source in ids:  # a part or an input
            return ids[source], aux
        raise SymconvError(f"diagram: wiring names {source!r}, which is neither a part, a group "
                           f"seen earlier nor an input")

    edges: list[Edge] = []
    prev_group: str | None = None
    prev_in_group: dict[str, str] = {}
    for name in order:
        group = name.split(".", 1)[0]
        bid = ids[name]
        if name in wiring:
            sources = wiring[name]
        elif group in prev_in_group:
            sources = (None,)
        elif group in wiring:
            sources = wiring[group]
        elif not wiring and prev_group is None:
            sources = ("input:" + input_names[0],)
        elif not wiring:
            sources = (prev_group,)
        else:
            raise SymconvError(f"diagram: the wiring of {type(spec).__name__} does not say what "
                               f"feeds {name!r}")
        for s in sources:
            if s is None:
                edges.append(Edge(prev_in_group[group], bid))
            else:
                src, aux = resolve(s)
                edges.append(Edge(src, bid, aux))
        prev_in_group[group] = bid
        last[group] = bid
        prev_group = group
    return Diagram(title or spec.label, tuple(boxes), tuple(edges))
