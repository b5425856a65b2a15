"""Every registered model keeps the contract: prefix property per stream, fits with SEs, theory shapes."""

from __future__ import annotations

import numpy as np
import pytest

from mlestudy.models import model_types
from mlestudy.seeding import block_streams, design_seed
from mlestudy.simulate import simulate_columns

MODELS = sorted(model_types())


def bound(name: str, fixed: bool = False):
    kind = model_types()[name]
    design = dict(kind.example["design"])
    if fixed:
        design["fixed"] = True
    return kind(kind.example["params"], design, design_seed(3, name))


@pytest.mark.parametrize("name", MODELS)
def test_example_is_a_valid_config(name: str) -> None:
    kind = model_types()[name]
    assert kind.check_config(kind.example["params"], kind.example["design"]) == []


@pytest.mark.parametrize("name", MODELS)
def test_a_range_cut_anywhere_reproduces_the_same_rows(name: str) -> None:
    """Per-stream prefix property: any cut, also inside a batch and across threads, gives the same bits."""
    model = bound(name)
    n = 25
    opts = {"seed": 9, "scenario": name, "n": n}
    whole = simulate_columns(model, first=0, stop=12_000, **opts)
    rows = model.batch_rows(n)
    for cut in sorted({1, rows - 1, rows + 1, 10_001}):
        left = simulate_columns(model, first=0, stop=cut, **opts)
        right = simulate_columns(model, first=cut, stop=12_000, threads=2, **opts)
        for key, column in whole.items():
            np.testing.assert_array_equal(
                np.concatenate([left[key], right[key]]), column, err_msg=f"{key} @ {cut}"
            )


@pytest.mark.parametrize("name", MODELS)
def test_draw_consumes_the_streams_exactly_as_sample(name: str) -> None:
    """The fast path (draw) and raw data (sample + reduce) leave the streams in the same state."""
    model = bound(name)
    a = block_streams(1, name, 12, 0, model.streams)
    b = block_streams(1, name, 12, 0, model.streams)
    fast = model.draw(a, 12, 40)
    slow = model.reduce(model.sample(b, 12, 40), 12)
    for key in fast:
        np.testing.assert_allclose(fast[key], slow[key], rtol=1e-12, atol=1e-12, err_msg=key)
    for stream in model.streams:
        assert a[stream].bit_generator.state == b[stream].bit_generator.state, stream


@pytest.mark.parametrize("name", MODELS)
def test_fits_theory_and_information_have_the_contract_shapes(name: str) -> None:
    model = bound(name)
    n = 40
    data = model.draw(block_streams(2, name, n, 0, model.streams), n, 50)
    for est in model.estimators.values():
        targets = est.parameters(model)
        assert set(targets) <= set(model.parameter_names)
        fit = est.fit(model, data, n)
        assert set(fit.values) == set(fit.se) == set(targets)
        assert fit.status.shape == (50,) and fit.status.dtype == np.int8
        for p in targets:
            assert fit.values[p].shape == fit.se[p].shape == (50,)
            assert np.isfinite(est.approximate_bias(model, p, n)) or np.isnan(
                est.approximate_bias(model, p, n)
            )
    info = model.information(n)
    k = len(model.information_parameters)
    assert info.shape == (k, k)
    np.testing.assert_allclose(info, info.T, rtol=1e-10, atol=1e-12)
    assert np.linalg.eigvalsh(info).min() > 0
    crlb = model.crlb(n)
    assert list(crlb) == list(model.parameter_names) and all(v > 0 for v in crlb.values())


@pytest.mark.parametrize("name", [m for m in MODELS if "regression" in m])
def test_a_fixed_design_is_one_design_for_every_replication(name: str) -> None:
    model = bound(name, fixed=True)
    raw = model.sample(block_streams(2, name, 20, 0, model.streams), 20, 3)
    np.testing.assert_array_equal(raw["x"][0], raw["x"][2])
    np.testing.assert_array_equal(raw["x"][0], model.fixed_design(20))
