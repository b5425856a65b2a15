"""Numbers for the report's tables: each value to the precision its MCSE supports.

A simulated value is printed with its Monte Carlo standard error to two
significant digits, and the value to the same decimal place.  Within a column
the notation never changes: either every row is fixed-point
(``0.70001 ± 0.00046``), or every row shares the form
``(2.1190 ± 0.0094)×10⁻³``, each row with its own power of ten.  An exact value
(theory) is printed to the decimal place of the simulated value it is compared
with, plus one digit, in the same notation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

MCSE_DIGITS = 2
"""Significant digits of a Monte Carlo standard error."""
MAX_FIXED_DECIMALS = 6
"""A column needing more decimals than this (or a value of 10⁵ or more) is written in powers of ten."""
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
DASH = "—"


def _finite(x: float | None) -> bool:
    return x is not None and isinstance(x, int | float) and math.isfinite(x)


def decimals(mcse: float) -> int:
    """Decimal places that show ``mcse`` to :data:`MCSE_DIGITS` significant digits (may be negative)."""
    return MCSE_DIGITS - 1 - math.floor(math.log10(mcse))


def exponent(value: float, mcse: float) -> int:
    """The power of ten for a row in scientific notation: the value's own, or the MCSE's when the value is 0."""
    scale = abs(value) if value else mcse
    return math.floor(math.log10(scale)) if scale else 0


@dataclass(frozen=True)
class Column:
    """The notation of one table column: ``fixed`` or ``scientific``."""

    scientific: bool

    @classmethod
    def of(cls, pairs: Iterable[tuple[float, float]]) -> Column:
        """The notation that suits every (value, MCSE) pair of a column."""
        for value, mcse in pairs:
            if not _finite(value):
                continue
            if abs(value) >= 1e5 or (_finite(mcse) and mcse > 0 and decimals(mcse) > MAX_FIXED_DECIMALS):
                return cls(scientific=True)
            if not (_finite(mcse) and mcse > 0) and value != 0 and abs(value) < 10**-MAX_FIXED_DECIMALS:
                return cls(scientific=True)
        return cls(scientific=False)

    def pm(self, value: float, mcse: float) -> str:
        """``value ± mcse``; a dash for a missing value; ``value ± —`` when the MCSE does not exist."""
        if not _finite(value):
            return DASH
        if not (_finite(mcse) and mcse > 0):
            return f"{self.plain(value)} ± {DASH}"
        d = decimals(mcse)
        if not self.scientific:
            d = max(d, 0)
            return f"{value:.{d}f} ± {mcse:.{d}f}"
        e = exponent(value, mcse)
        d = max(d + e, 0)
        return f"({value / 10**e:.{d}f} ± {mcse / 10**e:.{d}f})×10{str(e).translate(SUPERSCRIPT)}"

    def like(self, value: float, reference: float, mcse: float) -> str:
        """An exact ``value`` to the precision of the simulated ``reference ± mcse`` it is compared with."""
        if not _finite(value):
            return DASH
        if not (_finite(mcse) and mcse > 0):
            return self.plain(value)
        d = decimals(mcse) + 1
        if not self.scientific:
            return f"{value:.{max(d, 0)}f}"
        e = exponent(reference if _finite(reference) else value, mcse)
        return f"{value / 10**e:.{max(d + e, 0)}f}×10{str(e).translate(SUPERSCRIPT)}"

    def plain(self, value: float, digits: int = 4) -> str:
        """A value with no MCSE to go by: ``digits`` significant digits in the column's notation."""
        if not _finite(value):
            return DASH
        if not self.scientific or value == 0:
            return f"{value:.{digits}g}" if abs(value) >= 1e-4 or value == 0 else f"{value:.{digits - 1}e}"
        e = math.floor(math.log10(abs(value)))
        return f"{value / 10**e:.{digits - 1}f}×10{str(e).translate(SUPERSCRIPT)}"
