"""Numeric experiments behind claims that are not closed forms (e.g. gradient flow)."""
