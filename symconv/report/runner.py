"""Load proof modules, run them, write the report: what ``symconv prove`` does."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from symconv.errors import SymconvError
from symconv.report.proof import Proof, Verdict


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
    proofs: tuple[Proof, ...]
    errors: tuple[tuple[str, str], ...]  # (file, one-line error)

    def exit_code(self, strict: bool = False) -> int:
        verdicts = [c.verdict for p in self.proofs for c in p.claims]
        if self.errors or Verdict.INCONSISTENT in verdicts:
            return 1
        if strict and Verdict.REFUTED in verdicts:
            return 1
        return 0


def run_proofs(files: Sequence[Path], progress: Callable[[str], None] = lambda s: None
               ) -> RunResult:
    proofs: list[Proof] = []
    errors: list[tuple[str, str]] = []
    for i, file in enumerate(files, 1):
        progress(f"[{i}/{len(files)}] {file.name}")
        try:
            proofs += load_proofs(file)
        except Exception as e:  # a proof that fails to run is reported, not fatal to the rest
            last = traceback.extract_tb(e.__traceback__)[-1]
            errors.append((str(file), f"{type(e).__name__}: {e} ({last.filename}:{last.lineno})"))
    proofs.sort(key=lambda p: (p.question, p.part))
    return RunResult(tuple(proofs), tuple(errors))


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
