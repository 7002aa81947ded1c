"""User text is parsed strictly (identifiers and integers); nothing is evaluated."""

import pytest
import sympy as sp

from symconv.algebra.parse import parse_assignments, parse_shape
from symconv.errors import SymconvError, UnsafeInputError


def test_shapes():
    b, h, _w, c = parse_shape("1, H,W ,3")
    assert (b, c) == (1, 3) and isinstance(h, sp.Symbol) and h.is_integer and h.is_positive


def test_assignments():
    assert parse_assignments("H=224, W=160") == {"H": 224, "W": 160}


HOSTILE = ["__import__('os')", "H+1", "os.system('x')", "1e3", "-3", "0", "H W", "",
           "lambda: 1", "H**2", "2.5", "__class__", "x" * 40]


@pytest.mark.parametrize("text", HOSTILE)
def test_shape_rejects(text, monkeypatch):
    called = []
    monkeypatch.setattr(sp, "sympify", lambda *a, **k: called.append(a))
    with pytest.raises(UnsafeInputError):
        parse_shape(f"1,{text},3" if text else "")
    assert not called


@pytest.mark.parametrize("text", ["H", "H=", "=3", "H=0", "H=1,H=2", "H=__import__('os')",
                                  "__x__=3", "H=3;W=4"])
def test_assignments_reject(text):
    with pytest.raises(SymconvError):
        parse_assignments(text)
