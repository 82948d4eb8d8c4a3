"""A/B runs: the current code beside a previous commit's, in one run on one database and Redis.

`BENCH_BASELINE_REF=<git ref>`: the ref is exported (`git archive`) once to
var/bench-refs/<sha>/ and its servers run from there (cwd and PYTHONPATH that tree, the same
.venv), next to the current code's. Only servers run the previous code: whatever a bench
imports in-process comes from the current checkout. The models and schema must be the same
in both, since one database serves both.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from _django import ROOT

BASELINE_REF = os.getenv("BENCH_BASELINE_REF", "")
REFS = ROOT / "var" / "bench-refs"


@dataclass(frozen=True)
class Side:
    label: str  # "current", or the ref and its commit
    root: Path  # the code its processes run: their cwd and PYTHONPATH


def sides() -> list[Side]:
    """The current code, then the previous ref's (if BENCH_BASELINE_REF names one)."""
    found = [Side("current", ROOT)]
    if BASELINE_REF:
        sha = _git("rev-parse", "--verify", f"{BASELINE_REF}^{{commit}}").strip()
        label = BASELINE_REF if sha.startswith(BASELINE_REF) else f"{BASELINE_REF} ({sha[:8]})"
        found.append(Side(label, _export(sha)))
        ours = {p for p in _git("ls-files", "--cached", "--others", "--exclude-standard").split() if (ROOT / p).exists()}
        changed = _migrations(ours) ^ _migrations(_git("ls-tree", "-r", "--name-only", sha).split())
        if changed:  # one database serves both sides, migrated by the current code
            print(f"  warning: not the same migrations as {label}: {', '.join(sorted(changed))}", file=sys.stderr)
    for side in found:
        where = subprocess.run([sys.executable, "-c", "import answering; print(answering.__file__)"],
                               cwd=side.root, env=env_for(side, os.environ), capture_output=True, text=True,
                               check=True).stdout.strip()
        if not Path(where).is_relative_to(side.root):  # never measure one tree twice by mistake
            raise RuntimeError(f"{side.label}: answering imports from {where}, not from {side.root}")
    return found


def _migrations(paths: list[str] | set[str]) -> set[str]:
    return {path for path in paths if "/migrations/0" in path and path.endswith(".py")}


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True).stdout


def _export(sha: str) -> Path:
    """The commit's files under var/bench-refs/<sha> (var/ is git-ignored); kept for the next run."""
    tree = REFS / sha
    if not tree.is_dir():
        partial = REFS / f".partial-{sha}-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        archive = subprocess.Popen(["git", "-C", str(ROOT), "archive", sha], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(partial)], stdin=archive.stdout, check=True)
        if archive.wait() != 0:
            raise RuntimeError(f"git archive {sha} failed")
        partial.rename(tree)
    return tree


def env_for(side: Side, env: dict) -> dict:
    """The side's code first on the path; var/ (embedded servers' ports) still this checkout's."""
    return {"SWITCHBOARD_VAR": str(ROOT / "var"), **env, "PYTHONPATH": str(side.root)}


def start(side: Side, command: list[str], env: dict, log: str) -> subprocess.Popen:
    """Start one of the side's processes; its output goes to var/<log>.log."""
    with open(ROOT / "var" / f"{log}.log", "wb") as out:
        return subprocess.Popen(command, cwd=side.root, env=env_for(side, env), stdout=out,
                                stderr=subprocess.STDOUT)


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
