"""``archsim compare-gpu`` on each real GPU log of ../shared/gpu_logs_wild, against an independent reading.

    python benchmarks/gpu_logs_wild.py --out results/gpu_logs_wild

For every file: runs ``python -m archsim compare-gpu SUMMARY LOG --idle keep --json`` (the command a user
runs; SUMMARY is any archsim summary, only the GPU side matters here) and takes the whole-log GPU energy,
idle kept, its duration, the GPUs and how they were told apart; or the one-line refusal. The reference
energy is the test's (tests/gpu/test_wild_logs.py ``REFERENCE``: a few lines of pandas/numpy from each
file's documented layout, not archsim's readers). Writes ``table.md`` and ``table.json`` (derived numbers
only: the logs are third-party data and stay in ../shared).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.gpu.conftest import shared_dir  # noqa: E402
from tests.gpu.test_wild_logs import REFERENCE  # noqa: E402

SUMMARY = ROOT / "results" / "archsim" / "vgg16_c10_adaptive" / "summary.json"
SKIP_NOTES = ("the log does not say how many images", "not checked, one side does not record it")


def one(log: Path, summary: Path) -> dict:
    cmd = [sys.executable, "-m", "archsim", "compare-gpu", str(summary), str(log), "--idle", "keep", "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    ref = REFERENCE[log.name]
    row = {"file": log.name, "exit": r.returncode}
    if r.returncode == 0:
        g = json.loads(r.stdout)["gpu"]
        ref_j, ref_gpus = ref(log)
        row.update(read=True, format=g["format"], energy_j=g["energy_idle_kept_j"], reference_j=ref_j,
                   diff_pct=100.0 * (g["energy_idle_kept_j"] - ref_j) / ref_j, duration_s=g["duration_s"],
                   gpus=len(g["gpus"]), reference_gpus=ref_gpus, told_apart=g["gpus_from"],
                   notes=[n for n in json.loads(r.stdout)["notes"] if not n.startswith(SKIP_NOTES)])
    else:
        err = r.stderr.strip()
        row.update(read=False, error=err.replace(str(log.parent), "../shared/gpu_logs_wild"), error_chars=len(err),
                   error_lines=r.stderr.count("\n"), expected_field=ref)
    return row


def table(rows: list[dict]) -> str:
    out = ["| file | read/refused | energy J (ours) | numpy reference J | diff % | duration s | GPUs | told apart by |",
           "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        if r["read"]:
            out.append(f"| `{r['file']}` | read ({r['format']}) | {r['energy_j']:,.2f} | {r['reference_j']:,.2f} | "
                       f"{r['diff_pct']:+.4f} | {r['duration_s']:,.3f} | {r['gpus']} | {r['told_apart']} |")
        else:
            reason = r["error"].split(": ", 3)[-1]
            out.append(f"| `{r['file']}` | refused ({r['error_chars']} chars, field {r['expected_field']}): "
                       f"{reason} | - | - | - | - | - | - |")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--logs", type=Path, default=shared_dir("gpu_logs_wild"), help="the folder of logs")
    ap.add_argument("--summary", type=Path, default=SUMMARY, help="an archsim summary JSON")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "gpu_logs_wild")
    a = ap.parse_args(argv)
    if a.logs is None or not a.logs.is_dir():
        print("error: command line: --logs: no gpu_logs_wild folder (../shared/gpu_logs_wild)", file=sys.stderr)
        return 2
    rows = [one(p, a.summary) for p in sorted(a.logs.glob("*.csv"))]
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "table.json").write_text(json.dumps({"command": " ".join(["python", *sys.argv]),
                                                  "summary": str(a.summary.relative_to(ROOT)), "rows": rows},
                                                 indent=2) + "\n")
    text = table(rows)
    (a.out / "table.md").write_text(text)
    print(text, end="")
    for r in rows:
        for n in r.get("notes", []):
            print(f"note ({r['file']}): {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
