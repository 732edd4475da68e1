"""The README's archsim commands, run as written on a fresh copy of the repository, so they stay true.

Every concrete ``archsim`` command line in README.md's code blocks (and the Makefile's ``make run``) runs in a
temporary folder holding what a fresh clone has: the committed hwconfigs, sweep files, GPU logs, workloads
and results/sweeps, and nothing else (no runs/, no results/run_*). Lines with placeholders (``WORKLOAD.npz``,
``GPU_LOG``, ``[--flag ...]``, a scheduler address) are skipped. Where a command is long, the data is made
small, never the command: the big workloads are cut to their first samples and the sweep files to a few
samples per point. ``make run`` runs on the full small_c10 workload (a few seconds) and must reproduce the
README's ATSNN row.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
# archsim spelled as the README spells it -> how this test runs it (the environment's python)
LAUNCHERS = (("archsim",), (".venv/bin/archsim",), ("python", "-m", "archsim"), (".venv/bin/python", "-m", "archsim"))
PLACEHOLDER = re.compile(r"\[|\b[A-Z][A-Z0-9_]{2,}\b(?!\.yaml)|SOME_|HOST")
SKIP_SUBCOMMANDS = {"validate"}   # SANA-FE validation: its own tests (tests/archsim/test_validate_sanafe.py)
SMALL = {"workloads/synthetic_vgg16.npz": 60, "workloads/small_c10_quartz.npz": 60,
         "workloads/small_c10_rate.npz": 40}  # vgg16_c10.npz stays whole: make run runs all of it
SWEEP_SAMPLES = 20
UJ = {"uJ": 1.0, "mJ": 1000.0}


def readme_commands(text: str) -> list[list[str]]:
    """Concrete archsim command lines of the README's fenced and indented code blocks, as argv lists."""
    lines, blocks, fenced = text.splitlines(), [], False
    for line in lines:
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.startswith("    "):
            blocks.append(line.strip())
    joined, buf = [], ""
    for line in blocks:
        buf = (buf + " " + line) if buf else line
        if buf.endswith("\\"):
            buf = buf[:-1].rstrip()
            continue
        joined.append(buf)
        buf = ""
    out = []
    for cmd in joined:
        cmd = cmd.removeprefix("$ ")
        try:
            words = shlex.split(cmd, comments=True)
        except ValueError:
            continue
        for launcher in LAUNCHERS:
            if tuple(words[:len(launcher)]) == launcher and len(words) > len(launcher):
                args = words[len(launcher):]
                if args[0] not in SKIP_SUBCOMMANDS and not PLACEHOLDER.search(" ".join(args)):
                    out.append(args)
                break
    return out


def made_by_the_readme(text: str) -> set[str]:
    """Workloads that a README command writes (``--workload-out X.npz``, or ``snn.export ... --out X.npz``):
    big and regenerable ones are not committed, and the README shows the command that makes them first."""
    return set(re.findall(r"--(?:workload-)?out\s+(workloads/\S+\.npz)", text))


def make_run_command() -> list[str]:
    text = (REPO / "Makefile").read_text()
    block = text.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    line = next(ln.strip() for ln in block.splitlines()[1:] if "archsim" in ln)
    words = shlex.split(line)
    first = words[0].replace("$(BIN)/", ".venv/bin/")
    for launcher in LAUNCHERS:
        if tuple([first, *words[1:]][:len(launcher)]) == launcher:
            return words[len(launcher):]
    raise AssertionError(f"make run does not run archsim: {line}")


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """What a fresh clone holds (tracked files only), with the long workloads and sweeps made small."""
    root = tmp_path_factory.mktemp("clone")
    tracked = subprocess.run(["git", "ls-files", "hwconfigs", "gpu_logs", "workloads", "results/sweeps"],
                             cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for rel in tracked:
        src = REPO / rel
        if src.is_file():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, root / rel)
    from archsim.workload import load_workload, save_workload
    for rel, n in SMALL.items():
        if (root / rel).exists():
            wl = load_workload(root / rel)
            (root / rel).unlink()
            save_workload(root / rel, wl.subset(min(n, wl.n_samples)))
    for sweep in (root / "hwconfigs" / "sweeps").glob("*.yaml"):
        raw = yaml.safe_load(sweep.read_text())
        raw.setdefault("fixed", {})["samples"] = SWEEP_SAMPLES
        sweep.write_text(yaml.safe_dump(raw, sort_keys=False))
    assert not (root / "runs").exists()
    return root


def run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "archsim", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_readme_names_its_commands():
    cmds = readme_commands((REPO / "README.md").read_text())
    subs = {c[0] for c in cmds}
    assert {"run", "sweep", "pareto", "compare-gpu"} <= subs, cmds
    assert len(cmds) >= 8


def test_make_run_reproduces_the_readme_row(clone):
    """`make run`: the full workload at the policy it was calibrated with, and the figures the README gives
    for it ("... so it reproduces the ... row (X uJ/image, Y timesteps, Z FPS)")."""
    claim = re.search(r"reproduces\s+the[^()]*row\s+\(([\d,.]+)\s+(uJ|mJ)/image,\s+([\d.]+)\s+timesteps,\s+([\d,.]+)\s+FPS\)",
                      (REPO / "README.md").read_text())
    assert claim, "the README no longer states what make run gives"
    uj = float(claim.group(1).replace(",", "")) * UJ[claim.group(2)]
    steps, fps = float(claim.group(3)), float(claim.group(4).replace(",", ""))
    args = make_run_command()
    r = run(args, clone)
    assert r.returncode == 0, r.stderr
    from archsim.workload import load_workload
    meta = load_workload(clone / args[2]).meta     # make run: run HWCONFIG WORKLOAD ...
    assert f"exit policy {meta['exit_policy']} >= {meta['threshold']:g} (the workload's calibrated one)" in r.stdout
    assert float(re.search(r"Timesteps\s+([\d.]+) average", r.stdout).group(1)) == pytest.approx(steps, abs=0.005)
    e = re.search(r"total, ([\d.]+) (uJ|mJ) per image", r.stdout)
    energy = float(e.group(1)) * UJ[e.group(2)]
    got_fps = float(re.search(r"Throughput\s+([\d.]+) FPS", r.stdout).group(1))
    assert (round(energy), round(got_fps)) == (round(uj), round(fps)), r.stdout[:600]
    out = Path(args[args.index("--out") + 1])
    assert (clone / out / "per_layer.png").is_file()


def test_every_readme_command_works_on_a_fresh_clone(clone):
    text = (REPO / "README.md").read_text()
    made = {w for w in made_by_the_readme(text) if not (clone / w).exists()}
    cmds = [c for c in readme_commands(text) if not made & set(c)]
    before = {p: p.read_bytes() for p in (clone / "results" / "sweeps").rglob("*") if p.is_file()}
    failures = []
    for args in cmds:
        r = run(args, clone)
        if r.returncode != 0:
            failures.append(f"archsim {shlex.join(args)}\n  -> exit {r.returncode}: {r.stderr.strip()[-600:]}")
        elif "Traceback" in r.stderr:
            failures.append(f"archsim {shlex.join(args)}\n  -> a traceback on stderr")
    assert not failures, "\n".join(failures)
    # the sweeps wrote under runs/ (git-ignored), never into the committed results
    assert (clone / "runs" / "sweeps" / "exit_x_sram" / "results.csv").is_file()
    after = {p: p.read_bytes() for p in (clone / "results" / "sweeps").rglob("*") if p.is_file()}
    changed = [str(p.relative_to(clone)) for p in before if after.get(p) != before[p]]
    assert not changed, changed
    # nothing machine-specific in what a sweep writes
    for resolved in (clone / "runs").rglob("sweep.resolved.yaml"):
        assert str(clone) not in resolved.read_text() and str(REPO) not in resolved.read_text()
