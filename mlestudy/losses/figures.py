"""The chapter's figure: gradient descent on cross-entropy against squared error, from the curves table.

One row per (scenario, n): the excess loss f(beta_t) - f(beta-hat) and the
gradient norm against the step, each loss's mean over replications as a line
and its 10-90% quantiles as a band.  Drawn from ``gradient_curves.csv`` alone,
so the figure shows exactly what the table holds.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from ..atomic import write_atomic  # noqa: E402

COLOURS = dict(zip(("cross_entropy", "squared_error"), sns.color_palette("colorblind", 2), strict=True))
LABELS = {"cross_entropy": "cross-entropy (Bernoulli likelihood)", "squared_error": "squared error"}
FLOOR = 1e-16
"""Excess losses below this (rounding once a run has reached its minimiser) are drawn at it."""
PANELS = {
    "excess": r"excess loss  $f(\beta_t) - f(\hat\beta)$",
    "gradient": r"gradient norm  $\Vert\nabla f(\beta_t)\Vert$",
}


def gradient_figure(curves: pd.DataFrame, path: str | Path) -> None:
    """Draw the curves table to ``path`` (PNG); one empty panel saying so if it has no rows."""
    sns.set_theme(style="whitegrid", context="paper")
    groups = list(curves.groupby(["scenario", "n"], sort=True)) if len(curves) else []
    rows = max(1, len(groups))
    fig, axes = plt.subplots(rows, 2, figsize=(10, 2.8 * rows), squeeze=False)
    if not groups:
        for ax in axes[0]:
            ax.text(0.5, 0.5, "no logistic-regression scenario in this run", ha="center", va="center")
            ax.set_axis_off()
    for row, ((scenario, n), frame) in zip(axes, groups, strict=False):
        for col, (what, label) in enumerate(PANELS.items()):
            ax = row[col]
            for loss, part in frame.groupby("loss", sort=True):
                c = COLOURS.get(loss)
                clip = lambda s: s.clip(lower=FLOOR)  # noqa: E731
                ax.fill_between(
                    part["step"],
                    clip(part[f"{what}_q10"]),
                    clip(part[f"{what}_q90"]),
                    color=c,
                    alpha=0.25,
                    lw=0,
                )
                ax.plot(
                    part["step"],
                    clip(part[f"{what}_mean"]),
                    color=c,
                    lw=1.6,
                    label=f"{LABELS.get(loss, loss)}",
                )
            ax.set_xscale("symlog", linthresh=10)
            ax.set_yscale("log")
            ax.set_xlim(left=0)
            ax.set_xlabel("step (step size 1/L)")
            ax.set_ylabel(label)
            ax.set_title(f"{scenario}, n = {n}", fontsize=9)
            if col == 0:
                ax.legend(fontsize=7, frameon=False, title="mean; band 10–90%", title_fontsize=7)
    fig.tight_layout()
    write_atomic(path, lambda p: fig.savefig(p, format="png", dpi=110))
    plt.close(fig)
