"""Renderers: the same proofs as Markdown, JSON (and, later, LaTeX/PDF), byte-deterministic."""

from symconv.render.json import report_json as report_json
from symconv.render.markdown import report_markdown as report_markdown
