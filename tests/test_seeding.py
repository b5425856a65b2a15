"""Tests of the keyed-stream seeding: results must not depend on how work is cut up."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlestudy.families import get_family
from mlestudy.seeding import BLOCK_SIZE, block_rng, block_seed, blocks_of, scenario_key
from mlestudy.simulate import iter_data, simulate_range

THETA = {
    "normal": {"mu": 5.0, "sigma2": 4.0},
    "exponential": {"rate": 0.5},
    "bernoulli": {"p": 0.7},
    "poisson": {"rate": 3.0},
}
FAMILIES = sorted(THETA)
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("n", [1, 7])
def test_sample_prefix_property(name, n):
    """Rows drawn in several calls from one generator equal the rows of one call.

    Block seeding relies on this: a job drawing rows in cache-sized batches
    must see the same numbers as one drawing the block at once.
    """
    fam = get_family(name)
    whole_rng = np.random.default_rng(11)
    whole = fam.sample(whole_rng, THETA[name], (100, n))
    split_rng = np.random.default_rng(11)
    parts = [fam.sample(split_rng, THETA[name], (rows, n)) for rows in (1, 10, 37, 52)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    # Both generators are left in the same state, so later rows agree too.
    assert split_rng.bit_generator.state == whole_rng.bit_generator.state


@pytest.mark.parametrize("name", [*FAMILIES, "gamma"])
@pytest.mark.parametrize("n", [1, 2, 9, 300])
def test_draw_statistics_is_statistics_of_sample(name, n):
    """The in-place hot path draws the same data as sample() and reduces it alike.

    Same stream consumed (the generators end in the same state) and the same
    statistics up to rounding (the hot path reduces standardised draws).
    """
    fam = get_family(name)
    theta = THETA.get(name, {"shape": 2.5, "rate": 1.5})
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    expected = fam.statistics(fam.sample(a, theta, (64, n)))
    got = fam.draw_statistics(b, theta, np.empty((64, n)))
    assert a.bit_generator.state == b.bit_generator.state
    assert set(got) == set(expected)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-12, atol=1e-12 * n)


def _sim(name: str, n: int, first: int, stop: int, **kw) -> pd.DataFrame:
    opts = {"seed": 99, "scenario": f"split-{name}", **kw}
    return simulate_range(get_family(name), THETA[name], n=n, first=first, stop=stop, **opts)


B = BLOCK_SIZE
SPLITS = {
    "aligned": [0, B, 3 * B],
    "unaligned": [0, B // 2, 3 * B],
    "three-ragged": [0, B + 234, 3 * B - 1, 3 * B],
}
SAMPLERS_OF = {name: ["data", "sufficient"] if get_family(name).has_sufficient_sampler else ["data"]
               for name in FAMILIES}  # fmt: skip


@pytest.mark.parametrize(("name", "sampler"), [(f, s) for f in FAMILIES for s in SAMPLERS_OF[f]])
@pytest.mark.parametrize("n", [3, 100])  # n = 100: batches of 655 rows cut across blocks
@pytest.mark.parametrize("split", list(SPLITS))
def test_simulate_range_split_is_bit_identical(name, sampler, n, split):
    """Any partition of [0, 3 blocks) into ranges reproduces the single run bit for bit."""
    whole = _sim(name, n, 0, 3 * B, sampler=sampler)
    cuts = SPLITS[split]
    parts = [_sim(name, n, a, b, sampler=sampler) for a, b in itertools.pairwise(cuts)]
    joined = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole, check_exact=True)
    np.testing.assert_array_equal(whole["replication"].to_numpy(), np.arange(3 * B))


@pytest.mark.parametrize(("name", "sampler"), [("exponential", "data"), ("normal", "sufficient")])
def test_more_replications_only_append(name, sampler):
    """Raising R keeps the first R estimates, even from a partial block."""
    short = _sim(name, 5, 0, B + B // 2, sampler=sampler)
    long = _sim(name, 5, 0, 4 * B, sampler=sampler)
    pd.testing.assert_frame_equal(long.iloc[: len(short)], short, check_exact=True)


@pytest.mark.parametrize("threads", [2, 3])
def test_threads_do_not_change_results(threads):
    """Blocks drawn concurrently are reassembled in order: same bits as one thread."""
    one = _sim("normal", 7, B // 3, 4 * B + 17)
    many = _sim("normal", 7, B // 3, 4 * B + 17, threads=threads)
    pd.testing.assert_frame_equal(many, one, check_exact=True)


def test_schema_chunk_size_is_a_whole_number_of_blocks():
    """The schema's chunk granularity is the seeding block (two copies of one number)."""
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    for where in (schema["properties"], schema["$defs"]["scenario"]["properties"]):
        assert where["chunk_size"]["multipleOf"] == BLOCK_SIZE


def test_iter_data_covers_range_contiguously():
    """iter_data yields consecutive replication indices covering exactly [first, stop)."""
    fam = get_family("normal")
    seen = []
    for start, raw in iter_data(fam, THETA["normal"], seed=1, scenario="s", n=200, first=250, stop=2610):
        x = raw["x"]
        assert x.shape[1] == 200
        seen.extend(range(start, start + x.shape[0]))
    assert seen == list(range(250, 2610))


def test_estimator_subset_columns():
    """Asking for a subset of estimators returns only their columns, same values."""
    full = _sim("normal", 4, 0, 1000)
    sub = _sim("normal", 4, 0, 1000, estimators=["unbiased"])
    assert list(sub.columns) == ["replication", "unbiased.sigma2", "unbiased.status", "unbiased.se.sigma2"]
    pd.testing.assert_frame_equal(sub, full[sub.columns], check_exact=True)


def _first_draws(seed: int, scenario: str, n: int, block: int) -> np.ndarray:
    return block_rng(seed, scenario, n, block).random(8)


@pytest.mark.parametrize(
    "other",
    [(2, "coin", 5, 0), (1, "coin2", 5, 0), (1, "Coin", 5, 0), (1, "coin", 6, 0), (1, "coin", 5, 1)],
    ids=["seed", "name", "name-case", "n", "block"],
)
def test_keys_give_different_streams(other):
    """Changing the seed, scenario name, n or block changes the stream."""
    assert not np.array_equal(_first_draws(1, "coin", 5, 0), _first_draws(*other))


def test_same_key_same_stream():
    """The stream depends on the key only, not on when or how often it is created."""
    np.testing.assert_array_equal(_first_draws(1, "coin", 5, 3), _first_draws(1, "coin", 5, 3))
    assert block_seed(1, "coin", 5, 3).spawn_key == (*scenario_key("coin"), 5, 3)


def test_simulations_of_different_scenarios_differ():
    """Two scenarios with identical settings but different names get independent data."""
    a = _sim("normal", 5, 0, 1000, scenario="a")
    b = _sim("normal", 5, 0, 1000, scenario="b")
    assert not np.any(a["mle.mu"].to_numpy() == b["mle.mu"].to_numpy())


def test_scenario_key_is_stable():
    """Regression guard: the key of a name must never change, or every result changes."""
    assert scenario_key("coin") == (1268294067, 2916659616, 2177408383, 3704216031)
    key = scenario_key("a-much-longer-scenario-name_with_digits_0123456789")
    assert len(key) == 4 and all(0 <= w < 2**32 for w in key)


def test_blocks_of():
    """Blocks touched by a replication range, including empty and ragged ranges."""
    assert BLOCK_SIZE == 10_000
    assert list(blocks_of(0, 0)) == []
    assert list(blocks_of(5, 5)) == []
    assert list(blocks_of(0, B)) == [0]
    assert list(blocks_of(0, B + 1)) == [0, 1]
    assert list(blocks_of(B - 1, B)) == [0]
    assert list(blocks_of(B, 3 * B)) == [1, 2]
    assert list(blocks_of(B + B // 2, 2 * B + B // 2)) == [1, 2]


def test_poisson_totals_do_not_wrap_round():
    """Counts near numpy's limit sum in float64: an int64 total would wrap to a negative rate."""
    fam = get_family("poisson")
    stats = fam.draw_statistics(np.random.default_rng(1), {"rate": 1e18}, np.empty((3, 10)))
    np.testing.assert_allclose(stats["total"], 1e19, rtol=1e-6)


@pytest.mark.parametrize(
    "values",
    [np.array([True, False, True, True, False, False, False, True, True]), np.array([1.5, 2.5, np.nan], ">f8"),
     np.arange(5, dtype=np.int8), np.array([0.5, np.nan, np.inf])],
    ids=["bool", "big-endian", "int8", "float64"],
)  # fmt: skip
def test_arrow_arrays_round_trip(values):
    """The zero-copy Arrow path keeps values exactly; types it cannot view are converted."""
    from mlestudy.estimates_io import arrow_array

    back = arrow_array(values).to_numpy(zero_copy_only=False)
    np.testing.assert_array_equal(back, values)
