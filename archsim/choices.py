"""The names a user may write for the exit policy and the modes, defined once.

The run command (``--exit-policy``, ``--mode``), the hwconfig (``controller.policy``, ``controller.mode``)
and the sweep file (``exit.policy``, ``mode``) all import them from here, so a new policy or mode is one
edit; the trainer (snn/) reads the exit-policy names and defaults through archsim.exit_policy. Nothing else lives here: importing it costs nothing (``archsim --help`` stays fast).
"""
from __future__ import annotations

# Exit policies the controller applies (archsim.exit_policy).
POLICIES = ("fixed", "entropy", "confidence")
# Written for controller.policy / controller.threshold in a hwconfig: use what the workload records it
# was calibrated with (meta.exit_policy / meta.threshold, written by snn.export).
FROM_WORKLOAD = "from_workload"
# When neither the command line, the hwconfig nor the workload names one (archsim.simulate.resolve_policy).
DEFAULT_POLICY = "entropy"
DEFAULT_THRESHOLD = 0.9
# The trainer's threshold per adaptive policy where none is given or calibrated (snn.train's per-timestep
# report, snn.evaluate without --calibrate, snn.export / snn.nir / snn.gpu_bench without --threshold).
# Not the simulator's default above: a workload records the threshold it was exported with (meta.threshold),
# and a run uses that one unless told otherwise.
THRESHOLD_BY_POLICY = {"entropy": 0.8, "confidence": 0.9}
# How a run is simulated: discrete-event (SimPy) or closed-form.
MODES = ("simpy", "analytic")
# What the early-exit controller does while a decision is pending.
CONTROLLER_MODES = ("wait", "speculate")
