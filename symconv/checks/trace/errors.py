"""The tracer's internal signal for a known primitive in a configuration without a rule."""

from __future__ import annotations


class Unpriced(Exception):
    """A known primitive in a configuration without a rule; the message names it."""
