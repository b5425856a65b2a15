"""How a user's value appears in a one-line message: cut short, and never a traceback on the way.

Shared by the config validator and the models' own ``check_config`` (which the
validator calls), so every message about a config value reads the same.
"""

from __future__ import annotations

from typing import Any

MAX_SHOWN = 80
"""Characters of a user's value shown in a message; the rest is cut."""


def shown(value: Any, limit: int = MAX_SHOWN) -> str:
    """``repr(value)`` for a message, cut short with its length when long."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text):,} characters)"


def as_float(value: Any) -> float | None:
    """``float(value)`` for a number; None when it has no float64 (an integer beyond 1.8e308)."""
    try:
        return float(value)
    except (OverflowError, TypeError, ValueError):
        return None
