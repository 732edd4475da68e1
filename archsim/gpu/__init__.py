"""GPU power logs: measure a GPU's energy on a test set and hold the accelerator against it (Table 3).

One concept per module:

- ``formats``   read a power log in whatever format a tool wrote it (nvidia-smi CSV, gpu_bench CSV/JSON,
                Zeus, CodeCarbon, a wide one-column-per-GPU CSV) into one tidy timeline ``time_s, power_w,
                gpu, segment`` and the runs/windows it holds: a package, one module per format (``sniff`` +
                ``read``), one registry; docs/gpu_log_formats.md lists what is read and what refused;
- ``integrate`` what to integrate (the whole log, every run and window once; a run, a window, a span)
                and its trapezoid energy, idle power kept or subtracted;
- ``compare``   the Table-3-style comparison of an archsim summary JSON with a power log;
- ``plot``      the power timeline with the window marked, and the two energies side by side;
- ``sampler``   the background NVML sampler gpu_bench uses, writing nvidia-smi's CSV layout;
- ``sample``    synthetic power profiles for the committed SAMPLE log and for tests (never a measurement);
- ``cli``       ``python -m archsim compare-gpu``.

Measuring is ``python -m snn.gpu_bench`` (it needs torch; nothing here does).
"""
