"""Vendored files are not test modules: nothing here is collected (no doctests either)."""

collect_ignore_glob = ["*.py"]
