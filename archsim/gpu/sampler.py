"""Sample a GPU's power in a background thread, writing the CSV that nvidia-smi writes.

The file is exactly what ``nvidia-smi --query-gpu=timestamp,power.draw,utilization.gpu,memory.used
--format=csv -lms 100`` writes, so every nvidia-smi reader reads it::

    timestamp, power.draw [W], utilization.gpu [%], memory.used [MiB]
    2025/06/01 12:00:00.000, 71.23 W, 0 %, 512 MiB

Timestamps are the host's local clock with milliseconds (``format_time``); a reading NVML refuses is
written ``[N/A]``, as nvidia-smi does. A *source* is anything with ``read() -> (power_w, utilization_pct,
memory_mib)`` and ``energy_mj() -> int | None``: ``NvmlSource`` is the real one (nvidia-ml-py); tests pass a
fake. Nothing here needs torch.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

from archsim.errors import UserError
from archsim.gpu.formats import NVSMI_HEADER, NVSMI_TIME_FORMAT

MIN_HZ = 10.0


def format_time(when: datetime) -> str:
    """``2025/06/01 12:00:00.123``: nvidia-smi's timestamp (local time, milliseconds)."""
    return when.strftime(NVSMI_TIME_FORMAT)[:-3]


def format_row(when: datetime, power_w: float | None, util_pct: int | None, mem_mib: int | None) -> str:
    """One CSV row in nvidia-smi's layout; None becomes ``[N/A]``."""
    p = f"{power_w:.2f} W" if power_w is not None else "[N/A]"
    u = f"{int(util_pct)} %" if util_pct is not None else "[N/A]"
    m = f"{int(mem_mib)} MiB" if mem_mib is not None else "[N/A]"
    return f"{format_time(when)}, {p}, {u}, {m}"


class NvmlSource:
    """One GPU through NVML (nvidia-ml-py's ``pynvml``): power (mW -> W), utilisation, memory, energy counter."""

    def __init__(self, index: int = 0, uuid: str | None = None):
        try:
            import pynvml
        except ImportError:
            raise UserError("nvml", "pynvml", "nvidia-ml-py is not installed (pip install nvidia-ml-py)") from None
        self.nv = pynvml
        try:
            pynvml.nvmlInit()
            self.handle = None
            if uuid:
                try:
                    self.handle = pynvml.nvmlDeviceGetHandleByUUID(uuid)
                except pynvml.NVMLError:
                    self.handle = None
            if self.handle is None:
                self.handle = pynvml.nvmlDeviceGetHandleByIndex(int(index))
            name = pynvml.nvmlDeviceGetName(self.handle)
        except pynvml.NVMLError as err:
            raise UserError("nvml", "init", f"cannot open GPU {index} through NVML ({err})") from None
        self.name = name.decode() if isinstance(name, bytes) else str(name)
        self.index = int(index)

    def read(self) -> tuple[float | None, int | None, int | None]:
        nv, h = self.nv, self.handle
        out = []
        for get in (lambda: nv.nvmlDeviceGetPowerUsage(h) / 1000.0,
                    lambda: nv.nvmlDeviceGetUtilizationRates(h).gpu,
                    lambda: nv.nvmlDeviceGetMemoryInfo(h).used // (1 << 20)):
            try:
                out.append(get())
            except nv.NVMLError:
                out.append(None)
        return tuple(out)

    def energy_mj(self) -> int | None:
        """NVML's total-energy counter (mJ since the driver loaded); None where unsupported."""
        try:
            return int(self.nv.nvmlDeviceGetTotalEnergyConsumption(self.handle))
        except self.nv.NVMLError:
            return None

    def close(self) -> None:
        try:
            self.nv.nvmlShutdown()
        except self.nv.NVMLError:
            pass


class PowerSampler:
    """Background thread: every ``1/hz`` s, ``source.read()`` -> one CSV row in ``path`` (flushed)."""

    def __init__(self, source, path: str | Path, hz: float = 20.0):
        if not hz >= MIN_HZ:
            raise UserError("command line", "sample-hz", f"must be >= {MIN_HZ:g} Hz, got {hz}")
        self.source, self.path, self.period = source, Path(path), 1.0 / float(hz)
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._file = None

    def start(self) -> "PowerSampler":
        try:
            self._file = open(self.path, "w")
        except OSError as err:
            raise UserError(str(self.path), "power-log", f"cannot write ({err.strerror or err})") from None
        self._file.write(NVSMI_HEADER + "\n")
        self._sample()  # the first row before start() returns
        self._thread = threading.Thread(target=self._loop, name="power-sampler", daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        now = datetime.now()
        self._file.write(format_row(now, *self.source.read()) + "\n")
        self._file.flush()
        self.samples += 1

    def _loop(self) -> None:
        due = time.perf_counter()
        while True:
            due += self.period
            if self._stop.wait(max(0.0, due - time.perf_counter())):
                break
            self._sample()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._file is not None:
            self._sample()  # the last row after the run
            self._file.close()
            self._file = None

    def __enter__(self) -> "PowerSampler":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
