"""Subcommands of ``python -m archsim`` that belong to the simulator core (see archsim.cli)."""
