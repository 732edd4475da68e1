"""``python -m archsim SUBCOMMAND``: each subcommand lives in its own module and registers itself.

A subcommand module defines ``register(subparsers)``, which adds its parser and sets ``func`` to a
function ``func(args) -> int``. Bad input raises ``archsim.errors.UserError`` and ends as one line on
stderr with exit status 2 (``archsim.errors.run_cli``).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from archsim.errors import UserError, run_cli

# In the order `--help` lists them.
SUBCOMMAND_MODULES = (
    "archsim.commands.run",         # run HWCONFIG WORKLOAD: simulate one design on one workload
    "archsim.sweep.cli",            # sweep SWEEP.yaml, pareto RESULTS
    "archsim.gpu.cli",              # compare-gpu SUMMARY.json GPU_LOG
    "archsim.validate.cli",         # validate sanafe NETWORK.yaml: against SANA-FE on the same spikes
)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit 2 like every other bad input."""

    def error(self, message: str):  # noqa: D401 - argparse's hook
        raise UserError("command line", self.prog, message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="archsim", description="Simulate an SNN accelerator on a spike workload.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name and name.startswith(err.name):
                continue  # that subcommand is not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


# What `pip install -e .` installs (pyproject.toml): missing, the python that runs archsim is not the
# environment's, and that is the one thing to say.
DEPENDENCIES = ("simpy", "numpy", "networkx", "pandas", "yaml", "pydantic", "matplotlib", "tqdm", "dask",
                "distributed", "pyarrow")


def entry() -> None:
    try:
        code = run_cli(main)
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] not in DEPENDENCIES:
            raise
        print(f"error: {sys.executable}: {err.name}: not installed for this python, so it is not the "
              "project's environment; run `make setup` once, then `.venv/bin/archsim ...` (or "
              "`source .venv/bin/activate` and `archsim ...`)", file=sys.stderr)
        code = 2
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
