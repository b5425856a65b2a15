"""How parameter and estimator names are written for a reader.

Config and ``summary.csv`` use plain names (``sigma2``, ``rate``, ``beta[1]``,
``beta[1,0]``); figures use matplotlib mathtext and the report Unicode.  The hat
goes on the symbol, never on the whole name: σ̂², not "sigma2̂"; an element of a
block is subscripted: β̂₁, β̂₁,₀.
"""

from __future__ import annotations

import re

GREEK = {
    "alpha": ("\\alpha", "α"),
    "beta": ("\\beta", "β"),
    "gamma": ("\\gamma", "γ"),
    "delta": ("\\delta", "δ"),
    "kappa": ("\\kappa", "κ"),
    "lambda": ("\\lambda", "λ"),
    "mu": ("\\mu", "μ"),
    "nu": ("\\nu", "ν"),
    "phi": ("\\phi", "φ"),
    "pi": ("\\pi", "π"),
    "rho": ("\\rho", "ρ"),
    "sigma": ("\\sigma", "σ"),
    "tau": ("\\tau", "τ"),
    "theta": ("\\theta", "θ"),
}
SYNONYMS = {"rate": "lambda", "shape": "alpha", "weights": "pi", "means": "mu", "variances": "sigma2"}
"""Names the models use for a parameter with a conventional Greek letter (a mixture's π, μ, σ²)."""
HAT = "\u0302"
"""Combining circumflex: 'σ' + HAT is σ̂."""
SUPERSCRIPT_DIGITS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
SUBSCRIPT_DIGITS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_NAME = re.compile(r"^(?P<base>[A-Za-z]+?)(?P<power>2)?(?:\[(?P<index>[0-9, ]+)\])?$")


def _parts(name: str) -> tuple[str, str, str, str] | None:
    """(mathtext symbol, Unicode symbol, power, index) of ``name``, or None for a name of another shape."""
    m = _NAME.match(name)
    if not m:
        return None
    base, power, index = m["base"], m["power"] or "", (m["index"] or "").replace(" ", "")
    if base in SYNONYMS and not power:
        key, power = SYNONYMS[base].rstrip("2"), "2" if SYNONYMS[base].endswith("2") else ""
    else:
        if power and SYNONYMS.get(base, base) not in GREEK:
            base, power = base + power, ""  # 'x2' is a name, not x squared
        key = SYNONYMS.get(base, base)
    tex, uni = GREEK.get(key, (base if len(base) == 1 else f"\\mathrm{{{base}}}", base))
    return tex, uni, power, index


def math_label(name: str, hat: bool = False) -> str:
    """Mathtext for a figure: ``sigma2`` -> ``$\\sigma^2$``, with ``hat`` ``$\\hat{\\sigma}^2$``."""
    parts = _parts(name)
    if parts is None:
        return name
    tex, uni, power, index = parts
    symbol = (f"\\hat{{{tex}}}" if len(uni) == 1 else f"\\widehat{{{tex}}}") if hat else tex
    return f"${symbol}{f'_{{{index}}}' if index else ''}{f'^{power}' if power else ''}$"


def text_label(name: str, hat: bool = False) -> str:
    """Unicode for the report: ``sigma2`` -> ``σ²``, with ``hat`` ``σ̂²``; ``beta[1]`` -> ``β₁`` (``β̂₁``)."""
    parts = _parts(name)
    if parts is None:
        return name
    _, uni, power, index = parts
    if hat and len(uni) == 1:
        uni += HAT
    elif hat:
        uni = f"{uni}-hat"  # no letter to put a hat on (no model has such a name: see SYNONYMS)
    return f"{uni}{index.translate(SUBSCRIPT_DIGITS)}{power.translate(SUPERSCRIPT_DIGITS)}"
