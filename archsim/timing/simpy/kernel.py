"""A lean way to drive SimPy's event queue: the chip's own one-shot events, processes without
``simpy.Process``, and a tight run loop.

Why: in a 10,000-image VGG16 run (about a million work items, three events each) SimPy's generic
machinery was most of the time: ``Environment.step`` per event, ``Process._resume`` with its failure
handling, an ``Initialize`` event to start each of the 280,000 layer processes and a termination event
when each ends (which no one waits on), a ``simpy.Timeout`` or ``simpy.Event`` object per wait. The
chip's events never fail, carry no value and are never interrupted, so the chip keeps SimPy's queue
(``env._queue``: (time, priority, event id, event), served in that order) and its clock, and:

- :class:`Signal` is a one-shot event with nothing but its callbacks (``None`` once processed, as a
  SimPy event's); :func:`fire` schedules it ``delay`` cycles from now with NORMAL priority, exactly the
  queue entry ``simpy.Timeout(env, delay)`` or ``env.schedule(event, NORMAL, delay)`` makes;
- :class:`Proc` resumes a generator with the bare loop of ``Process._resume`` (send, then wait on the
  yielded event unless it has been processed) and schedules nothing when the generator ends;
- :func:`start` starts several processes with ONE urgent event whose callbacks start them in order:
  the same order as one ``Initialize`` each, because those would be consecutive in the queue (nothing
  can be scheduled between them) and urgent events run before any normal one at the same time;
- :func:`run` pops the queue and calls the callbacks, as ``Environment.step`` does, in one loop.

Every event that can change the chip's state gets the same (time, priority) as before and its id in
the same order, so SimPy's order of service is unchanged and results are identical (the SimPy
resource that admits images, ``simpy.Resource``, runs on the same queue as before).
"""
from __future__ import annotations

from heapq import heappop, heappush

import simpy
from simpy.events import NORMAL, URGENT


class Signal:
    """A one-shot event: the processes waiting on it (``callbacks``), ``None`` once it has happened."""
    __slots__ = ("callbacks",)

    def __init__(self):
        self.callbacks = []


def fire(env: simpy.Environment, event, delay) -> None:
    """Make ``event`` (a :class:`Signal` no one has fired) happen ``delay`` cycles from now."""
    heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), event))


class Proc:
    """A generator driven by events: it runs until it yields an event not yet processed, and goes on when
    that event is processed (the queue calls ``resume``). Events' values are not passed in. (No
    reference to itself, so a finished process is freed at once, not left to the garbage collector.)"""
    __slots__ = ("gen",)

    def __init__(self, gen):
        self.gen = gen

    def resume(self, _event=None) -> None:
        send = self.gen.send
        while True:
            try:
                event = send(None)
            except StopIteration:
                return
            callbacks = event.callbacks
            if callbacks is not None:            # not yet processed: go on when it is
                callbacks.append(self.resume)
                return


def start(env: simpy.Environment, gens) -> None:
    """Start the generators ``gens`` as processes, in order, before any normal event of this cycle (one
    urgent event, where ``env.process`` would schedule one ``Initialize`` per generator)."""
    ev = Signal()
    ev.callbacks = [Proc(gen).resume for gen in gens]
    heappush(env._queue, (env._now, URGENT, next(env._eid), ev))


class Pause(Exception):
    """Raised by the event :func:`pause` schedules: :func:`run` returns, the queue as it is."""


def _pause(_event) -> None:
    raise Pause


def pause(env: simpy.Environment) -> None:
    """Make :func:`run` return before it processes any other event: an event ahead of everything queued
    (priority below URGENT, at this cycle) whose callback stops the loop. It changes no other event's
    place in the order; :func:`run` goes on from there when called again."""
    ev = Signal()
    ev.callbacks.append(_pause)
    heappush(env._queue, (env._now, URGENT - 1, next(env._eid), ev))


def run(env: simpy.Environment) -> None:
    """Process the scheduled events in SimPy's order (``Environment.run()``; the chip's events never fail,
    so there is no failure to raise) until none is left or a :func:`pause` event comes up."""
    queue = env._queue
    try:
        while queue:
            env._now, _, _, event = heappop(queue)
            callbacks, event.callbacks = event.callbacks, None
            for callback in callbacks:
                callback(event)
    except Pause:
        pass
