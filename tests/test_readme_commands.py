"""The commands and links of README.md and docs/*.md, checked on a fresh copy of the repository, so they stay true.

Every concrete ``archsim`` command line in the code blocks of README.md and docs/*.md (and the Makefile's
``make run``) runs in a temporary folder holding what a fresh clone has: the committed hwconfigs, sweep
files, GPU logs, workloads and results/sweeps, and nothing else (no runs/, no results/run_*). Lines with
placeholders (``WORKLOAD.npz``, ``GPU_LOG``, ``[--flag ...]``, a scheduler address) are skipped. Where a
command is long, the data is made small, never the command: the big workloads are cut to their first
samples and the sweep files to a few samples per point. ``make run`` runs on the full VGG16 workload (a
few seconds) and must reproduce the README's row.

The other ``python`` commands of those code blocks (training, export, conversion, NIR, SANA-FE validation:
minutes to hours, or a data set) are not run: their script or module must exist and take every ``--flag``
the documentation gives it (its ``--help`` lists it). Every relative link and image of README.md and
docs/*.md must point at a file of the repository, and a ``#fragment`` at one of that page's headings.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
# archsim spelled as the README spells it -> how this test runs it (the environment's python)
LAUNCHERS = (("archsim",), (".venv/bin/archsim",), ("python", "-m", "archsim"), (".venv/bin/python", "-m", "archsim"))
PYTHONS = ("python", "python3", ".venv/bin/python")
PLACEHOLDER = re.compile(r"\[|\b[A-Z][A-Z0-9_]{2,}\b(?!\.yaml)|SOME_|HOST")
SKIP_SUBCOMMANDS = {"validate"}   # SANA-FE validation: its own tests (tests/archsim/test_validate_sanafe.py)
SMALL = {"workloads/synthetic_vgg16.npz": 60, "workloads/small_c10_quartz.npz": 60,
         "workloads/small_c10_rate.npz": 40}  # vgg16_c10.npz stays whole: make run runs all of it
SWEEP_SAMPLES = 20
UJ = {"uJ": 1.0, "mJ": 1000.0}
# Pages that other work adds (issue 32): linked already, checked once they exist.
PENDING_PAGES = {"docs/gpu_log_formats.md", "docs/adding_a_unit.md"}


def doc_pages() -> list[Path]:
    """README.md first, then every page under docs/, in a stable order."""
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def code_lines(text: str) -> list[str]:
    """The command lines of a page's fenced and indented code blocks, continuation lines joined, ``$ `` dropped."""
    blocks, fenced = [], False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.startswith("    "):
            blocks.append(line.strip())
    joined, buf = [], ""
    for line in blocks:
        buf = (buf + " " + line) if buf else line
        if buf.endswith("\\"):
            buf = buf[:-1].rstrip()
            continue
        joined.append(buf.removeprefix("$ "))
        buf = ""
    return joined


def _words(cmd: str) -> list[str] | None:
    try:
        return shlex.split(cmd, comments=True)
    except ValueError:
        return None


def readme_commands(text: str) -> list[list[str]]:
    """Concrete archsim command lines of a page's fenced and indented code blocks, as argv lists."""
    out = []
    for cmd in code_lines(text):
        words = _words(cmd)
        if not words:
            continue
        for launcher in LAUNCHERS:
            if tuple(words[:len(launcher)]) == launcher and len(words) > len(launcher):
                args = words[len(launcher):]
                if args[0] not in SKIP_SUBCOMMANDS and not PLACEHOLDER.search(" ".join(args)):
                    out.append(args)
                break
    return out


def python_commands(text: str) -> list[tuple[str, list[str]]]:
    """Every other ``python -m MODULE ...`` / ``python SCRIPT.py ...`` line of a page's code blocks, as
    (module or script, the words after it); archsim's skipped subcommands (``validate``) included."""
    out = []
    for cmd in code_lines(text):
        words = _words(cmd)
        if not words or words[0] not in PYTHONS or len(words) < 2:
            continue
        if words[1] == "-m" and len(words) > 2:
            target, rest = words[2], words[3:]
        elif words[1].endswith(".py"):
            target, rest = words[1], words[2:]
        else:
            continue
        if target == "archsim" and (not rest or rest[0] not in SKIP_SUBCOMMANDS):
            continue                     # run for real by test_every_documented_command_works_on_a_fresh_clone
        out.append((target, rest))
    return out


def flags_of(words: list[str]) -> set[str]:
    """The long options a command line gives (``--out``, ``--t-max``; ``--flag=x`` counts as ``--flag``)."""
    return {w.split("=", 1)[0] for w in words if re.fullmatch(r"--[a-z][a-z0-9-]*(=.*)?", w)}


def subcommand_of(words: list[str]) -> list[str]:
    """Leading bare words that name a subcommand, at most two (``import`` in ``snn.nir import FILE``,
    ``validate sanafe`` in ``archsim validate sanafe FILE``; a path is not one)."""
    out = []
    for w in words:
        if not re.fullmatch(r"[a-z][a-z_-]*", w):
            break
        out.append(w)
    return out[:2]


def made_by_the_readme(text: str) -> set[str]:
    """Workloads that a documented command writes (``--workload-out X.npz``, or ``snn.export ... --out X.npz``):
    big and regenerable ones are not committed, and the page shows the command that makes them first."""
    return set(re.findall(r"--(?:workload-)?out\s+(workloads/\S+\.npz)", text))


def make_run_command() -> list[str]:
    text = (REPO / "Makefile").read_text()
    block = text.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    line = next(ln.strip() for ln in block.splitlines()[1:] if "archsim" in ln)
    words = shlex.split(line)
    first = words[0].replace("$(BIN)/", ".venv/bin/")
    for launcher in LAUNCHERS:
        if tuple([first, *words[1:]][:len(launcher)]) == launcher:
            return words[len(launcher):]
    raise AssertionError(f"make run does not run archsim: {line}")


# ---- links -------------------------------------------------------------------------------------------------
LINK = re.compile(r"!?\[([^\]]*)\]\(([^)\s]+)\)")


def prose(text: str) -> str:
    """A page without its fenced code blocks and inline code spans (links inside code are not links)."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            out.append(re.sub(r"`[^`]*`", "", line))
    return "\n".join(out)


def heading_anchors(text: str) -> set[str]:
    """The fragment GitHub gives each heading: lower case, punctuation dropped (but ``-`` and ``_``),
    spaces to ``-``, ``-1``, ``-2`` ... for repeats."""
    seen: dict[str, int] = {}
    anchors = set()
    fenced = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        m = None if fenced else re.match(r"#{1,6} (.+?)\s*#*\s*$", line)
        if not m:
            continue
        title = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1))
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def broken_links(page: Path) -> list[str]:
    bad = []
    for _, target in LINK.findall(prose(page.read_text())):
        if re.match(r"[a-z]+:", target):           # https:, mailto:
            continue
        path, _, fragment = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        rel = dest.relative_to(REPO).as_posix() if dest.is_relative_to(REPO) else str(dest)
        if rel in PENDING_PAGES and not dest.exists():
            continue
        if not dest.exists():
            bad.append(f"{page.relative_to(REPO)}: {target}: no such file")
        elif fragment and dest.suffix == ".md" and fragment not in heading_anchors(dest.read_text()):
            bad.append(f"{page.relative_to(REPO)}: {target}: no heading #{fragment} in {rel}")
    return bad


# ---- fixtures ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """What a fresh clone holds (tracked files only), with the long workloads and sweeps made small."""
    root = tmp_path_factory.mktemp("clone")
    tracked = subprocess.run(["git", "ls-files", "hwconfigs", "gpu_logs", "workloads", "results/sweeps"],
                             cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for rel in tracked:
        src = REPO / rel
        if src.is_file():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, root / rel)
    from archsim.workload import load_workload, save_workload
    for rel, n in SMALL.items():
        if (root / rel).exists():
            wl = load_workload(root / rel)
            (root / rel).unlink()
            save_workload(root / rel, wl.subset(min(n, wl.n_samples)))
    for sweep in (root / "hwconfigs" / "sweeps").glob("*.yaml"):
        raw = yaml.safe_load(sweep.read_text())
        raw.setdefault("fixed", {})["samples"] = SWEEP_SAMPLES
        sweep.write_text(yaml.safe_dump(raw, sort_keys=False))
    assert not (root / "runs").exists()
    return root


def run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "archsim", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


# ---- the extractors, on hand-written pages -----------------------------------------------------------------
def test_the_extractors_on_a_hand_written_page():
    page = ("Text with `archsim run a.yaml b.npz` inline (not run).\n\n"
            "```bash\n"
            "archsim run hwconfigs/default.yaml workloads/x.npz \\\n    --out runs/x   # a comment\n"
            "archsim run hwconfigs/default.yaml WORKLOAD.npz\n"
            "python -m archsim validate sanafe net.yaml --samples 2\n"
            "python -m snn.nir import m.nir --timesteps 4 --out=workloads/y.npz\n"
            "```\n\n"
            "    $ .venv/bin/python benchmarks/sim_speed.py --json out.json\n"
            "    python -m archsim pareto results/sweeps/a --x fps\n")
    assert readme_commands(page) == [["run", "hwconfigs/default.yaml", "workloads/x.npz", "--out", "runs/x"],
                                     ["pareto", "results/sweeps/a", "--x", "fps"]]
    assert python_commands(page) == [
        ("archsim", ["validate", "sanafe", "net.yaml", "--samples", "2"]),
        ("snn.nir", ["import", "m.nir", "--timesteps", "4", "--out=workloads/y.npz"]),
        ("benchmarks/sim_speed.py", ["--json", "out.json"])]
    assert flags_of(python_commands(page)[1][1]) == {"--timesteps", "--out"}
    assert subcommand_of(["import", "m.nir", "--x"]) == ["import"]
    assert subcommand_of(["models/a.pt", "--x"]) == []
    assert subcommand_of(["validate", "sanafe", "net.yaml"]) == ["validate", "sanafe"]


def test_heading_anchors_follow_github():
    text = ("# The VGG16 ATSNN (`results/a.json`, `b.pt`)\n## What sets the default accelerator's figures\n"
            "```\n# not a heading\n```\n## Speed\n### Speed\n")
    assert heading_anchors(text) == {"the-vgg16-atsnn-resultsajson-bpt",
                                     "what-sets-the-default-accelerators-figures", "speed", "speed-1"}


def test_broken_links_are_found(tmp_path, monkeypatch):
    tmp_path = tmp_path.resolve()
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n## Part two\n")
    page = tmp_path / "README.md"
    page.write_text("[ok](docs/a.md) [ok](docs/a.md#part-two) [bad](docs/b.md) [bad](docs/a.md#part-three)\n"
                    "[pending](docs/adding_a_unit.md) [web](https://x.org/y) `[code](nowhere.md)`\n"
                    "![img](results/missing.png)\n")
    assert broken_links(page) == ["README.md: docs/b.md: no such file",
                                  "README.md: docs/a.md#part-three: no heading #part-three in docs/a.md",
                                  "README.md: results/missing.png: no such file"]


# ---- the documentation itself ------------------------------------------------------------------------------
def test_the_docs_name_their_commands():
    readme = readme_commands((REPO / "README.md").read_text())
    assert {c[0] for c in readme} >= {"run", "sweep", "pareto"}, readme
    cmds = [c for page in doc_pages() for c in readme_commands(page.read_text())]
    assert {c[0] for c in cmds} >= {"run", "sweep", "pareto", "compare-gpu"}, cmds
    assert len(cmds) >= 8


def test_the_readme_stays_a_front_door():
    """<= 400 lines, and every page under docs/ is linked from its Documentation list."""
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 400
    linked = {target.partition("#")[0] for _, target in LINK.findall(prose(text))}
    missing = [p.relative_to(REPO).as_posix() for p in doc_pages()[1:]
               if p.relative_to(REPO).as_posix() not in linked]
    assert not missing, f"docs pages the README does not link: {missing}"


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_resolves(page):
    assert not broken_links(page)


def test_the_hwconfig_reference_names_every_field():
    """Every key the committed hwconfigs use is named in docs/hwconfig.md (free-form maps: their own key)."""
    free_form = {"layers", "by_op", "by_model", "sync_ns_by_tiles"}    # keys are layer names, ops, tile counts
    doc = (REPO / "docs" / "hwconfig.md").read_text()
    named = set(re.findall(r"`([^`]+)`", doc))
    named |= {part.strip() for n in named for part in n.replace(".", ",").split(",")}

    def keys(node, path=()):
        for k, v in node.items():
            yield path + (str(k),)
            if isinstance(v, dict) and str(k) not in free_form:
                yield from keys(v, path + (str(k),))

    missing = set()
    for cfg in sorted((REPO / "hwconfigs").glob("*.yaml")):
        for path in keys(yaml.safe_load(cfg.read_text())):
            if path[-1] not in named:
                missing.add(".".join(path))
    assert not missing, f"hwconfig keys docs/hwconfig.md does not name: {sorted(missing)}"


def test_the_other_documented_commands_take_their_flags():
    """Each documented ``python -m snn.X ...`` / ``python SCRIPT.py ...`` (and ``archsim validate``): its
    module or script exists and its ``--help`` lists every flag the page gives it. One interpreter runs
    every ``--help`` (torch is imported once); a module whose optional dependency is missing is skipped."""
    wanted: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    where: dict[tuple[str, tuple[str, ...]], str] = {}
    for page in doc_pages():
        for target, rest in python_commands(page.read_text()):
            key = (target, tuple(subcommand_of(rest)))
            wanted.setdefault(key, set()).update(flags_of(rest))
            where.setdefault(key, page.relative_to(REPO).as_posix())
    assert wanted, "no documented python commands found"
    for target, _ in wanted:
        if target.endswith(".py"):
            assert (REPO / target).is_file(), f"{where[(target, _)]}: no script {target}"
    probe = r"""
import contextlib, io, json, runpy, sys
out = {}
for target, sub in json.loads(sys.argv[1]):
    buf = io.StringIO()
    sys.argv = [target, *sub, "--help"]
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
            if target.endswith(".py"):
                runpy.run_path(target, run_name="__main__")
            else:
                runpy.run_module(target, run_name="__main__", alter_sys=True)
    except SystemExit:
        pass
    except ImportError as err:
        out[" ".join([target, *sub])] = {"skip": str(err)}
        continue
    out[" ".join([target, *sub])] = {"help": buf.getvalue()}
print(json.dumps(out))
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "-c", probe, json.dumps([[t, list(s)] for t, s in wanted])], cwd=REPO,
                       env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    helps = json.loads(r.stdout.strip().splitlines()[-1])
    failures = []
    for (target, sub), flags in wanted.items():
        got = helps[" ".join([target, *sub])]
        if "skip" in got:
            continue
        listed = set(re.findall(r"--[a-z][a-z0-9-]*", got["help"]))
        if not listed:
            failures.append(f"{where[(target, sub)]}: python -m {target} {' '.join(sub)} --help printed no options")
        elif flags - listed:
            failures.append(f"{where[(target, sub)]}: {target} {' '.join(sub)}: no option {sorted(flags - listed)}")
    assert not failures, "\n".join(failures)


def test_make_run_reproduces_the_readme_row(clone):
    """`make run`: the full workload at the policy it was calibrated with, and the figures the README gives
    for it ("... so it reproduces the ... row (X uJ/image, Y timesteps, Z FPS)")."""
    claim = re.search(r"reproduces\s+the[^()]*row\s+\(([\d,.]+)\s+(uJ|mJ)/image,\s+([\d.]+)\s+timesteps,\s+([\d,.]+)\s+FPS\)",
                      (REPO / "README.md").read_text())
    assert claim, "the README no longer states what make run gives"
    uj = float(claim.group(1).replace(",", "")) * UJ[claim.group(2)]
    steps, fps = float(claim.group(3)), float(claim.group(4).replace(",", ""))
    args = make_run_command()
    r = run(args, clone)
    assert r.returncode == 0, r.stderr
    from archsim.workload import load_workload
    meta = load_workload(clone / args[2]).meta     # make run: run HWCONFIG WORKLOAD ...
    assert f"exit policy {meta['exit_policy']} >= {meta['threshold']:g} (the workload's calibrated one)" in r.stdout
    assert float(re.search(r"Timesteps\s+([\d.]+) average", r.stdout).group(1)) == pytest.approx(steps, abs=0.005)
    e = re.search(r"total, ([\d.]+) (uJ|mJ) per image", r.stdout)
    energy = float(e.group(1)) * UJ[e.group(2)]
    got_fps = float(re.search(r"Throughput\s+([\d.]+) FPS", r.stdout).group(1))
    assert (round(energy), round(got_fps)) == (round(uj), round(fps)), r.stdout[:600]
    out = Path(args[args.index("--out") + 1])
    assert (clone / out / "per_layer.png").is_file()


def test_every_documented_command_works_on_a_fresh_clone(clone):
    texts = {page.relative_to(REPO).as_posix(): page.read_text() for page in doc_pages()}
    made = {w for text in texts.values() for w in made_by_the_readme(text) if not (clone / w).exists()}
    cmds: dict[tuple[str, ...], str] = {}         # each distinct command once, in page order
    for name, text in texts.items():
        for args in readme_commands(text):
            if not made & set(args):
                cmds.setdefault(tuple(args), name)
    before = {p: p.read_bytes() for p in (clone / "results" / "sweeps").rglob("*") if p.is_file()}
    failures = []
    for args, page in cmds.items():
        r = run(list(args), clone)
        if r.returncode != 0:
            failures.append(f"{page}: archsim {shlex.join(args)}\n  -> exit {r.returncode}: {r.stderr.strip()[-600:]}")
        elif "Traceback" in r.stderr:
            failures.append(f"{page}: archsim {shlex.join(args)}\n  -> a traceback on stderr")
    assert not failures, "\n".join(failures)
    # the sweeps wrote under runs/ (git-ignored), never into the committed results
    assert (clone / "runs" / "sweeps" / "exit_x_sram" / "results.csv").is_file()
    after = {p: p.read_bytes() for p in (clone / "results" / "sweeps").rglob("*") if p.is_file()}
    changed = [str(p.relative_to(clone)) for p in before if after.get(p) != before[p]]
    assert not changed, changed
    # nothing machine-specific in what a sweep writes
    for resolved in (clone / "runs").rglob("sweep.resolved.yaml"):
        assert str(clone) not in resolved.read_text() and str(REPO) not in resolved.read_text()
