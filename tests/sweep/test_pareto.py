"""Pareto fronts: a known front by hand, and the defining property on random data."""
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from archsim.sweep.pareto import front, pareto_mask


def test_known_front_energy_down_fps_up():
    df = pd.DataFrame({
        "energy_per_image_j": [1.0, 2.0, 3.0, 2.5, 1.0, 4.0],
        "fps":                [10., 20., 30., 15., 10., 29.],
        "status": ["ok"] * 5 + ["infeasible"],
    })
    mask = front(df, {"energy_per_image_j": "minimize", "fps": "maximize"})
    # rows 0 and 4 are equal: both stay; row 3 is dominated by row 1; row 5 is not feasible.
    assert list(mask) == [True, True, True, False, True, False]


def test_nan_rows_take_no_part():
    df = pd.DataFrame({"a": [1.0, np.nan, 2.0], "b": [1.0, 0.0, 0.5]})
    assert list(front(df, {"a": "minimize", "b": "minimize"})) == [True, False, True]


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 40), st.integers(1, 3)),
              elements=st.integers(0, 6).map(float)),
       st.lists(st.booleans(), min_size=3, max_size=3))
def test_front_is_exactly_the_undominated_set(values, maximize):
    maximize = maximize[: values.shape[1]]
    mask = pareto_mask(values, maximize)
    v = values * np.where(maximize, -1.0, 1.0)
    dominated = [any((v[j] <= v[i]).all() and (v[j] < v[i]).any() for j in range(len(v)))
                 for i in range(len(v))]
    assert list(mask) == [not d for d in dominated]
    assert mask.any()
