"""Load proof modules, run them, write the report: what ``symconv prove`` does."""

from __future__ import annotations

import contextvars
import hashlib
import importlib.util
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from symconv.errors import SymconvError
from symconv.report.proof import Proof, Verdict
from symconv.report.references import Reference, load_bibliography
from symconv.report.source import Coverage, Exclusion, Source, coverage, load_exclusions

_EXPERIMENTS = contextvars.ContextVar("symconv_experiments", default=False)


def experiments_enabled() -> bool:
    """Whether the proofs being run should run their slow experiments again (``symconv prove
    --experiments``) rather than read the committed results: ``run_proofs(..., experiments=)``
    sets it for the proof modules it runs."""
    return _EXPERIMENTS.get()


def default_proof_dir() -> Path:
    """``./proofs`` when it exists, else the ``proofs/`` of the source checkout."""
    here = Path.cwd() / "proofs"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parent.parent / "proofs"


def proof_files(paths: Sequence[str | Path]) -> list[Path]:
    """Python files named by ``paths`` (directories give their ``*.py``, sorted, no ``_x.py``)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(f for f in path.glob("*.py") if not f.name.startswith("_"))
        elif path.is_file() and path.suffix == ".py":
            files.append(path)
        else:
            raise SymconvError(f"proof path {str(raw)!r} is not a .py file or a directory")
    if not files:
        raise SymconvError(f"no proof modules found in {[str(p) for p in paths]}")
    return files


def _package(directory: Path) -> str:
    """The package the modules of one proof directory are loaded into (made on first use).

    Proof modules of one directory share private helpers by relative import
    (``from ._yolo_common import ...``), without ``sys.path`` being touched; files starting
    with ``_`` are helpers, never run as proofs. One directory always maps to one package.
    """
    directory = directory.resolve()
    name = "symconv_proofs_" + hashlib.sha1(str(directory).encode()).hexdigest()[:12]
    if name not in sys.modules:
        spec = importlib.util.spec_from_loader(name, loader=None, is_package=True)
        spec.submodule_search_locations = [str(directory)]
        sys.modules[name] = importlib.util.module_from_spec(spec)
    return name


def module_name(file: str | Path) -> str:
    """The name a proof file's module has in ``sys.modules`` once loaded."""
    file = Path(file)
    return f"{_package(file.parent)}.{file.stem}"


def load_proofs(file: Path) -> list[Proof]:
    """Import ``file`` and call its ``build()``, which returns a Proof or a list of them."""
    file = Path(file)
    name = module_name(file)
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise SymconvError(f"cannot import proof module {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    build = getattr(module, "build", None)
    if not callable(build):
        raise SymconvError(f"{file}: a proof module must define build() -> Proof")
    result = build()
    proofs = [result] if isinstance(result, Proof) else list(result)
    if not all(isinstance(p, Proof) for p in proofs):
        raise SymconvError(f"{file}: build() must return a Proof or a list of Proofs")
    return proofs


@dataclass(frozen=True)
class RunResult:
    """The proofs that ran, the files that failed, and what the proof directory ships beside
    them: the source document (``source/*.txt``), the reviewed exclusions
    (``source/excluded.toml``) and the bibliography (``bibliography.toml``)."""

    proofs: tuple[Proof, ...]
    errors: tuple[tuple[str, str], ...]  # (file, one-line error)
    source: Source | None = None
    exclusions: tuple[Exclusion, ...] = ()
    bibliography: dict[str, Reference] = field(default_factory=dict)

    def coverage(self) -> Coverage | None:
        """Which candidate sentences of the source the claims quote (None: no source)."""
        if self.source is None:
            return None
        quotes = [(c.id, c.quote) for p in self.proofs for c in p.claims if c.quote]
        return coverage(self.source, quotes, self.exclusions)

    def exit_code(self, strict: bool = False) -> int:
        verdicts = [c.verdict for p in self.proofs for c in p.claims]
        if self.errors or Verdict.INCONSISTENT in verdicts:
            return 1
        if strict and Verdict.REFUTED in verdicts:
            return 1
        return 0


def run_proofs(files: Sequence[Path], progress: Callable[[str], None] = lambda s: None, *,
               experiments: bool = False) -> RunResult:
    """Run every proof module of ``files``; with ``experiments``, proofs run their slow
    experiments again instead of reading the committed results (:func:`experiments_enabled`)."""
    proofs: list[Proof] = []
    errors: list[tuple[str, str]] = []
    token = _EXPERIMENTS.set(bool(experiments))
    try:
        for i, file in enumerate(files, 1):
            progress(f"[{i}/{len(files)}] {file.name}")
            try:
                proofs += load_proofs(file)
            except Exception as e:  # a proof that fails to run is reported, not fatal
                last = traceback.extract_tb(e.__traceback__)[-1]
                errors.append((str(file),
                               f"{type(e).__name__}: {e} ({last.filename}:{last.lineno})"))
    finally:
        _EXPERIMENTS.reset(token)
    proofs.sort(key=lambda p: (p.question, p.part))
    directory = Path(files[0]).resolve().parent if files else Path.cwd()
    source, exclusions, bibliography = load_companions(directory)
    errors += _check_claims(proofs, source, bibliography)
    return RunResult(tuple(proofs), tuple(errors), source, tuple(exclusions), bibliography)


def load_companions(directory: Path) -> tuple[Source | None, list[Exclusion], dict]:
    """The source document, exclusions and bibliography a proof directory ships, if any."""
    texts = sorted((directory / "source").glob("*.txt"))
    if len(texts) > 1:
        raise SymconvError(f"{directory / 'source'}: one source document expected, found "
                           f"{[t.name for t in texts]}")
    source = Source.load(texts[0]) if texts else None
    return (source, load_exclusions(directory / "source" / "excluded.toml"),
            load_bibliography(directory / "bibliography.toml"))


def _check_claims(proofs, source, bibliography) -> list[tuple[str, str]]:
    """Every quote is the source's words, verbatim; every citation is in the bibliography."""
    problems = []
    for proof in proofs:
        for c in proof.claims:
            if source is not None and c.quote and not source.find(c.quote):
                problems.append((c.id, f"the quote is not in {source.path.name} verbatim: "
                                       f"{c.quote[:80]!r}"))
            if c.cite is not None and bibliography and c.cite[0] not in bibliography:
                problems.append((c.id, f"cites {c.cite[0]!r}, which is not in the bibliography"))
    return problems


def environment() -> dict[str, str]:
    """Versions and device: stable across runs on one machine (no timestamps)."""
    import flax
    import jax
    import sympy

    dev = jax.devices()[0]
    return {
        "jax": jax.__version__,
        "flax": flax.__version__,
        "sympy": sympy.__version__,
        "python": sys.version.split()[0],
        "device": f"{dev.platform} ({getattr(dev, 'device_kind', 'unknown')})",
    }
