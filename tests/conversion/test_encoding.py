"""Quartz's encoding: a value is a spike time; decoding inverts it up to the 1/(t_max-1) quantisation."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.errors import UserError
from snn.conversion import quartz


@settings(max_examples=60, deadline=None)
@given(t_max=st.integers(2, 128), xs=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20))
def test_round_trip_quantises_to_the_grid(t_max, xs):
    x = torch.tensor(xs, dtype=torch.float64)
    t = quartz.encode(x, t_max)
    assert t.dtype == torch.long
    assert ((t >= t_max - 1) & (t <= 2 * t_max - 2)).all()       # [0, 1] lies in [T-1, 2T-2]
    back = quartz.decode(t, t_max, torch.float64)
    assert (back - x).abs().max() <= 0.5 / (t_max - 1) + 1e-12
    # on the grid the round trip is the identity
    grid = torch.arange(t_max, dtype=torch.float64) / (t_max - 1)
    assert torch.equal(quartz.decode(quartz.encode(grid, t_max), t_max, torch.float64), grid)


def test_fixed_points_and_emitted_shift():
    T = 8
    assert quartz.encode(torch.tensor([1.0, 0.0]), T).tolist() == [T - 1, 2 * T - 2]
    tm = quartz.timing(T)
    assert (tm.window, tm.readout, tm.forced, tm.threshold) == (28, 14, 21, 7.5)
    # a stage emits value 1 at the readout time and value 0 at the forced time
    assert quartz.decode_emitted(torch.tensor([tm.readout, tm.forced]), T).tolist() == [1.0, 0.0]
    # never fired (time = window) decodes below every value a spike in the window can carry
    assert quartz.decode_emitted(torch.tensor([tm.window]), T).item() == -1.0


@pytest.mark.parametrize("bad", [1, 0, -3, 2.5, True])
def test_t_max_below_two_is_refused(bad):
    with pytest.raises(UserError, match="t-max"):
        quartz.timing(bad)
