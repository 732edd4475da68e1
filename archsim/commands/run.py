"""``python -m archsim run HWCONFIG WORKLOAD``: simulate one design on one workload and report it.

Prints the readable report (or, with ``--json``, one JSON object: the summary of archsim.simulate);
``--out DIR`` also writes summary.json, per_layer.csv, per_sample.csv, config.yaml (the resolved
hwconfig with its energy table, the command and the workload path) and per_layer.png, atomically.
``--compare-gpu LOG`` sets the result against a GPU power log (archsim.gpu.compare).
"""
from __future__ import annotations

import argparse
import shlex

from archsim.choices import MODES, POLICIES
from archsim.errors import UserError


def register(subparsers) -> None:
    p = subparsers.add_parser("run", help="simulate one hardware config on one spike workload",
                              description="Simulate one hardware config on one spike workload: FPS, latency, cycles, "
                                          "memory accesses and energy.")
    p.add_argument("hwconfig", help="hardware description YAML (e.g. hwconfigs/default.yaml)")
    p.add_argument("workload", help="spike workload .npz (see workloads/FORMAT.md)")
    p.add_argument("--exit-policy", choices=POLICIES,
                   help="exit policy (default: the hwconfig controller's, or with 'from_workload' there the one "
                        "the workload was calibrated with)")
    p.add_argument("--threshold", type=float,
                   help="exit threshold for entropy/confidence (default: as for --exit-policy)")
    p.add_argument("--timesteps", type=int, help="timesteps for --exit-policy fixed (default: the workload's T)")
    p.add_argument("--samples", type=int, help="simulate only the first N samples")
    p.add_argument("--mode", choices=MODES, default="simpy",
                   help="simpy: discrete-event (contention, stalls); analytic: formulas, for big sweeps")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--out", metavar="DIR", help="write summary.json, per_layer.csv, per_sample.csv, config.yaml, per_layer.png")
    p.add_argument("--compare-gpu", metavar="LOG", help="compare with a GPU power log (nvidia-smi / gpu_bench / Zeus / CodeCarbon)")
    p.add_argument("--idle", choices=("subtract", "keep"), default="subtract",
                   help="with --compare-gpu: subtract the GPU's idle power or keep it")
    p.add_argument("--allow-mismatch", action="store_true",
                   help="with --compare-gpu: compare even if the GPU ran another network, data set, image count "
                        "or exit policy (the result then says so)")
    p.set_defaults(func=main)


def _command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run (for config.yaml)."""
    words = ["python", "-m", "archsim", "run", args.hwconfig, args.workload]
    for flag in ("exit_policy", "threshold", "timesteps", "samples", "mode", "out", "compare_gpu"):
        value = getattr(args, flag)
        if value is not None:
            words += ["--" + flag.replace("_", "-"), str(value)]
    if args.compare_gpu:
        words += ["--idle", args.idle]
    return " ".join(shlex.quote(w) for w in words)


def _precheck_gpu_log(args: argparse.Namespace, hw, wl) -> None:
    """Read the GPU log and hold what it records against what this run will simulate, before simulating."""
    from archsim.gpu.compare import Accelerator, check_like_for_like
    from archsim.gpu.formats import read_power_log
    from archsim.simulate import resolve_policy

    log = read_power_log(args.compare_gpu)
    policy, threshold, _ = resolve_policy(hw, wl, args.exit_policy, args.threshold, args.timesteps)
    planned = Accelerator(images=wl.n_samples, exit_policy=policy, threshold=threshold,
                          workload={"arch": wl.meta.get("arch"), "dataset": wl.meta.get("dataset")})
    check_like_for_like(planned, log.bench or {}, None, str(log.path), args.allow_mismatch)


def main(args: argparse.Namespace) -> int:
    # Imported here so `python -m archsim --help` stays fast.
    from archsim.hwconfig import load_config
    from archsim.report import check_out_dir, format_summary, to_json, write_outputs
    from archsim.simulate import run_simulation
    from archsim.workload import load_workload

    if args.samples is not None and args.samples < 1:
        raise UserError("command line", "--samples", f"must be >= 1, got {args.samples}")
    if args.threshold is not None and args.exit_policy == "fixed":
        raise UserError("command line", "--threshold", "does not go with --exit-policy fixed")
    if args.timesteps is not None and args.exit_policy != "fixed":
        raise UserError("command line", "--timesteps", "only goes with --exit-policy fixed")
    if args.idle != "subtract" and not args.compare_gpu:
        raise UserError("command line", "--idle", "only goes with --compare-gpu")
    if args.out:
        check_out_dir(args.out)             # before the run: a bad --out must not cost a whole simulation
    hw = load_config(args.hwconfig)
    wl = load_workload(args.workload)
    if args.samples is not None:
        if args.samples > wl.n_samples:
            raise UserError(args.workload, "--samples", f"{args.samples} asked for, but the workload holds only "
                            f"{wl.n_samples} samples")
        wl = wl.subset(args.samples)
    if args.allow_mismatch and not args.compare_gpu:
        raise UserError("command line", "--allow-mismatch", "only goes with --compare-gpu")
    if args.compare_gpu:
        _precheck_gpu_log(args, hw, wl)     # an unreadable or mismatched log fails now, not after the run
    result = run_simulation(hw, wl, exit_policy=args.exit_policy, threshold=args.threshold,
                            timesteps=args.timesteps, mode=args.mode, progress=not args.json)
    summary = result.summary
    gpu = None
    if args.compare_gpu:
        from archsim.gpu.compare import compare_with_log, format_table
        gpu = compare_with_log(summary, args.compare_gpu, idle=args.idle, allow_mismatch=args.allow_mismatch)
    if args.out:
        config = {"command": _command_line(args), "workload_path": args.workload, "samples": wl.n_samples,
                  "exit_policy": summary.exit_policy, "threshold": summary.threshold,
                  "exit_policy_source": summary.exit_policy_source,
                  "threshold_source": summary.threshold_source, "mode": args.mode,
                  **hw.resolved()}
        tables = {"per_core.csv": result.per_core, "per_chip.csv": result.per_chip} if result.per_chip is not None else None
        write_outputs(args.out, summary, result.per_layer, result.per_sample, config,
                      extra={"gpu_comparison.json": gpu} if gpu is not None else None, energy=result.energy,
                      tables=tables)
    if args.json:
        out = summary.to_dict()
        if gpu is not None:
            out["gpu_comparison"] = gpu
        print(to_json(out))
    else:
        print(format_summary(summary, result.per_layer))
        if gpu is not None:
            print()
            print(format_table(gpu))
        if args.out:
            chips = ", per_core.csv, per_chip.csv" if result.per_chip is not None else ""
            print(f"\nwrote {args.out}/summary.json, per_layer.csv, per_sample.csv{chips}, config.yaml, per_layer.png")
    return 0
