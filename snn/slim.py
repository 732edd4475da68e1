"""Store a trained model compactly: ``python -m snn.slim runs/vgg16_c10_kd/model.pt --out models/vgg16_c10.pt``.

Rewrites a model checkpoint (snn.checkpoint) with its floating-point weights in float16 (``--dtype``):
half the bytes, which is what lets the full VGG16 (14.7 M weights, 59 MB in fp32) stay under the 30 MB the
repository allows one checkpoint. Loading casts back (``load_model`` builds an fp32 network and
``load_state_dict`` copies into it), so evaluate/export read it unchanged; the float16 rounding of the
weights (relative error ~5e-4) may flip the odd spike, so re-export the workload from the slim file.
"""
from __future__ import annotations

import sys

import torch

from archsim.errors import UserError, run_cli
from snn.checkpoint import FORMAT, atomic_torch_save, load_checkpoint
from snn.cli import Parser, ensure_writable_file

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


def slim(src: str, out: str, dtype: str = "float16") -> int:
    """Write ``src``'s weights (no optimizer state) in ``dtype`` to ``out``; returns the bytes written."""
    if dtype not in DTYPES:
        raise UserError("command line", "dtype", f"one of {', '.join(DTYPES)}, got {dtype!r}")
    ck = load_checkpoint(src, full=True)
    sd = {k: v.to(DTYPES[dtype]) if v.is_floating_point() else v for k, v in ck["state_dict"].items()}
    config = dict(ck["config"], stored_dtype=dtype, slimmed_from=str(src))
    atomic_torch_save({"format": FORMAT, "arch": ck.get("arch"), "config": config, "state_dict": sd}, out)
    from pathlib import Path
    return Path(out).stat().st_size


def main(argv: list[str] | None = None) -> int:
    p = Parser(prog="snn.slim", description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True)
    p.add_argument("--dtype", default="float16", help=f"one of {', '.join(DTYPES)}")
    a = p.parse_args(argv)
    ensure_writable_file(a.out)
    size = slim(a.checkpoint, a.out, a.dtype)
    print(f"wrote {a.out}: {size / 1e6:.2f} MB ({a.dtype})")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
