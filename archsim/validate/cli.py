"""``archsim validate sanafe NETWORK.yaml``: archsim against SANA-FE on the same network and spike trains.

    python -m archsim validate sanafe workloads/validation/conv_valid.yaml --samples 20 --timesteps 4 \
        --rate 0.2 --seed 0 --out results/validation/conv_valid

NETWORK.yaml is a layer list (archsim/validate/network.py) or a network file in SANA-FE's own format
(archsim/validate/sanafe_yaml.py; SANA-FE then also runs the file itself, as its users do, and the
result says whether that run equals the one built from archsim's reading); the input spikes are
Bernoulli(--rate) from --seed, or ``--spikes FILE.npz`` (``spikes`` [samples, timesteps, input neurons]
of 0/1), or the network's own bias-driven input neurons. Prints the
side-by-side table; ``--out DIR`` writes validation.json, validation.csv, validation.png and config.yaml
(the command, the network, the hwconfig). Needs the optional ``sanafe`` package
(``pip install -e '.[validate]'``).
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from archsim.errors import UserError

DEFAULT_HWCONFIG = str(Path(__file__).resolve().parents[2] / "hwconfigs" / "loihi.yaml")


def register(subparsers) -> None:
    p = subparsers.add_parser("validate", help="validate archsim against another simulator (SANA-FE)",
                              description="Run archsim and SANA-FE on the same network and spike trains.")
    sub = p.add_subparsers(dest="reference", required=True, parser_class=type(p))
    s = sub.add_parser("sanafe", help="against SANA-FE's bundled Loihi model",
                       description=__doc__.split("\n\n")[0])
    s.add_argument("network", help="network YAML: archsim's layer list (input shape, layers, neuron, weights) "
                   "or a SANA-FE network file (network: groups, edges; mappings)")
    s.add_argument("--spikes", help="input spikes npz: 'spikes' [samples, timesteps, input neurons] of 0/1")
    s.add_argument("--samples", type=int, default=20)
    s.add_argument("--timesteps", type=int, default=4)
    s.add_argument("--rate", type=float, default=0.2, help="Bernoulli input spike probability per step")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--hwconfig", default=DEFAULT_HWCONFIG, help="archsim's description of the chip")
    s.add_argument("--force-update", action="store_true",
                   help="update every neuron every step in both simulators (SANA-FE's force_update); by "
                        "default a neuron is updated only while it has input or a non-zero potential")
    s.add_argument("--out", metavar="DIR", help="write validation.json, validation.csv, validation.png, config.yaml")
    s.add_argument("--json", action="store_true", help="print the result as JSON")
    s.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import numpy as np

    from archsim.hwconfig import load_config
    from archsim.report import check_out_dir
    from archsim.validate.compare import format_table, input_spikes, load_input_spikes, validate
    from archsim.validate.sanafe_yaml import load_any
    from archsim.validate.sanafe import import_sanafe

    if args.samples < 1 or args.timesteps < 1:
        raise UserError("command line", "--samples/--timesteps", "must be >= 1")
    if not 0.0 <= args.rate <= 1.0:
        raise UserError("command line", "--rate", f"must lie in [0, 1], got {args.rate}")
    if args.out:
        check_out_dir(args.out)
    import_sanafe()
    spec = load_any(args.network)
    hw = load_config(args.hwconfig)
    if spec.input_neuron is not None:              # bias-driven: one sample, no spike trains
        if args.spikes:
            raise UserError("command line", "--spikes", f"{args.network} drives its input by biases "
                            "(input_neuron): it takes no input spikes")
        args.samples = 1
        inputs = np.zeros((1, args.timesteps, int(np.prod(spec.input_shape))), dtype=bool)
    elif args.spikes:
        inputs = load_input_spikes(args.spikes, spec)
        args.samples, args.timesteps = inputs.shape[0], inputs.shape[1]
    else:
        inputs = input_spikes(spec, args.samples, args.timesteps, args.rate, args.seed)
    result = validate(spec, hw, inputs, progress=not args.json and sys.stderr.isatty(),
                      force_update=args.force_update)
    result["command"] = " ".join(shlex.quote(w) for w in ["python", "-m", "archsim"] + sys.argv[1:]) \
        if sys.argv and sys.argv[0].endswith(("__main__.py", "archsim")) else None
    result["inputs"] = ({"bias": "input_neuron"} if spec.input_neuron is not None else
                        {"file": args.spikes} if args.spikes else {"bernoulli_rate": args.rate, "seed": args.seed})
    if args.out:
        _write(args.out, result, spec)
    if args.json:
        import json
        print(json.dumps(result, indent=2))
    else:
        print(format_table(result))
        if args.out:
            print(f"\nwrote {args.out}/validation.json, validation.csv, validation.png, config.yaml")
    return 0


def _write(out: str, result: dict, spec) -> None:
    import json

    import pandas as pd
    import yaml

    from archsim.report import atomic_dir

    config = {"command": result.get("command"), "network": spec.source, "hwconfig": result["hwconfig"],
              "neuron_update": result["neuron_update"], "inputs": result["inputs"], "samples": result["samples"],
              "timesteps": result["input_timesteps"]}
    with atomic_dir(out) as tmp:
        (tmp / "validation.json").write_text(json.dumps(result, indent=2) + "\n")
        pd.DataFrame(result["rows"]).to_csv(tmp / "validation.csv", index=False)
        (tmp / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        _plot(tmp / "validation.png", result)


def _plot(path: Path, result: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = [r for r in result["rows"] if r["quantity"].startswith("energy")]
    labels = [r["quantity"].replace("energy ", "").replace(" (uJ/sample)", "") for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    ax.bar(x - 0.2, [r["sanafe"] for r in rows], 0.4, label=f"SANA-FE {result['sanafe_version']}", color="#888")
    ax.bar(x + 0.2, [r["archsim"] for r in rows], 0.4, label="archsim", color="#1f77b4")
    for xi, r in zip(x, rows):
        ax.annotate("-" if r["diff_pct"] is None else f"{r['diff_pct']:+.2f}%", (xi + 0.2, r["archsim"]),
                    ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, labels)
    ax.set_ylabel("energy per sample (uJ)")
    n = result["samples"]
    ax.set_title(f"{result['network']} on Loihi: archsim vs SANA-FE ({n} sample{'s' if n != 1 else ''})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
