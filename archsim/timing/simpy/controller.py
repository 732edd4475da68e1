"""The early-exit controller: one unit shared by all samples, first come, first served.

After the output layer finishes timestep t of a sample, the controller scores the accumulated output
(``decision_cycles``) and says continue or stop. What it will say is known from the stored scores
(archsim.exit_policy); *when* it says it is what the simulation decides. In ``wait`` mode the sample's
first layer starts t+1 only after the decision; in ``speculate`` mode it does not wait, and the work
done past the exit is wasted (and counted); ``speculate_layers: K`` lets only the first K layers start
t+1 before the decision (archsim.timing.lookahead).

Like the off-chip channel it is a reservation (busy-until): a decision's duration is known when it is
asked for, so this is exactly a FIFO ``simpy.Resource`` of capacity 1, without its events.
"""
from __future__ import annotations

import simpy


class ExitController:
    def __init__(self, env: simpy.Environment, decision_cycles: int):
        self.env = env
        self.decision_cycles = int(decision_cycles)
        self.free_at = 0.0
        self.decisions = 0
        self.busy = 0.0

    def reserve(self) -> float:
        """Book one decision; returns the time it is known."""
        start = max(self.env.now, self.free_at)
        self.free_at = start + self.decision_cycles
        self.decisions += 1
        self.busy += self.decision_cycles
        return self.free_at
