"""The command lines end to end on the tiny net and generated data: training lowers the loss, --resume
equals an uninterrupted run, export round-trips through archsim's loader, bad input exits 2 on one line."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from archsim.errors import run_cli
from archsim.workload import load_workload
from snn import evaluate as ev
from snn import export as ex
from snn import train as tr
from snn.checkpoint import load_checkpoint, save_checkpoint
from snn.models import build

REPO = Path(__file__).resolve().parents[2]


def train_args(data, out, cache, *extra):
    return ["--arch", "tiny", "--dataset", "imagefolder", "--data-dir", str(data), "--image-size", "16",
            "--timesteps", "3", "--epochs", "2", "--batch-size", "8", "--eval-batch-size", "16", "--lr", "0.05",
            "--num-threads", "1", "--no-progress", "--cache-dir", str(cache), "--out", str(out), *extra]


@pytest.fixture(scope="module")
def trained(image_folder, tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    out = root / "full"
    assert run_cli(tr.main, train_args(image_folder, out, root / "cache")) == 0
    return out, root


def test_training_lowers_the_loss(image_folder, tmp_path):
    torch.manual_seed(0)
    from snn.data import DeviceData, load_dataset
    from snn.losses import make_loss
    d = load_dataset(image_folder, "imagefolder", image_size=16, cache_dir=None)
    data = DeviceData(d.train_x, d.train_y, d.mean, d.std, "cpu")
    m = build("tiny", 2, 3).train()
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    loss_fn = make_loss("atsnn", 3)
    x, y = next(data.batches(48))
    first = None
    for _ in range(15):
        loss = loss_fn(m(x), y)
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        assert float(loss_fn(m(x), y)) < 0.7 * first


def test_train_writes_everything(trained):
    out, _ = trained
    for f in ("config.json", "log.csv", "last.pt", "model.pt", "results.json", "curves.png"):
        assert (out / f).is_file(), f
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["seed"] == 0 and cfg["arch"] == "tiny" and "snn.train" in cfg["command"]
    header = (out / "log.csv").read_text().splitlines()[0].split(",")
    assert {"train_loss", "test_acc_T1", "test_acc_T3", "lr", "images_per_s", "wall_s"} <= set(header)
    res = json.loads((out / "results.json").read_text())
    assert res["epochs_trained"] == 2 and set(res["per_timestep_accuracy"]) == {"T1", "T2", "T3"}
    ck = load_checkpoint(out / "model.pt")
    assert "optimizer" not in ck and (out / "model.pt").stat().st_size < 100_000


def test_resume_equals_uninterrupted(trained, image_folder):
    out, root = trained
    part = root / "part"
    assert run_cli(tr.main, train_args(image_folder, part, root / "cache", "--stop-after", "1")) == 0
    assert len((part / "log.csv").read_text().splitlines()) == 2  # header + epoch 1
    assert run_cli(tr.main, train_args(image_folder, part, root / "cache", "--resume")) == 0
    a, b = load_checkpoint(out / "model.pt")["state_dict"], load_checkpoint(part / "model.pt")["state_dict"]
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_evaluate_and_export_round_trip(trained, image_folder, tmp_path):
    out, root = trained
    assert run_cli(ev.main, [str(out / "model.pt"), "--out", str(tmp_path / "ev"), "--calibrate", "16",
                             "--cache-dir", str(root / "cache"), "--num-threads", "1"]) == 0
    res = json.loads((tmp_path / "ev" / "eval.json").read_text())
    assert set(res["per_timestep_accuracy"]) == {"T1", "T2", "T3"}
    assert (tmp_path / "ev" / "accuracy_vs_timesteps.png").is_file() and (tmp_path / "ev" / "sweep.csv").is_file()
    fixed = [r for r in res["sweep"] if r["policy"] == "fixed"]
    assert fixed[-1]["relative_complexity"] == pytest.approx(1.0)
    wl_path = tmp_path / "wl" / "tiny.npz"
    assert run_cli(ex.main, [str(out / "model.pt"), "--out", str(wl_path), "--threshold", "0.5",
                             "--cache-dir", str(root / "cache"), "--num-threads", "1"]) == 0
    wl = load_workload(wl_path)
    assert wl.spikes.shape == (16, 4, 3) and wl.n_samples == 16
    assert wl.layers == ["input", "conv1", "conv2", "out"]
    assert (wl.spikes[:, 0] == 0).all() and (wl.spikes[:, -1] == 0).all()
    assert wl.meta["kind"] == "direct" and wl.meta["arch"] == "tiny" and wl.meta["threshold"] == 0.5
    for key in ("dataset", "timesteps", "exit_policy", "seed", "command", "checkpoint"):
        assert key in wl.meta
    assert set(wl.scores) == {"entropy", "confidence"}
    expect = np.where((wl.scores["entropy"] >= 0.5).any(1), (wl.scores["entropy"] >= 0.5).argmax(1) + 1, 3)
    assert np.array_equal(wl.exit_timestep, expect)
    assert set(wl.channel_spikes_mean) == {"conv1", "conv2"} and wl.channel_spikes_mean["conv1"].shape == (4, 3)
    assert set(wl.pooled_cells) == {"conv1", "conv2"} and wl.pooled_cells["conv1"].shape == (16, 3)   # format 2.1
    # the stored spikes are those the model emits
    from snn.checkpoint import load_model
    from snn.data import load_dataset
    from snn.models import record_spikes
    m, cfg = load_model(out / "model.pt")
    d = load_dataset(image_folder, "imagefolder", image_size=16, cache_dir=root / "cache")
    from snn.data import test_indices
    first2 = test_indices(len(d.test_y))[:2]
    assert np.array_equal(wl.labels, d.test_y[test_indices(len(d.test_y))])
    x = (torch.from_numpy(d.test_x[first2]).float() / 255 - torch.tensor(d.mean).view(1, 3, 1, 1)) / \
        torch.tensor(d.std).view(1, 3, 1, 1)
    with torch.no_grad(), record_spikes(m) as rec:
        o = m(x)
    assert np.array_equal(rec.totals()[0].T.numpy().astype(int), wl.spikes[:2, 1])
    assert np.array_equal(o.cumsum(0).argmax(-1).T.numpy(), wl.predictions[:2])
    # the run's record assembles from those files
    from snn import results
    rec = tmp_path / "res" / "r.json"
    (tmp_path / "res").mkdir()
    assert run_cli(results.main, ["--run", str(out), "--eval", str(tmp_path / "ev" / "eval.json"),
                                  "--workload", str(wl_path), "--model", str(out / "model.pt"),
                                  "--out", str(rec)]) == 0
    doc = json.loads(rec.read_text())
    assert doc["epochs_trained"] == 2 and doc["seed"] == 0 and doc["workload"]["samples"] == 16
    assert set(doc["commands"]) == {"train", "evaluate", "export", "results"}
    assert len(doc["training_stages"]) == 1 and doc["training_stages"][0]["command"] == doc["commands"]["train"]
    res = json.loads((out / "results.json").read_text())
    assert doc["total_cpu_hours"] == pytest.approx(res["wall_s"] / 3600.0)  # one thread


def _one_line_error(capsys, rc, field):
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2, err
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert field in err[0], err


def test_bad_inputs_in_process(trained, image_folder, tmp_path, capsys):
    out, root = trained
    cache = root / "cache"
    cases = [
        (train_args(tmp_path / "nowhere", tmp_path / "o1", cache), "data_dir"),
        (train_args(image_folder, tmp_path / "o2", cache, "--image-size", "32"), "image size"),
        (train_args(image_folder, tmp_path / "o3", cache, "--arch", "alexnet"), "arch"),
        (train_args(image_folder, tmp_path / "o4", cache, "--loss", "hinge"), "loss"),
        (train_args(image_folder, tmp_path / "o5", cache, "--timesteps", "0"), "timesteps"),
        (train_args(image_folder, tmp_path / "o6", cache, "--schedule", "cubic"), "schedule"),
        (train_args(image_folder, tmp_path / "o7", cache, "--epochs", "x"), "epochs"),
    ]
    for argv, field in cases:
        _one_line_error(capsys, run_cli(tr.main, argv), field)
    for i in range(1, 8):
        assert not (tmp_path / f"o{i}").exists()  # nothing half-written, not even an empty folder
    # a non-writable output directory (a path below a regular file: fails even for root)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _one_line_error(capsys, run_cli(tr.main, train_args(image_folder, blocker / "run", cache)), "not writable")
    _one_line_error(capsys, run_cli(ex.main, [str(out / "model.pt"), "--out", str(blocker / "w.npz")]),
                    "not writable")
    # resuming a run of another architecture
    _one_line_error(capsys, run_cli(tr.main, train_args(image_folder, out, cache, "--resume", "--arch", "small")),
                    "arch")


def test_bad_checkpoints(trained, tmp_path, capsys):
    out, root = trained
    _one_line_error(capsys, run_cli(ev.main, [str(out / "model.pt"), "--out", str(tmp_path / "e1"),
                                              "--arch", "small"]), "arch")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes((out / "model.pt").read_bytes()[:500])
    _one_line_error(capsys, run_cli(ev.main, [str(corrupt), "--out", str(tmp_path / "e2")]), "checkpoint")
    # a checkpoint claiming another architecture than its weights
    ck = load_checkpoint(out / "model.pt")
    forged = tmp_path / "forged.pt"
    save_checkpoint(forged, build("tiny", 2, 3), dict(ck["config"], arch="small", input_shape=[3, 16, 16]))
    _one_line_error(capsys, run_cli(ex.main, [str(forged), "--out", str(tmp_path / "w" / "x.npz")]), "state_dict")
    _one_line_error(capsys, run_cli(ex.main, [str(out / "model.pt"), "--out", str(tmp_path / "w2" / "x.npz"),
                                              "--threshold", "2"]), "threshold")
    for d in ("e1", "e2", "w", "w2"):
        assert not (tmp_path / d).exists()


@pytest.mark.parametrize("module,argv,field", [
    ("snn.train", ["--arch", "tiny", "--data-dir", "/nonexistent/data", "--out", "{tmp}/r"], "data_dir"),
    ("snn.evaluate", ["{tmp}/missing.pt", "--out", "{tmp}/e"], "checkpoint"),
])
def test_cli_subprocess_exit_2_one_line(module, argv, field, tmp_path):
    argv = [a.format(tmp=tmp_path) for a in argv]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.run([sys.executable, "-m", module, *argv], cwd=REPO, capture_output=True, text=True,
                       env=env, timeout=120)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2, p.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and field in lines[0], p.stderr
    assert "Traceback" not in p.stderr
    assert not (tmp_path / "r").exists() and not (tmp_path / "e").exists()


def test_event_data_pipeline(event_folder, tmp_path):
    """CIFAR10-DVS-style events through train -> export: the input node is spiking and counts events."""
    out = tmp_path / "ev"
    argv = ["--arch", "tiny", "--dataset", "events", "--data-dir", str(event_folder), "--timesteps", "3",
            "--epochs", "1", "--batch-size", "4", "--num-threads", "1", "--no-progress",
            "--cache-dir", str(tmp_path / "cache"), "--out", str(out)]
    assert run_cli(tr.main, argv) == 0
    wl_path = tmp_path / "ev.npz"
    assert run_cli(ex.main, [str(out / "model.pt"), "--out", str(wl_path), "--cache-dir", str(tmp_path / "cache"),
                             "--num-threads", "1"]) == 0
    wl = load_workload(wl_path)
    assert wl.graph.nodes["input"]["spiking"] and wl.graph.nodes["input"]["shape"] == [2, 16, 16]
    assert (wl.spikes[:, 0, :].sum(1) == 200).all()  # every generated event is one input spike


def test_commands_for_spiking_networks_refuse_a_relu_ann(tmp_path, image_folder):
    """A ReLU ANN checkpoint (snn.conversion.train_ann) has no timesteps: evaluate and export refuse it in
    one line, and a refused snn.convert leaves no empty output folder behind."""
    import subprocess
    import sys

    from snn.checkpoint import model_from_config, save_checkpoint
    cfg = {"arch": "tiny", "neuron": "relu", "timesteps": 1, "num_classes": 10, "input_shape": [3, 16, 16]}
    ann = tmp_path / "ann.pt"
    save_checkpoint(ann, model_from_config(cfg, neuron="relu"), cfg)
    for argv in (["snn.evaluate", str(ann), "--data-dir", str(image_folder), "--out", str(tmp_path / "ev")],
                 ["snn.export", str(ann), "--data-dir", str(image_folder), "--out", str(tmp_path / "w.npz")]):
        r = subprocess.run([sys.executable, "-m", *argv], capture_output=True, text=True)
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
        assert "neuron" in r.stderr and "snn.convert" in r.stderr
    assert not (tmp_path / "ev").exists() and not (tmp_path / "w.npz").exists()
    snn_cfg = dict(cfg, neuron="lif", timesteps=2)
    save_checkpoint(tmp_path / "snn.pt", model_from_config(snn_cfg), snn_cfg)
    r = subprocess.run([sys.executable, "-m", "snn.convert", str(tmp_path / "snn.pt"), "--method", "quartz",
                        "--t-max", "4", "--data-dir", str(image_folder), "--dataset", "imagefolder",
                        "--out", str(tmp_path / "conv")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert not (tmp_path / "conv").exists()  # refused input leaves no empty output folder


def _args_without(args: list[str], *flags: str) -> list[str]:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in flags:
            skip = True
            continue
        out.append(a)
    return out


def test_relu_twin_then_init_from_it(image_folder, tmp_path):
    """Hybrid training: the ReLU twin trains at T=1 (``--neuron relu``), and an SNN starts from its
    weights (``--init-from``): before any step, every weight and BatchNorm statistic equals the ANN's."""
    ann = tmp_path / "ann"
    args = _args_without(train_args(image_folder, ann, tmp_path / "cache"), "--timesteps", "--epochs")
    assert run_cli(tr.main, args + ["--neuron", "relu", "--timesteps", "1", "--epochs", "1"]) == 0
    ck = load_checkpoint(ann / "model.pt")
    assert ck["config"]["neuron"] == "relu" and ck["config"]["timesteps"] == 1
    assert len(json.loads((ann / "results.json").read_text())["per_timestep_accuracy"]) == 1
    cfg = json.loads((ann / "config.json").read_text())
    model = build("tiny", 2, 3, input_shape=(3, 16, 16))
    info = tr.init_weights(model, str(ann / "model.pt"), {**cfg, "arch": "tiny", "num_classes": 2})
    assert info["neuron"] == "relu"
    for k, v in model.state_dict().items():
        assert torch.equal(v, ck["state_dict"][k]), k
    # and through the command line: the SNN run records where it started
    snn = tmp_path / "snn"
    assert run_cli(tr.main, train_args(image_folder, snn, tmp_path / "cache", "--init-from", str(ann / "model.pt"),
                                       "--stop-after", "1")) == 0
    assert json.loads((snn / "config.json").read_text())["init_from_config"]["neuron"] == "relu"


def test_results_follow_the_init_from_chain(tmp_path):
    """A run initialised from another run's weights is one stage of its training: the record lists the
    stages first to last and sums their CPU hours (wall time x threads); a stage whose folder is gone
    ends the chain."""
    from snn.results import training_stages

    def stage(name, init_from, wall_s, threads, acc):
        d = tmp_path / name
        d.mkdir()
        cfg = {"command": f"train {name}", "timesteps": 4, "num_threads": threads, "init_from": init_from}
        res = {"epochs_trained": 2, "wall_s": wall_s, "fixed_T_accuracy": acc}
        (d / "config.json").write_text(json.dumps(cfg))
        (d / "results.json").write_text(json.dumps(res))
        return d, cfg, res

    stage("ann", str(tmp_path / "gone" / "model.pt"), 7200.0, 1, 0.9)
    stage("t1", str(tmp_path / "ann" / "model.pt"), 1800.0, 2, 0.85)
    run, cfg, res = stage("t4", str(tmp_path / "t1" / "model.pt"), 3600.0, 1, 0.88)
    st = training_stages(run, cfg, res)
    assert [s["command"] for s in st] == ["train ann", "train t1", "train t4"]
    assert sum(s["cpu_hours"] for s in st) == pytest.approx(2.0 + 1.0 + 1.0)
    assert [s["fixed_T_accuracy"] for s in st] == [0.9, 0.85, 0.88]


def test_init_from_another_architecture_is_refused(image_folder, tmp_path, trained):
    out, _ = trained
    args = _args_without(train_args(image_folder, tmp_path / "x", tmp_path / "cache"), "--arch")
    with pytest.raises(Exception) as e:
        tr.main(args + ["--arch", "small", "--image-size", "16", "--init-from", str(out / "model.pt")])
    assert "arch" in str(e.value)
    assert not (tmp_path / "x").exists()


def test_chunks_pause_and_resume_to_the_same_weights(trained, image_folder):
    """--chunk-minutes pauses between epochs without touching the schedule; --resume finishes it: the same
    weights as the uninterrupted run."""
    out, root = trained
    part = root / "chunked"
    assert run_cli(tr.main, train_args(image_folder, part, root / "cache", "--chunk-minutes", "1e-6")) == 0
    assert len((part / "log.csv").read_text().splitlines()) == 2 and not (part / "results.json").exists()
    assert run_cli(tr.main, train_args(image_folder, part, root / "cache", "--resume")) == 0
    a, b = load_checkpoint(out / "model.pt")["state_dict"], load_checkpoint(part / "model.pt")["state_dict"]
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_distillation_from_a_teacher(trained, image_folder, tmp_path):
    """--distill-from: weight 0 trains exactly the weights of the run without a teacher (the teacher's
    forward pass touches no random state); weight 0.5 trains other weights and records the teacher."""
    out, root = trained
    zero, half = tmp_path / "kd0", tmp_path / "kd5"
    teacher = str(out / "model.pt")
    assert run_cli(tr.main, train_args(image_folder, zero, root / "cache", "--distill-from", teacher,
                                       "--distill-weight", "0")) == 0
    assert run_cli(tr.main, train_args(image_folder, half, root / "cache", "--distill-from", teacher,
                                       "--stop-after", "1")) == 0
    a, b = load_checkpoint(out / "model.pt")["state_dict"], load_checkpoint(zero / "model.pt")["state_dict"]
    for k in a:
        assert torch.equal(a[k], b[k]), k
    c = load_checkpoint(half / "model.pt")["state_dict"]
    assert any(not torch.equal(a[k], c[k]) for k in a if c[k].is_floating_point())
    cfg = json.loads((half / "config.json").read_text())
    assert (cfg["distill_from"], cfg["distill_weight"], cfg["distill_temperature"]) == (teacher, 0.5, 2.0)


def test_a_teacher_of_other_classes_is_refused(image_folder, tmp_path):
    from archsim.errors import UserError
    bad = tmp_path / "teacher.pt"
    save_checkpoint(bad, build("tiny", 3, 1, neuron="relu", input_shape=(3, 16, 16)),
                    {"arch": "tiny", "neuron": "relu", "num_classes": 3, "timesteps": 1, "input_shape": [3, 16, 16]})
    with pytest.raises(UserError) as e:
        tr.main(train_args(image_folder, tmp_path / "x", tmp_path / "cache", "--distill-from", str(bad)))
    assert "num_classes" in str(e.value) and str(bad) in str(e.value)
    assert not (tmp_path / "x").exists()
    with pytest.raises(UserError, match="distill-weight"):
        tr.main(train_args(image_folder, tmp_path / "y", tmp_path / "cache", "--distill-from", str(bad),
                           "--distill-weight", "1.5"))


def test_bf16_precision_trains_and_records_it(image_folder, tmp_path):
    out = tmp_path / "bf16"
    assert run_cli(tr.main, train_args(image_folder, out, tmp_path / "cache", "--precision", "bf16",
                                       "--stop-after", "1")) == 0
    assert json.loads((out / "config.json").read_text())["precision"] == "bf16"


def test_slim_stores_float16_and_loads_back(trained, tmp_path):
    from snn import slim
    from snn.checkpoint import load_model
    out, _ = trained
    assert run_cli(slim.main, [str(out / "model.pt"), "--out", str(tmp_path / "s.pt")]) == 0
    full, _ = load_model(out / "model.pt")
    half, cfg = load_model(tmp_path / "s.pt")
    assert cfg["stored_dtype"] == "float16"
    def weight_bytes(path):
        return sum(v.numel() * v.element_size() for v in load_checkpoint(path)["state_dict"].values()
                   if v.is_floating_point())
    assert weight_bytes(tmp_path / "s.pt") * 2 == weight_bytes(out / "model.pt")
    for (k, a), b in zip(full.state_dict().items(), half.state_dict().values()):
        if a.is_floating_point():
            assert b.dtype == torch.float32 and torch.allclose(a, b, rtol=1e-3, atol=1e-3), k
    assert run_cli(slim.main, [str(out / "model.pt"), "--out", str(tmp_path / "x.pt"), "--dtype", "int8"]) == 2
