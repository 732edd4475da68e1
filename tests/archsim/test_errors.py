"""Bad input: one line on stderr, exit status 2, no traceback, nothing half-written (via subprocess)."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from archsim.synthetic import synthetic_workload
from archsim.workload import save_workload

from .conftest import ROOT, TINY_RAW, set_dotted


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "archsim", "run", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd or ROOT, timeout=120)


def assert_one_line_error(proc, *needles):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error: ")
    for needle in needles:
        assert needle in err, err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    good_wl = save_workload(d / "tiny.npz", synthetic_workload("tiny", 4, 2, classes=4))
    good_hw = d / "hw.yaml"
    good_hw.write_text(yaml.safe_dump(TINY_RAW))
    return d, good_hw, good_wl


def write_hw(d: Path, name: str, **overrides) -> Path:
    raw = copy.deepcopy(TINY_RAW)
    for k, v in overrides.items():
        set_dotted(raw, k, v)
    p = d / name
    p.write_text(yaml.safe_dump(raw))
    return p


def test_good_files_run(files):
    d, hw, wl = files
    proc = run_cli(hw, wl, "--json", "--mode", "analytic")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["images"] == 4


def test_missing_hwconfig(files):
    d, hw, wl = files
    assert_one_line_error(run_cli(d / "nope.yaml", wl), "nope.yaml", "no such file")


def test_missing_workload(files):
    d, hw, wl = files
    assert_one_line_error(run_cli(hw, d / "nope.npz"), "nope.npz", "no such workload file")


def test_malformed_yaml(files):
    d, hw, wl = files
    bad = d / "malformed.yaml"
    bad.write_text("name: x\ncore: [1, 2\n  clock: 3\n")
    assert_one_line_error(run_cli(bad, wl), "malformed.yaml", "malformed YAML", "line")


def test_unknown_key(files):
    d, hw, wl = files
    raw = copy.deepcopy(TINY_RAW)
    raw["core"]["weight_sram"]["sizekib"] = 3
    p = d / "unknown.yaml"
    p.write_text(yaml.safe_dump(raw))
    assert_one_line_error(run_cli(p, wl), "core.weight_sram.sizekib", "unknown key")


def test_missing_key(files):
    d, hw, wl = files
    raw = copy.deepcopy(TINY_RAW)
    del raw["router"]["flit_bits"]
    p = d / "missing.yaml"
    p.write_text(yaml.safe_dump(raw))
    assert_one_line_error(run_cli(p, wl), "router.flit_bits", "missing key")


@pytest.mark.parametrize("field, value", [("core.weight_sram.size_kib", -4), ("core.potential_sram.banks", 0),
                                          ("clock_mhz", 0), ("mesh.rows", -1)])
def test_negative_or_zero_sizes(files, field, value):
    d, hw, wl = files
    p = write_hw(d, "neg.yaml", **{field: value})
    assert_one_line_error(run_cli(p, wl), field, "greater than 0")


def test_network_that_cannot_fit(files, tmp_path):
    d, hw, wl = files
    # conv1's potentials: 256 neurons x 16 bits x 2 images (+ the stored input current) = 2 KiB; one
    # channel alone (64 neurons x 16 bits x 2 x 2) is 0.5 KiB > a 0.25 KiB potential SRAM
    p = write_hw(d, "nofit.yaml", **{"core.potential_sram.size_kib": 0.25, "core.potential_sram.banks": 1})
    out = tmp_path / "out"
    assert_one_line_error(run_cli(p, wl, "--out", out), "cannot fit", "potential")
    assert not out.exists()


def test_weights_without_offchip_cannot_fit(files):
    d, hw, wl = files
    p = write_hw(d, "nooff.yaml", **{"offchip": None, "core.weight_sram.size_kib": 0.125, "core.weight_sram.banks": 1})
    assert_one_line_error(run_cli(p, wl), "cannot fit", "no off-chip memory")


def test_energy_table_missing_an_action(files):
    d, hw, wl = files
    table = yaml.safe_load((ROOT / "hwconfigs/energy/45nm.yaml").read_text())
    del table["components"]["router"]["actions"]["hop"]
    t = d / "noaction.yaml"
    t.write_text(yaml.safe_dump(table))
    p = write_hw(d, "tablehw.yaml", energy_table=str(t))
    assert_one_line_error(run_cli(p, wl), "noaction.yaml", "components.router.actions.hop", "missing action 'hop'")


def test_truncated_npz(files):
    d, hw, wl = files
    data = Path(wl).read_bytes()
    t = d / "truncated.npz"
    t.write_bytes(data[: len(data) // 2])
    assert_one_line_error(run_cli(hw, t), "truncated.npz")


def test_not_an_npz(files):
    d, hw, wl = files
    t = d / "text.npz"
    t.write_text("spikes,1,2,3\n")
    assert_one_line_error(run_cli(hw, t), "text.npz", "not an .npz")


def test_npz_that_needs_pickle(files):
    d, hw, wl = files
    arrays = dict(np.load(wl))
    arrays["labels"] = np.array([{"a": 1}] * 4, dtype=object)
    p = d / "pickle.npz"
    np.savez(p, **arrays)
    assert_one_line_error(run_cli(hw, p), "pickle")


def _rewrite(src: Path, dst: Path, **changes) -> Path:
    with np.load(src) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(changes)
    np.savez(dst, **arrays)
    return dst


def test_graph_and_counts_disagree(files):
    d, hw, wl = files
    spikes = np.load(wl)["spikes"]
    p = _rewrite(wl, d / "layers.npz", spikes=spikes[:, :-1, :])
    assert_one_line_error(run_cli(hw, p), "spikes", "layers")


def test_spikes_on_a_non_spiking_layer(files):
    d, hw, wl = files
    spikes = np.load(wl)["spikes"].copy()
    spikes[:, -1, :] = 1                   # fc is the non-spiking output integrator
    p = _rewrite(wl, d / "fcspikes.npz", spikes=spikes)
    assert_one_line_error(run_cli(hw, p), "fc", "disagree")


def test_negative_counts(files):
    d, hw, wl = files
    spikes = np.load(wl)["spikes"].copy()
    spikes[0, 1, 0] = -3
    p = _rewrite(wl, d / "negative.npz", spikes=spikes)
    assert_one_line_error(run_cli(hw, p), "negative")


def test_nan_counts(files):
    d, hw, wl = files
    spikes = np.load(wl)["spikes"].astype(np.float64)
    spikes[0, 1, 0] = np.nan
    p = _rewrite(wl, d / "nan.npz", spikes=spikes)
    assert_one_line_error(run_cli(hw, p), "spikes")
    scores = np.load(wl)["score_entropy"].copy()
    scores[1, 0] = np.nan
    p = _rewrite(wl, d / "nanscore.npz", score_entropy=scores)
    assert_one_line_error(run_cli(hw, p), "score_entropy", "NaN")


def test_bad_command_line(files):
    d, hw, wl = files
    assert_one_line_error(run_cli(hw, wl, "--exit-policy", "entropy", "--timesteps", "2"), "--timesteps")
    assert_one_line_error(run_cli(hw, wl, "--exit-policy", "fixed", "--timesteps", "9"), "timesteps")
    assert_one_line_error(run_cli(hw, wl, "--threshold", "1.5"), "threshold")
    assert_one_line_error(run_cli(hw, wl, "--samples", "0"), "--samples")


def test_zip_without_arrays(files):
    d, hw, wl = files
    p = d / "empty.npz"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("readme.txt", "hello")
    assert_one_line_error(run_cli(hw, p), "empty.npz")


# ---- issue 18: every bad input names its file and field, before anything runs ----------------------

def test_typo_in_a_required_key_names_it_and_suggests(files):
    d, hw, wl = files
    raw = copy.deepcopy(TINY_RAW)
    raw["core"]["weight_sram"]["size_kb"] = raw["core"]["weight_sram"].pop("size_kib")
    p = d / "typo.yaml"
    p.write_text(yaml.safe_dump(raw))
    proc = run_cli(p, wl)
    assert_one_line_error(proc, "core.weight_sram.size_kb: unknown key 'size_kb'", "(did you mean 'size_kib'?)")
    assert "more problem" not in proc.stderr          # the missing size_kib is that same typo


def test_typo_in_a_section_name(files):
    d, hw, wl = files
    raw = copy.deepcopy(TINY_RAW)
    raw["contoller"] = raw.pop("controller")
    p = d / "section.yaml"
    p.write_text(yaml.safe_dump(raw))
    assert_one_line_error(run_cli(p, wl), "contoller", "(did you mean 'controller'?)")


def test_duplicate_yaml_key(files):
    d, hw, wl = files
    text = yaml.safe_dump(TINY_RAW, sort_keys=False)
    p = d / "dup.yaml"
    p.write_text(text.replace("clock_mhz: 100\n", "clock_mhz: 100\nclock_mhz: 400\n"))
    assert_one_line_error(run_cli(p, wl), "dup.yaml: clock_mhz:", "given twice (lines 2 and 3)")


@pytest.mark.parametrize("field, value, needle", [("clock_mhz", 0.2, "clock_mhz: 0.2 is outside"),
                                                  ("offchip.bandwidth_gbps", 12800, "bandwidth_gbps: 12800 is outside")])
def test_legal_but_unusual_values_warn_in_one_line(files, field, value, needle):
    d, hw, wl = files
    p = write_hw(d, "odd.yaml", **{field: value})
    proc = run_cli(p, wl, "--json", "--mode", "analytic")
    assert proc.returncode == 0, proc.stderr
    warn = [line for line in proc.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warn) == 1 and needle in warn[0] and str(p) in warn[0], proc.stderr
    assert json.loads(proc.stdout)["images"] == 4


def test_copy_of_default_outside_hwconfigs_finds_its_energy_table(files, tmp_path):
    d, hw, wl = files
    copy_ = tmp_path / "mine.yaml"
    copy_.write_text((ROOT / "hwconfigs" / "default.yaml").read_text())
    proc = run_cli(copy_, wl, "--json", "--mode", "analytic")
    assert proc.returncode == 0, proc.stderr
    raw = yaml.safe_load(copy_.read_text())
    raw["energy_table"] = "energy/7nm.yaml"
    bad = tmp_path / "nowhere.yaml"
    bad.write_text(yaml.safe_dump(raw))
    assert_one_line_error(run_cli(bad, wl), "nowhere.yaml: energy_table", "looked beside the hwconfig",
                          "repository's hwconfigs/")


def test_directory_as_hwconfig(files):
    d, hw, wl = files
    assert_one_line_error(run_cli(d, wl), str(d), "is a directory")


def test_samples_beyond_the_workload(files):
    d, hw, wl = files
    assert_one_line_error(run_cli(hw, wl, "--samples", "5000"), "tiny.npz: --samples",
                          "5000 asked for, but the workload holds only 4 samples")


@pytest.mark.parametrize("out", ["/proc/x", "FILE"])
def test_bad_out_refused_before_simulating(files, tmp_path, out):
    d, hw, wl = files
    if out == "FILE":
        out = tmp_path / "a_file"
        out.write_text("keep me")
    # the workload does not even exist: --out is checked first, before anything is loaded or simulated
    proc = run_cli(hw, d / "nope.npz", "--out", out)
    assert_one_line_error(proc, "--out")
    assert "simulating" not in proc.stderr
    if out != "/proc/x":
        assert out.read_text() == "keep me"


def test_fan_out_that_disagrees_with_synapses(files):
    d, hw, wl = files
    graph = json.loads(str(np.load(wl)["graph_json"]))
    edge = next(e for e in graph["edges"] if e["source"] == "conv1")
    edge["fan_out"] *= 100
    p = _rewrite(wl, d / "fanout.npz", graph_json=np.array(json.dumps(graph)))
    assert_one_line_error(run_cli(hw, p), "fanout.npz", "edges[conv1->conv2].fan_out",
                          "disagrees with synapses / source neurons")
