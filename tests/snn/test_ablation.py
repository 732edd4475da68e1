from snn.ablation import markdown, summary


def fake_eval(acc):
    sweep = [{"policy": "entropy", "threshold": th, "accuracy": acc - d, "avg_timesteps": t,
              "relative_complexity": t / 4} for th, d, t in ((0.5, 0.05, 1.2), (0.8, 0.005, 1.8), (0.9, 0.0, 2.5))]
    return {"sweep": sweep, "fixed_T_accuracy": acc, "per_timestep_accuracy": {f"T{t}": acc for t in (1, 2, 3, 4)},
            "default": {"entropy": {"threshold": 0.8, "accuracy": acc - 0.005, "avg_timesteps": 1.8,
                                    "relative_complexity": 0.45}}}


def test_summary_and_table():
    res = {"loss": "atsnn", "schedule": "uniform", "epochs_trained": 2, "wall_s": 10.0, "command": "x"}
    row = summary("atsnn-uniform", fake_eval(0.6), res)
    assert row["min_avg_timesteps_within_1pt"]["avg_timesteps"] == 1.8
    md = markdown([row], {"arch": "small", "dataset": "cifar10", "epochs": 2, "train_subset": 20000,
                          "batch_size": 64, "lr": 0.1, "seed": 0, "timesteps": 4})
    lines = md.splitlines()
    assert lines[0].startswith("| variant | T1 | T2 | T3 | T4 |")
    assert "atsnn-uniform | 60.00 | 60.00 | 60.00 | 60.00 | 59.50 / 1.80" in lines[2]
