"""``python -m snn.nir``: event data and MLPs import too; bad input is one line, exit 2, nothing written."""
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

nir = pytest.importorskip("nir")
pytest.importorskip("nirtorch")

from archsim.errors import run_cli  # noqa: E402
from archsim.workload import load_workload  # noqa: E402
from snn.nir.__main__ import main  # noqa: E402
from tests.nir.conftest import chain, conv, full, lif, mixed_graph  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def conv_net(path, c_in=3, hw=16, classes=2):
    """conv 3x3 -> LIF -> AvgPool 4 -> Flatten -> Affine readout."""
    rng = np.random.RandomState(0)
    g = chain(("c1", conv(c_in, 4, (hw, hw), scale=1.0)), ("l1", lif((4, hw, hw), v_threshold=0.5)),
              ("p", nir.AvgPool2d(kernel_size=np.array([4, 4]), stride=np.array([4, 4]), padding=np.array([0, 0]))),
              ("f", nir.Flatten(input_type={"input": np.array([4, hw // 4, hw // 4])}, start_dim=0, end_dim=-1)),
              ("fc", nir.Affine(weight=rng.randn(classes, 4 * (hw // 4) ** 2).astype(np.float32),
                                bias=np.zeros(classes, np.float32))), input_shape=(c_in, hw, hw))
    nir.write(path, g)
    return path


def imp(model, data, out, *extra, dataset="imagefolder", timesteps=3, cache=None):
    return ["import", str(model), "--data-dir", str(data), "--dataset", dataset, "--timesteps", str(timesteps),
            "--out", str(out), "--cache-dir", str(cache or Path(out).parent / "cache"), *extra]


def test_image_import_writes_a_workload_every_policy_can_use(images16, tmp_path):
    assert run_cli(main, imp(conv_net(tmp_path / "m.nir"), images16, tmp_path / "w.npz", "--exit-policy",
                             "confidence", "--threshold", "0.7", "--max-samples", "10")) == 0
    wl = load_workload(tmp_path / "w.npz")
    assert wl.spikes.shape == (10, 3, 3) and wl.layers == ["input", "c1", "fc"]
    assert (wl.spikes[:, 1] > 0).any() and (wl.spikes[:, 0] == 0).all() and (wl.spikes[:, 2] == 0).all()
    assert set(wl.scores) == {"entropy", "confidence"} and wl.meta["exit_policy"] == "confidence"
    assert wl.meta["test_subset"] == "first 10 of that order"
    assert wl.graph.nodes["fc"]["pool"] == 4 and wl.graph.nodes["input"]["neuron"]["model"] == "input"
    assert wl.channel_spikes_mean["c1"].shape == (4, 3)


def test_a_graph_of_every_supported_kind_runs(images16, tmp_path):
    """Strided and grouped convolutions, SumPool/AvgPool, CubaLIF with per-neuron thresholds, an LI
    readout: imported, run, and its two spiking layers recorded."""
    nir.write(tmp_path / "m.nir", mixed_graph(hw=16, classes=2))
    assert run_cli(main, imp(tmp_path / "m.nir", images16, tmp_path / "w.npz")) == 0
    wl = load_workload(tmp_path / "w.npz")
    assert wl.layers == ["input", "c1", "c2", "fc"] and (wl.spikes[:, 1:3].sum(axis=(0, 2)) > 0).all()
    assert wl.spikes[:, 1].max() <= 4 * 8 * 8 and wl.spikes[:, 2].max() <= 8 * 4 * 4
    assert [wl.graph.nodes[n]["neuron"]["model"] for n in wl.layers[1:]] == ["lif", "cuba_lif", "integrator"]


def test_event_data_are_input_spikes(events16, tmp_path):
    assert run_cli(main, imp(conv_net(tmp_path / "m.nir", c_in=2), events16, tmp_path / "w.npz",
                             dataset="events")) == 0
    wl = load_workload(tmp_path / "w.npz")
    assert wl.graph.nodes["input"]["spiking"] and wl.graph.nodes["input"]["shape"] == [2, 16, 16]
    assert (wl.spikes[:, 0].sum(1) == 200).all()          # every generated event is one input spike
    assert wl.meta["normalisation"].startswith("none")


def test_an_mlp_reads_flattened_images(images16, tmp_path):
    rng = np.random.RandomState(0)
    g = chain(("fc1", nir.Linear(weight=rng.randn(8, 768).astype(np.float32) * 0.1)),
              ("if1", nir.IF(r=full(8, 1e4), v_threshold=full(8, 1.0), v_reset=full(8, 0.0))),
              ("fc2", nir.Affine(weight=rng.randn(2, 8).astype(np.float32), bias=np.zeros(2, np.float32))),
              input_shape=(768,))
    nir.write(tmp_path / "mlp.nir", g)
    assert run_cli(main, imp(tmp_path / "mlp.nir", images16, tmp_path / "w.npz", "--normalise", "unit")) == 0
    wl = load_workload(tmp_path / "w.npz")
    assert wl.graph.nodes["input"]["shape"] == [768] and wl.graph.nodes["fc1"]["neuron"]["model"] == "if"
    assert wl.graph.nodes["fc1"]["synapses"] == 768 * 8 and (wl.spikes[:, 1] > 0).any()


def tampered(path, node, kind):
    with h5py.File(path, "r+") as f:
        del f["node"]["nodes"][node]["type"]
        f["node"]["nodes"][node].create_dataset("type", data=kind, dtype=h5py.string_dtype())
    return path


def text_file(path):
    path.write_text("not HDF5")
    return path


def recurrent(path):
    g = nir.read(conv_net(path), type_check=False)
    nir.write(path, nir.NIRGraph(nodes=g.nodes, edges=list(g.edges) + [("l1", "c1")], type_check=False))
    return path


def non_finite(path, node, field, value):
    """conv_net with one value of ``node.field`` made ``value`` (NaN or inf)."""
    g = nir.read(conv_net(path), type_check=False)
    arr = np.array(getattr(g.nodes[node], field), dtype=np.float32)
    arr.reshape(-1)[1] = value
    setattr(g.nodes[node], field, arr)
    nir.write(path, g)
    return path


@pytest.mark.parametrize("make, field, words", [
    (lambda d: d / "absent.nir", "path", "no such NIR file"),
    (lambda d: text_file(d / "x.nir"), "file", "not a NIR file"),
    (lambda d: tampered(conv_net(d / "m.nir"), "l1", "Delay"), "nodes.l1", "node type Delay"),
    (lambda d: recurrent(d / "m.nir"), "nodes.c1", "recurrent input from l1"),
    (lambda d: conv_net(d / "m.nir", classes=3), "nodes.output", "3 outputs"),
    (lambda d: conv_net(d / "m.nir", hw=8), "input shape", "the graph's Input is [3, 8, 8]"),
    (lambda d: non_finite(d / "m.nir", "c1", "weight", np.nan), "nodes.c1.weight",
     "Conv2d node c1: 1 of 108 weight values are NaN or infinite"),
    (lambda d: non_finite(d / "m.nir", "fc", "bias", np.inf), "nodes.fc.bias",
     "Affine node fc: 1 of 2 bias values are NaN or infinite"),
])
def test_bad_models_are_one_line_and_leave_nothing(images16, tmp_path, capsys, make, field, words):
    model = make(tmp_path)
    out = tmp_path / "new" / "w.npz"
    assert run_cli(main, imp(model, images16, out, cache=tmp_path / "cache")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f": {field}: " in err and words in err, err
    assert not (tmp_path / "new").exists()


def test_bad_arguments(images16, tmp_path, capsys):
    model = conv_net(tmp_path / "m.nir")
    (tmp_path / "file").write_text("")
    for argv, words in ((imp(model, images16, tmp_path / "file" / "w.npz"), "not writable"),
                        (imp(model, images16, tmp_path / "w.npz", timesteps=0), "timesteps"),
                        (imp(model, images16, tmp_path / "w.npz", "--dt", "0"), "dt"),
                        (imp(model, images16, tmp_path / "w.npz", "--normalise", "x"), "normalise"),
                        (imp(model, tmp_path / "nodata", tmp_path / "w.npz"), "does not exist"),
                        (["export", str(tmp_path / "none.pt"), "--out", str(tmp_path / "m2.nir")], "does not exist"),
                        (["export", str(model), "--out", str(tmp_path / "m2.nir")], "not a readable checkpoint"),
                        (["frobnicate"], "invalid choice")):
        assert run_cli(main, argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err, err
    assert not (tmp_path / "w.npz").exists() and not (tmp_path / "m2.nir").exists()


def test_the_process_ends_in_one_line_and_status_2(images16, tmp_path):
    model = tampered(conv_net(tmp_path / "m.nir"), "c1", "Threshold")
    r = subprocess.run([sys.executable, "-m", "snn.nir", *imp(model, images16, tmp_path / "o" / "w.npz")],
                       capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    assert "nodes.c1" in r.stderr and "Threshold" in r.stderr
    assert not (tmp_path / "o").exists()
