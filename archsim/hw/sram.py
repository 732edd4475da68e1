"""SRAM bank timing.

A core's SRAMs are word-interleaved over ``banks`` single-ported banks, each doing one ``port_bits``
access per cycle. The access streams of a work item are sequential (a spike reads its weight block, the
neuron unit sweeps the potentials, the spike buffer is a FIFO), so they spread evenly over the banks;
a bank conflict is then the stream needing more accesses per cycle than there are banks, which
stretches the item to ``ceil(accesses / banks)`` cycles. Banks are private to a core and a core runs
one item at a time, so banks never contend *across* items: that is why they are a formula here and not
SimPy resources (one Resource per bank per item would multiply the event count for no new behaviour).
"""
from __future__ import annotations

import numpy as np

from archsim.config import Sram


def bank_cycles(accesses: np.ndarray, sram: Sram) -> np.ndarray:
    """Cycles to serve ``accesses`` port-wide accesses on one core's banks (int64, 0 for none)."""
    a = np.asarray(accesses, dtype=np.float64)
    return np.ceil(a / sram.banks - 1e-9).astype(np.int64)


def with_latency(cycles: np.ndarray, latency_cycles: int) -> np.ndarray:
    """Add the pipeline fill of the first access to streams that access the SRAM at all."""
    return np.where(cycles > 0, cycles + latency_cycles, 0)
