"""Print a deterministic sample of the mutant names mutmut generated for one module (tests/MUTATION.md).

    python tests/mutation_sample.py archsim.counts 8      # every 8th mutant of archsim/counts.py
    python tests/mutation_sample.py --score               # per module: killed, survived (what has run)

Names are read from mutants/<module path>.py.meta (written by the generation step of any ``mutmut run``;
``make mutation STEP=k`` runs one first when they are missing), sorted by function and mutant number;
every STEP-th one is printed, starting with the first. STEP 1 prints them all.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path


def names(module: str) -> list[str]:
    meta = Path("mutants") / (module.replace(".", "/") + ".py.meta")
    keys = json.loads(meta.read_text())["exit_code_by_key"]
    return sorted(keys, key=lambda k: (k.split("__mutmut_")[0], int(re.search(r"__mutmut_(\d+)$", k).group(1))))




def score() -> None:
    """Per module: mutants generated, how many have a result, killed (a test failed or timed out),
    survived, not covered by any selected test."""
    for meta in sorted(Path("mutants").rglob("*.py.meta")):
        module = str(meta.relative_to("mutants"))[: -len(".py.meta")].replace("/", ".")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        done = [c for c in codes.values() if c is not None]
        killed = sum(1 for c in done if c not in (0, 33))
        print(f"{module:24s} mutants {len(codes):5d}  run {len(done):5d}  killed {killed:5d}  "
              f"survived {sum(1 for c in done if c == 0):4d}  no tests {sum(1 for c in done if c == 33):4d}"
              + (f"  score {100 * killed / len(done):5.1f} %" if done else ""))


if __name__ == "__main__":
    if sys.argv[1] == "--score":
        score()
    else:
        print(" ".join(names(sys.argv[1])[::int(sys.argv[2]) if len(sys.argv) > 2 else 1]))
