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


def entry() -> None:
    sys.exit(run_cli(main))


if __name__ == "__main__":  # pragma: no cover
    entry()
