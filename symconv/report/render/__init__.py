"""Renderers: the same proofs as Markdown, JSON (and, later, LaTeX/PDF), byte-deterministic."""

from symconv.report.render.json import report_json as report_json
from symconv.report.render.markdown import report_markdown as report_markdown
