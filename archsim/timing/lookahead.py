"""How far each placed layer may run ahead of the exit controller's decisions (``controller.mode`` and
``controller.speculate_layers``): one rule, read by every timing backend (simpy/, replay.py, analytic.py).

Why one module: the SimPy chip, the replay and the analytic formula must gate the same items on the same
decisions, or ``--mode analytic`` answers a different question than ``run`` (design notes: "fast modes
must share semantics with the slow one").

The rule, per placed layer l (the mapping's order, which is the graph's: the first K are the K nearest
the input), as a *lag*: item (l, t) of a sample may start only once the decision on timestep t - lag is
known.

- ``wait`` (K = 0): lag 1 for every layer: timestep t+1 waits for the decision on t.
- ``speculate`` with ``speculate_layers: K``: lag 2 for the first K layers (they may start t+1 while the
  decision on t is pending, but not t+2), lag 1 for the rest. So at most K items per sample run past the
  last decision, and at most one timestep past the exit (the first K layers' timestep ``exit_t``).
- ``speculate`` unbounded (null): no lag (None): every layer runs on up to the last timestep until the
  sample leaves.

A layer waits for the decision itself (``explicit``) only when nothing it reads already implies it: it
reads the image (a first layer), or a producer with a looser rule. A layer whose producers all have a
lag <= its own gets its inputs only after their items started, hence after that decision (a sample's
decisions come in timestep order). This keeps ``wait`` exactly as it was: only the first layers wait on
the controller; with ``mapping.input: cores`` the input-neuron layer reads nothing and waits on nothing
(as before this rule existed).
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from archsim import graph as lg


@dataclass(frozen=True)
class Lookahead:
    lag: list[int | None]       # per placed layer: (l, t) waits for the decision on t - lag (None: never)
    explicit: list[bool]        # per placed layer: it waits on that decision itself (else its inputs imply it)
    gated: bool                 # some layer waits on decisions (adaptive policy, bounded speculation)

    def past_exit(self, li: int) -> bool:
        """Layer ``li`` may run items past its sample's exit (speculative work, wasted and counted)."""
        return self.lag[li] != 1

    def t_end(self, li: int, exit_t: int, max_t: int) -> int:
        """How many timesteps of a sample layer ``li`` may run at most (``exit_t``: 1-based exit): the
        decision at the exit says stop, so a layer of lag k runs at most k - 1 timesteps past it."""
        lag = self.lag[li]
        return max_t if lag is None else min(exit_t + lag - 1, max_t)


def lookahead(layers_ahead: int | None, g: nx.DiGraph, order: list[str], adaptive: bool) -> Lookahead:
    """The rule for a chip whose controller lets ``layers_ahead`` layers run ahead (archsim.hwconfig's
    ``Controller.layers_ahead``: 0 = wait, None = unbounded) on the placed layers ``order`` of graph ``g``.
    ``adaptive``: the exit policy decides (a fixed-T run has no decisions to wait for)."""
    if layers_ahead is None:
        lag: list[int | None] = [None] * len(order)
    else:
        lag = [2 if i < layers_ahead else 1 for i in range(len(order))]
    li_of = {name: i for i, name in enumerate(order)}
    gated = adaptive and layers_ahead is not None

    def looser(p: str, own: int) -> bool:
        if p not in li_of:                  # the image (read from off-chip): no decision behind it
            return p == lg.INPUT
        return lag[li_of[p]] is None or lag[li_of[p]] > own

    explicit = [gated and any(looser(p, lag[i]) for p in g.predecessors(name)) for i, name in enumerate(order)]
    return Lookahead(lag, explicit, gated)
