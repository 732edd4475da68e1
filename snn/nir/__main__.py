"""``python -m snn.nir export|import``: our networks out as NIR, any NIR network in as an archsim workload.

    python -m snn.nir export models/small_c10.pt --out models/small_c10.nir [--dt 1e-4]
    python -m snn.nir import model.nir --data-dir ../shared/datasets/cifar10-jpeg.tar.gz --timesteps 4 \
        --out workloads/model_c10.npz [--dataset cifar10|cifar100|imagefolder|events] [--dt 1e-4]
        [--normalise auto|dataset|unit] [--exit-policy entropy --threshold 0.8 --max-samples N]

Bad input (a missing file, not a NIR file, a node type or a recurrent edge archsim cannot map, a shape
mismatch, an unwritable --out) is one line ``error: <where>: <field>: <what>`` and exit status 2, with
nothing half-written (both outputs are written to a temporary file and renamed into place).
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from archsim.errors import UserError, run_cli
from snn import exit_policy as xp
from snn.cli import EmptyDirGuard, Parser, command_line, ensure_writable_file
from snn.data import CIFAR_MEAN, CIFAR_STD, DATASETS
from snn.nir import DEFAULT_DT


def parser() -> Parser:
    p = Parser(prog="snn.nir", description="NIR import and export (Neuromorphic Intermediate Representation).")
    sub = p.add_subparsers(dest="action", required=True, metavar="{export,import}")
    e = sub.add_parser("export", help="write one of our checkpoints as a NIR graph")
    e.add_argument("checkpoint")
    e.add_argument("--out", required=True, help="NIR file to write (.nir, HDF5)")
    e.add_argument("--dt", type=float, default=DEFAULT_DT, help="seconds per timestep in the NIR time constants")
    i = sub.add_parser("import", help="run a NIR graph over a data set and write an archsim workload")
    i.add_argument("model", help="NIR file (.nir)")
    i.add_argument("--data-dir", required=True)
    i.add_argument("--dataset", default="cifar10", help=f"one of {list(DATASETS)}")
    i.add_argument("--timesteps", type=int, required=True)
    i.add_argument("--out", required=True, help="workload file (.npz)")
    i.add_argument("--dt", type=float, default=DEFAULT_DT, help="seconds per timestep (the exporting library's)")
    i.add_argument("--normalise", default="auto", help="auto | dataset | unit (image input scaling)")
    i.add_argument("--cache-dir", default="data/cache")
    i.add_argument("--exit-policy", default="entropy", help="entropy | confidence | fixed")
    i.add_argument("--threshold", type=float, default=None,
                   help=f"exit threshold (default {xp.THRESHOLD_BY_POLICY})")
    i.add_argument("--max-samples", type=int, default=0, help="the first N test images of a seeded random order (0: all)")
    i.add_argument("--batch-size", type=int, default=500)
    i.add_argument("--device", default="cpu")
    i.add_argument("--num-threads", type=int, default=0)
    return p


def write_nir(path: Path, graph) -> None:
    """``nir.write`` into a temporary file beside ``path``, renamed into place."""
    from snn.nir import require
    nir, _ = require()
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=".tmp_", suffix=".nir")
    os.close(fd)
    try:
        nir.write(tmp, graph)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)   # mkstemp makes it 0600; a model file is meant to be shared
        os.replace(tmp, path)
    except OSError as err:
        raise UserError(str(path), "out", f"cannot write ({err.strerror or err})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def export_command(a) -> None:
    from snn.checkpoint import load_model
    from snn.nir.export import to_nir
    if not a.dt > 0:
        raise UserError("command line", "dt", f"must be a positive number of seconds, got {a.dt}")
    out = ensure_writable_file(a.out)
    model, cfg = load_model(a.checkpoint)
    ds = cfg.get("dataset")
    graph = to_nir(model, cfg, a.dt, str(a.checkpoint), CIFAR_MEAN.get(ds), CIFAR_STD.get(ds))
    write_nir(out, graph)
    kinds: dict[str, int] = {}
    for node in graph.nodes.values():
        kinds[type(node).__name__] = kinds.get(type(node).__name__, 0) + 1
    print(f"wrote {out}: {cfg['arch']} as a NIR graph of {len(graph.nodes)} nodes "
          f"({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}), {len(graph.edges)} edges, dt={a.dt}")


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    a.command = command_line("snn.nir", argv)
    with EmptyDirGuard(Path(a.out).parent):
        if a.action == "export":
            export_command(a)
        else:
            from snn.nir.importer import import_workload
            import_workload(a)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
