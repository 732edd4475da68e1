"""The SimPy model of the accelerator: one module per block of the block diagram.

Granularity: one SimPy process step per **work item** (sample, layer, timestep) on the layer's cores,
never per spike. An item's cycles come from its action counts (archsim.counts) through the pure
formulas of archsim.cycles (shared with the analytic mode); SimPy adds what a formula cannot: contention for cores, links, the off-chip channel and the controller, back-pressure from full
spike buffers, the layer/timestep wavefront, image pipelining and the hardware freed by an early exit.

  core.py        a layer's cores: a FIFO lock (or useful work before speculative work)
  layer.py       a placed layer at run time and the process that runs it for one sample
  buffer.py      spike buffers between cores, with a capacity: back-pressure and stall cycles
  router.py      the XY mesh: link reservations, multicast, credit-limited link throughput
  offchip.py     the off-chip channel, first come first served
  controller.py  the early-exit controller, first come first served
  kernel.py      SimPy's event queue driven leanly: one-shot events, processes, the run loop
  rows.py        a sample's cycles and spikes as Python lists, converted a block at a time
  chip.py        assembles the blocks, streams the images through, returns the trace; ``schedule``,
                 this backend's entry (archsim.timing)

What is a SimPy object and what is not, and why: the image slots are a ``simpy.Resource``; every
process step waits on ``simpy`` events. Blocks whose service time is known when they are asked (links,
the off-chip channel, the controller) are reservation tables (busy-until, first come first served),
which is exactly what a FIFO ``simpy.Resource`` would do without its events; the cores, whose hold time
is not known in advance (stalls on full buffers), are a FIFO lock that schedules an event only when an
item must wait; SRAM banks are a bandwidth formula (archsim.cycles.bank_cycles) because they are
private to a core that runs one item at a time. Measured on the VGG16 workload: with ``simpy.Resource`` cores, off-chip channel and
controller and ``simpy.Container`` spike buffers the model ran about 28,000 items per CPU-second; as
built here, about 85,000 (a 10,000-image run is ~470,000 items, plus its fixed-T baseline).
"""
from archsim.timing.simpy.chip import schedule, schedule_plans  # noqa: F401 - the backend's entries (archsim.timing.BACKENDS)
