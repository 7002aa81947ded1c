"""The self-check of XLA's counting rules: passes here, warns in one line on a difference, caches
XLA's counts per install and survives a cache it cannot write."""

from __future__ import annotations

import dataclasses
import json
import warnings

import pytest

from symconv.checks import selfcheck, xla
from symconv.checks.selfcheck import SymconvWarning


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private cache directory for the test."""
    monkeypatch.setenv(selfcheck.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def lowerings(monkeypatch) -> list:
    """Records the rules the self-check lowers."""
    calls: list = []
    lower = selfcheck.lower_count

    def counted(rule):
        calls.append(rule.what)
        return lower(rule)

    monkeypatch.setattr(selfcheck, "lower_count", counted)
    return calls


def test_passes_on_this_install(cache):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = selfcheck.run(force=True)
    assert result["agree"] and set(result["rules"]) == set(selfcheck.RULES)
    assert result["rules"]["conv"] == {"symconv": 11616, "xla": 11616}  # the README's number
    assert all(r["symconv"] == r["xla"] > 0 for r in result["rules"].values())


def test_a_difference_is_one_warning_line(cache, monkeypatch):
    conv = selfcheck.RULES["conv"]
    monkeypatch.setitem(selfcheck.RULES, "conv", dataclasses.replace(conv, expected=lambda: 13824))
    with pytest.warns(SymconvWarning) as record:
        result = selfcheck.run()
    assert len(record) == 1
    message = str(record[0].message)
    assert "\n" not in message
    assert "conv rule" in message and "symconv 13824" in message and "XLA 11616" in message
    assert not result["agree"] and result["rules"]["conv"] == {"symconv": 13824, "xla": 11616}


def test_xla_counts_are_cached_per_install(cache, lowerings):
    first = selfcheck.run()
    assert not first["cached"] and len(lowerings) == len(selfcheck.RULES)
    stored = json.loads((cache / selfcheck.CACHE_FILE).read_text())
    assert stored == {selfcheck.install_key(): {n: r["xla"] for n, r in first["rules"].items()}}

    second = selfcheck.run()
    assert second["cached"] and len(lowerings) == len(selfcheck.RULES)  # nothing lowered
    assert second["rules"] == first["rules"]

    selfcheck.run(force=True)
    assert len(lowerings) == 2 * len(selfcheck.RULES)


def test_unwritable_or_corrupt_cache_is_not_an_error(tmp_path, monkeypatch, lowerings):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(selfcheck.CACHE_ENV, str(blocker / "cache"))
    assert selfcheck.run()["agree"] and not selfcheck.run()["cached"]

    monkeypatch.setenv(selfcheck.CACHE_ENV, str(tmp_path))
    (tmp_path / selfcheck.CACHE_FILE).write_text("{not json")
    assert selfcheck.run()["agree"] and selfcheck.run()["cached"]


def test_cache_directory(monkeypatch, tmp_path):
    monkeypatch.delenv(selfcheck.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert selfcheck.cache_dir() == tmp_path / "symconv"
    monkeypatch.setenv(selfcheck.CACHE_ENV, str(tmp_path / "mine"))
    assert selfcheck.cache_dir() == tmp_path / "mine"


def test_runs_once_on_first_xla_use(cache, monkeypatch):
    runs = []
    monkeypatch.setattr(selfcheck, "ensure", selfcheck._Once())
    monkeypatch.setattr(selfcheck, "run", lambda force=False: runs.append(force))
    xla.cost(lambda x: x * 2.0, (3,))
    xla.cost(lambda x: x + 1.0, (3,))
    assert runs == [False]


def test_a_check_that_cannot_run_warns_once(cache, monkeypatch):
    def broken(force=False):
        raise RuntimeError("no backend\nsecond line")

    monkeypatch.setattr(selfcheck, "run", broken)
    once = selfcheck._Once()
    with pytest.warns(SymconvWarning, match="could not run: RuntimeError: no backend$") as record:
        once()
    once()  # does nothing: under filterwarnings=error a second warning would fail the test
    assert len(record) == 1
