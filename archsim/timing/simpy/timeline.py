"""One SimPy helper: make an event others already wait on happen ``delay`` cycles from now."""
from __future__ import annotations

import simpy
from simpy.events import NORMAL


def fire_at(env: simpy.Environment, event: simpy.Event, delay: float) -> None:
    """Succeed ``event`` after ``delay`` cycles: what ``env.timeout`` does for a new event, done for an
    existing one (the consumers already hold it), so a delivery costs one scheduled event, not a timeout
    plus a succeed. Uses the same two fields ``simpy.Timeout.__init__`` sets."""
    event._ok = True
    event._value = None
    env.schedule(event, NORMAL, delay)
