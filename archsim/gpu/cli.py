"""``python -m archsim compare-gpu ARCHSIM_SUMMARY.json GPU_LOG``: the accelerator against a GPU power log.

Prints the Table-3-style comparison (``compare.format_table``) or, with ``--json``, the result dict;
``--plot FILE.png`` also draws the power timeline and the two energies.
"""
from __future__ import annotations

import json

from archsim.gpu.compare import compare_with_log, format_table, load_summary
from archsim.gpu.formats import KNOWN
from archsim.gpu.integrate import IDLE_MODES


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compare-gpu", help="compare the simulated accelerator with a GPU power log (Table 3)",
        description=f"Integrate a GPU power log ({KNOWN}; detected from the content) over the run's window "
                    "and compare FPS and energy with an archsim summary JSON.")
    p.add_argument("summary", metavar="ARCHSIM_SUMMARY.json", help="written by: python -m archsim run ... --json")
    p.add_argument("log", metavar="GPU_LOG", help="the GPU's power log")
    p.add_argument("--idle", choices=IDLE_MODES, default="subtract",
                   help="subtract the GPU's idle draw from its energy, or keep it (default: subtract)")
    p.add_argument("--idle-w", type=float, default=None, metavar="WATTS",
                   help="the idle draw to subtract (W, counted GPUs together); default: from the log")
    p.add_argument("--window", nargs=2, type=float, metavar=("START", "END"),
                   help="seconds on the log's timeline (0 = its first sample); default: the run's window "
                        "from a gpu_bench JSON, else the whole log (every run and window once)")
    p.add_argument("--run", metavar="RUN_ID", help="CodeCarbon: only this run (its run_id, or a unique prefix)")
    p.add_argument("--window-name", metavar="NAME", help="Zeus window log: only the windows of this name")
    p.add_argument("--allow-mismatch", action="store_true",
                   help="compare even if the two sides ran different networks, data sets, image counts or "
                        "exit policies (the result then says so)")
    p.add_argument("--gpu", type=int, action="append", metavar="INDEX",
                   help="count only this GPU (repeatable); default: every GPU in the log")
    p.add_argument("--gpus", type=int, default=None, metavar="N", dest="gpu_count",
                   help="how many GPUs the log holds, for an nvidia-smi log without an index column whose "
                        "rows the gaps between them cannot group into polls (row k of each poll of N rows is "
                        "GPU k); default: inferred (the note says how)")
    p.add_argument("--gpu-images", type=int, default=None, metavar="N",
                   help="images the GPU ran in the window (default: gpu_bench JSON, else the accelerator's)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="draw the power timeline and the two energies")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.plot:
        from archsim.gpu.plot import check_plot_path
        check_plot_path(args.plot)
    summary = load_summary(args.summary)
    result = compare_with_log(summary, args.log, args.idle, tuple(args.window) if args.window else None,
                              idle_w=args.idle_w, gpus=args.gpu, gpu_images=args.gpu_images,
                              summary_source=args.summary, run=args.run, window_name=args.window_name,
                              allow_mismatch=args.allow_mismatch, gpu_count=args.gpu_count)
    if args.plot:
        from archsim.gpu.plot import plot_comparison
        result["plot"] = str(plot_comparison(result, args.plot))
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    if args.plot and not args.json:
        print(f"plot: {result['plot']}")
    return 0
