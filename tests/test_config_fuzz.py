"""Property-based fuzzing of config validation.

Whatever a user writes, validation either returns a study that every job can
run, or raises ConfigError with readable problems: never another exception.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlestudy.config import MAX_SAMPLE_SIZE, ConfigError, validate
from mlestudy.families import registry
from mlestudy.seeding import BLOCK_SIZE

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)

VALID_SCENARIO = {
    "name": "s",
    "family": "normal",
    "params": {"mu": 1.0, "sigma2": 2.0},
    "sample_sizes": [2, 5],
    "replications": 100,
}
SCENARIO_KEYS = [*VALID_SCENARIO, "estimators", "chunk_size", "ci_level", "description", "bogus"]


@st.composite
def scenarios(draw) -> dict:
    """A valid scenario with a few keys replaced, deleted or added."""
    sc = dict(VALID_SCENARIO)
    sc["family"] = draw(st.sampled_from([*registry(), "nope"]))
    for key in draw(st.lists(st.sampled_from(SCENARIO_KEYS), max_size=3)):
        action = draw(st.sampled_from(["replace", "delete"]))
        if action == "delete":
            sc.pop(key, None)
        else:
            sc[key] = draw(values)
    if draw(st.booleans()):
        sc["params"] = draw(
            st.dictionaries(st.sampled_from(["mu", "sigma2", "p", "rate", "x"]), values, max_size=3)
        )
    return sc


configs = st.fixed_dictionaries(
    {"seed": st.one_of(st.integers(-5, 2**63), values), "scenarios": st.lists(scenarios(), max_size=3)},
    optional={"ci_level": values, "chunk_size": values, "check_replications": values, "extra": values},
)


def assert_runnable(study) -> None:
    """Everything a job relies on holds for an accepted config."""
    names = [s.name for s in study.scenarios]
    assert len(names) == len(set(names)) and study.scenarios
    for sc in study.scenarios:
        fam = sc.family_obj
        assert set(sc.params) == set(fam.parameter_names)
        assert all(fam.parameter(k).contains(v) for k, v in sc.params.items())
        assert sc.sample_sizes and all(
            isinstance(n, int) and 1 <= n <= MAX_SAMPLE_SIZE for n in sc.sample_sizes
        )
        assert isinstance(sc.replications, int) and sc.replications >= 2
        assert sc.chunk_size % BLOCK_SIZE == 0 and 0 < sc.ci_level < 1 and math.isfinite(sc.ci_level)
        assert set(sc.estimators) <= {e.name for e in fam.estimators}
        assert sc.chunks()[0][0] == 0 and sc.chunks()[-1][1] == sc.replications


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs)
def test_validation_never_crashes(config: dict) -> None:
    try:
        study = validate(config)
    except ConfigError as error:
        assert error.problems and all(isinstance(p, str) and p for p in error.problems)
    else:
        assert_runnable(study)


@settings(max_examples=200, deadline=None)
@given(values)
def test_any_top_level_value_is_handled(config) -> None:
    try:
        validate(config)
    except ConfigError as error:
        assert error.problems
