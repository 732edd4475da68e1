"""Re-make the twelve one-line changes of issue 21 that the suite used to miss, and show which test kills
each one now (tests/MUTATION.md). Not collected by pytest (slow-ish: ~1 minute).

    .venv/bin/python tests/check_issue21_mutants.py          # run from the repository root

Each change is applied to a copy of the repository in a temporary folder (the work tree is not touched),
the named tests are run there, and the change counts as killed when they fail.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (what the issue says, file, the line as it is, the line as the change makes it, the tests that must fail)
CHANGES = [
    ("an item holds its cores for max(compute, update) instead of their sum", "archsim/cycles.py",
     "return CoreTiming(compute, update, offchip, compute + update, None, 0)",
     "return CoreTiming(compute, update, offchip, np.maximum(compute, update), None, 0)",
     ["tests/archsim/test_timing_hand.py::test_cycles_per_item_by_hand"]),
    ("the potential-SRAM bandwidth limit dropped (read-modify-write during compute)", "archsim/cycles.py",
     "compute[:, li] = np.maximum(np.maximum(pe, ws), np.maximum(sb, rmw))",
     "compute[:, li] = np.maximum(np.maximum(pe, ws), sb)",
     ["tests/archsim/test_timing_hand.py::test_cycles_per_item_by_hand"]),
    ("accuracy read at the last timestep instead of the exit timestep", "archsim/exit_policy.py",
     "pred = wl.predictions[np.arange(wl.n_samples), plan.exit_t - 1]",
     "pred = wl.predictions[:, -1]",
     ["tests/archsim/test_accuracy_hand.py::test_accuracy_is_read_at_each_samples_exit"]),
    ("off-chip width scaling dropped (every access priced as 64 bits)", "archsim/energy.py",
     "return per_bit * hw.offchip.access_bits",
     "return per_bit * 64",
     ["tests/archsim/test_energy_widths.py::test_every_price_row_by_hand"]),
    ("spilled words not converted to off-chip accesses", "archsim/counts.py",
     'acts["offchip_reads"][:, li, :] += words(c.weight_sram.port_bits, spill, hw.offchip.access_bits)',
     'acts["offchip_reads"][:, li, :] += spill',
     ["tests/archsim/test_energy_widths.py::test_spilled_words_become_off_chip_accesses_of_the_channels_width"]),
    ("link static power multiplied by the number of cores", "archsim/energy.py",
     'out.update(link=t["link"].static_mw * n_links * scale,',
     'out.update(link=t["link"].static_mw * n_links * n_cores * scale,',
     ["tests/archsim/test_energy_widths.py::test_static_energy_by_component_by_hand"]),
    ("off-chip writes priced as reads", "archsim/energy.py",
     'per_bit = dram.read_pj_per_bit if row.action == "read" else dram.write_pj_per_bit',
     "per_bit = dram.read_pj_per_bit",
     ["tests/archsim/test_energy_widths.py::test_every_price_row_by_hand"]),
    ("the multi-GPU integration window widened to each GPU's whole span", "archsim/gpu/integrate.py",
     "a, b = max(start_s, t[0] if start_s < lo else start_s), min(end_s, t[-1] if end_s > hi else end_s)",
     "a, b = min(start_s, t[0]), max(end_s, t[-1])",
     ["tests/gpu/test_integrate_numpy.py::test_two_gpus_each_equal_numpy"]),
    ("the TET loss with misaligned labels", "snn/losses.py",
     "return F.cross_entropy(out.flatten(0, 1), y.repeat(T))",
     "return F.cross_entropy(out.flatten(0, 1), y.repeat_interleave(T))",
     ["tests/snn/test_losses_batch.py::test_tet_pairs_each_output_with_its_own_label"]),
    ("random crop silently turned off", "snn/data.py",
     "    if pad > 0:\n        xp = torch.nn.functional.pad",
     "    if False:\n        xp = torch.nn.functional.pad",
     ["tests/snn/test_augment_seeded.py::test_crop_and_flip_equal_numpy_with_the_same_draws"]),
    ("shuffling silently turned off", "snn/data.py",
     "order = torch.randperm(n, generator=gen) if shuffle else torch.arange(n)",
     "order = torch.arange(n)",
     ["tests/snn/test_augment_seeded.py::test_shuffle_follows_the_seeded_permutation"]),
    ("the input image written to one core's spike buffer instead of every core that reads it", "archsim/counts.py",
     "sb_writes[:, 0] += px_words * k",
     "sb_writes[:, 0] += px_words",
     ["tests/archsim/test_timing_hand.py::test_first_layer_on_two_cores_by_hand"]),
]


def pytest_in(copy: Path, tests: list[str], show: bool = False) -> int:
    env = dict(os.environ, PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
                       cwd=copy, env=env, capture_output=True, text=True)
    if show and r.returncode:
        print(r.stdout[-3000:], r.stderr[-2000:])
    return r.returncode


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="issue21-"))
    copy = tmp / "repo"
    top = {".venv", "mutants", ".git", "data", "results", "runs", "models", ".hypothesis", ".pytest_cache"}

    def ignore(folder, names):      # big or generated top-level folders, and byte code anywhere
        return [n for n in names if n == "__pycache__" or (Path(folder) == ROOT and n in top)]
    shutil.copytree(ROOT, copy, ignore=ignore)
    failed = 0
    try:
        all_tests = sorted({t for *_, tests in CHANGES for t in tests})
        if pytest_in(copy, all_tests, show=True) != 0:
            print("the killing tests fail on the unchanged code: fix them first")
            return 1
        for what, rel, old, new, tests in CHANGES:
            path = copy / rel
            text = path.read_text()
            assert text.count(old) == 1, f"{rel}: the line to change is not there once: {old!r}"
            path.write_text(text.replace(old, new))
            try:
                killed = pytest_in(copy, tests) != 0
            finally:
                path.write_text(text)
            failed += not killed
            print(f"{'killed  ' if killed else 'SURVIVED'} {what}  <- {', '.join(tests)}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
