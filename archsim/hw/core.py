"""A layer's cores: how long a work item holds them, and the SimPy process that runs a layer.

An item (sample n, layer l, timestep t) runs on all cores of l at once, each core on its own channels;
the fullest core (``max_share`` of the channels) sets the pace, so per-core work = layer work x
max_share. In cycles:

- compute = the slowest of: the PE array (accumulates / accumulates_per_cycle + MACs / macs_per_cycle),
  the weight SRAM (its word reads over its banks, sram.py) and the spike buffer (each core reads every
  input spike); plus the first access's read latency;
- update = the neuron sweep: neurons / updates_per_cycle, or the potential SRAM's read+write words over
  its banks when that is slower, plus its read and write latency;
- an item holds its cores for compute + update (integrate, then fire); a layer with spilled weights also
  books the shared off-chip channel for its spilled reads, overlapped with compute.

TTFS (Quartz) items: T is 1 and an item is a layer's whole window of ``window_steps`` (= 4 t_max - 4)
steps; the neurons are time-driven, so each step sweeps them (``update / window_steps`` cycles), and the
input spikes arrive during the t_max steps of the input phase, so a step takes
max(sweep, compute / t_max) cycles and the item window_steps such steps. Outputs leave during steps
[2(t_max-1), 3(t_max-1)] of the producer's window and must land in steps [t_max-1, 2(t_max-1)] of the
consumer's, so a consumer may start ``lead`` cycles after its producer started (see ``ttfs_lead``),
not after it ended: layers overlap, as in Quartz.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import simpy

from archsim.config import HwConfig
from archsim.counts import ItemCounts, ceil_div, words
from archsim.hw.offchip import transfer_cycles
from archsim.hw.timeline import fire_at
from archsim.hw.sram import with_latency
from archsim.mapping import Mapping, window_steps
from archsim.workload import Workload


@dataclass
class CoreTiming:
    """Cycles per item, all int64 [N, L', T]."""
    compute: np.ndarray
    update: np.ndarray
    offchip: np.ndarray        # cycles on the shared off-chip channel (spilled weight reads)
    held: np.ndarray           # cycles the item holds its cores when the off-chip channel is free
    step: np.ndarray | None    # TTFS: cycles per window step [N, L'] (None otherwise)
    t_max: int                 # TTFS t_max (0 otherwise)


def core_timing(hw: HwConfig, mapping: Mapping, counts: ItemCounts, wl: Workload) -> CoreTiming:
    c, a = hw.core, counts.actions
    shape = a["accumulates"].shape
    compute = np.zeros(shape, dtype=np.int64)
    update = np.zeros(shape, dtype=np.int64)
    for li, name in enumerate(mapping.order):
        place = mapping.layers[name]
        top, ch, k = max(place.channels_per_core), place.channels, len(place.cores)
        pe = ceil_div(a["accumulates"][:, li] * top, ch * c.pe_array.accumulates_per_cycle) \
            + ceil_div(a["macs"][:, li] * top, ch * c.pe_array.macs_per_cycle)
        ws = with_latency(ceil_div(a["weight_reads"][:, li] * top, ch * c.weight_sram.banks),
                          c.weight_sram.read_latency_cycles)
        sb = with_latency(ceil_div(a["spike_buffer_reads"][:, li], k * c.spike_buffer.banks),
                          c.spike_buffer.read_latency_cycles)
        compute[:, li] = np.maximum(np.maximum(pe, ws), sb)
        sweep = ceil_div(a["neuron_updates"][:, li] * top, ch * c.neuron_unit.updates_per_cycle)
        pot = with_latency(ceil_div((a["potential_reads"][:, li] + a["potential_writes"][:, li]) * top,
                                    ch * c.potential_sram.banks),
                           c.potential_sram.read_latency_cycles + c.potential_sram.write_latency_cycles)
        update[:, li] = np.maximum(sweep, pot)
    spilled_accesses = (words(c.weight_sram.port_bits, a["weight_spill_words"], hw.offchip.access_bits)
                        if hw.offchip is not None else np.zeros(shape, dtype=np.int64))
    offchip = transfer_cycles(spilled_accesses, hw)
    if wl.kind == "ttfs":
        steps, t_max = window_steps(wl), int(wl.meta["t_max"])
        step = np.maximum(ceil_div(update[:, :, 0], steps), ceil_div(compute[:, :, 0], t_max))
        held = (step * steps)[:, :, None]
        return CoreTiming(compute, update, offchip, held, step, t_max)
    return CoreTiming(compute, update, offchip, compute + update, None, 0)


def ttfs_lead(step_src: np.ndarray, step_dst: np.ndarray, t_max: int) -> np.ndarray:
    """Cycles after the producer's window starts at which the consumer's window may start, so that the
    producer's output steps [2(t_max-1), 3(t_max-1)] land in the consumer's input steps
    [t_max-1, 2(t_max-1)]: start_c + (t_max-1) s_c >= start_p + 2(t_max-1) s_p and
    start_c + 2(t_max-1) s_c >= start_p + 3(t_max-1) s_p."""
    d = t_max - 1
    return np.maximum(np.maximum(2 * d * step_src - d * step_dst, 3 * d * step_src - 2 * d * step_dst), 0)


class CoreGroup:
    """The cores of one layer (or one core shared by several layers). They work in lockstep on one item
    at a time, so the group is a first-come-first-served lock of capacity 1.

    Why not ``simpy.Resource``: it schedules an event for every request and every release (three events
    and ~15 us of Python per item, a quarter of a VGG16 run); this lock schedules one only when an item
    must wait for the cores, with the same order of service."""

    def __init__(self, env: simpy.Environment, index: int, cores: tuple[int, ...]):
        self.env, self.index, self.cores = env, index, cores
        self.taken = False
        self.queue: deque = deque()
        self.busy = 0.0          # cycles held (computing or stalled on a full downstream buffer)

    def acquire(self):
        """Take the cores: None when they were free (taken now), else an event that fires when they are
        handed over."""
        if not self.taken:
            self.taken = True
            return None
        ev = simpy.Event(self.env)
        self.queue.append(ev)
        return ev

    def release(self) -> None:
        if self.queue:
            self.queue.popleft().succeed()     # handed straight to the next in line
        else:
            self.taken = False

    def run(self, chip, n: int, li: int):
        """Process: layer ``li`` of sample ``n``, one item per timestep, until the sample stops.

        Waits for its inputs (the image, the producers' spikes, and in wait mode the controller's
        decision on the previous timestep), takes the cores, computes, reserves room in the consumers'
        spike buffers (stalling while they are full), releases the cores and sends the spikes."""
        env, lay = self.env, chip.layers[li]
        held = chip.held[n][li]
        offc = chip.offchip_cycles[n][li] if lay.spills else None
        delivered, decided, image_ready = chip.delivered[n], chip.decided[n], chip.image_ready[n]
        first, gate, sink, ttfs = lay.first, lay.first and chip.gate, lay.sink, chip.ttfs
        in_edges, in_buffers = lay.in_edges, lay.in_buffers
        speculate, exited, ran = chip.speculate, chip.exited, chip.ran[n]
        exit_t = chip.exit_t[n]
        t_end = chip.max_t if speculate else exit_t
        timeout = env.timeout
        for t in range(t_end):
            if first:
                if t == 0:
                    yield image_ready
                elif gate:
                    yield decided[t - 1]
            for e in in_edges:
                yield delivered[e][t]
            if speculate and exited[n]:
                return
            wait = self.acquire()
            if wait is not None:
                yield wait
            if speculate and exited[n]:
                self.release()
                return
            grant = env.now
            if ttfs:
                yield from lay.emit(chip, n, t, grant, delivered)
            if offc is not None and offc[t]:       # spilled weights stream in while the PEs work
                start, comp = env.now, int(chip.timing.compute[n, li, t])
                end = max(start + comp, chip.offchip.reserve(offc[t])) + held[t] - comp
                yield timeout(end - start)
            else:
                yield timeout(held[t])
            ran[li] = t + 1
            for buf, spikes in in_buffers:
                buf.consume(n, spikes[n][t])
            if not ttfs:
                waits = lay.reserve(n, t)
                if waits:
                    t0 = env.now
                    for ev in waits:
                        yield ev
                    lay.stall += env.now - t0
            self.release()
            self.busy += env.now - grant
            if not ttfs:
                lay.send(chip, n, t, delivered)
            if sink:
                known = env.now
                if chip.adaptive and t < chip.max_t - 1:
                    known = chip.controller.reserve()
                    if chip.gate:
                        fire_at(env, decided[t], known - env.now)
                if t + 1 == exit_t:
                    if known > env.now:
                        yield timeout(known - env.now)
                    chip.retire(n)
                    return
