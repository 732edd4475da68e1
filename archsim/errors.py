"""The one error type a user ever sees, and how every command line turns it into one line + exit 2.

Bad input (a missing file, a wrong field, an unfit network) is the user's to fix, so it must read as
``<file>: <field>: <what is wrong>`` and never as a traceback. Bugs stay tracebacks.
"""
from __future__ import annotations

import sys
from typing import Callable

EXIT_USAGE = 2


class UserError(Exception):
    """Bad input: names where (a file, or the command line) and which field, then what is wrong."""

    def __init__(self, source: str, field: str, message: str):
        self.source, self.field, self.message = str(source), str(field), str(message)
        super().__init__(f"{self.source}: {self.field}: {self.message}")


def run_cli(main: Callable[[list[str] | None], int | None], argv: list[str] | None = None) -> int:
    """Run ``main``; a UserError becomes ``error: ...`` on stderr and exit status 2."""
    try:
        return int(main(argv) or 0)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
