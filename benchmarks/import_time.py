"""Import and load cost of the extension next to the peer clients, measured in one run.

Each measurement runs in a fresh interpreter, several times (median reported):

* ``swan_jupyter``: ``import swan_jupyter`` and then ``%load_ext swan_jupyter`` in an InteractiveShell (IPython
  itself is imported before the clock starts, since a notebook kernel has it already);
* ``swan`` (swan-sdk 0.1.4) and ``agavepy`` (0.9.5) in their own virtualenvs under ``benchmarks/.venvs``
  (built by ``scripts/make_peer_venvs.sh``); a missing virtualenv is reported, not silently skipped.

Usage: ``.venv/bin/python benchmarks/import_time.py [--runs 7]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENVS = ROOT / "benchmarks" / ".venvs"

PROBE = r"""
import json, resource, sys, time
PRE
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
BODY
t1 = time.perf_counter()
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
heavy = [m for m in ("web3", "pandas", "ipywidgets", "eth_account") if m in sys.modules]
print(json.dumps({"seconds": t1 - t0, "rss_mb": (rss1 - rss0) / 1024, "heavy": heavy}))
"""

CASES = {
    "swan_jupyter import": (sys.executable, "", "import swan_jupyter"),
    "swan_jupyter import + %load_ext": (
        sys.executable,
        "from IPython.core.interactiveshell import InteractiveShell; ip = InteractiveShell.instance()",
        "ip.run_line_magic('load_ext', 'swan_jupyter')",
    ),
    "swan-sdk 0.1.4: import swan": (str(VENVS / "swan-sdk" / "bin" / "python"), "", "import swan"),
    "agavepy 0.9.5: import agavepy": (str(VENVS / "agavepy" / "bin" / "python"), "", "import agavepy.agave"),
    "tapipy: import tapipy": (str(VENVS / "tapipy" / "bin" / "python"), "", "import tapipy.tapis"),
}


def measure(python: str, pre: str, body: str, runs: int) -> dict[str, object] | None:
    """Median of ``runs`` fresh interpreters, after one warm-up run that writes the bytecode caches: the peers were
    byte-compiled when pip installed them, and so is a pip user's swan_jupyter; an editable checkout under
    ``PYTHONDONTWRITEBYTECODE`` would otherwise compile every module from source at each run (about 25 ms)."""
    if not Path(python).exists():
        return None
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    code = PROBE.replace("PRE", pre).replace("BODY", body)
    subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    results = []
    for _ in range(runs):
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=env)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        "median_s": statistics.median(r["seconds"] for r in results),
        "rss_mb": statistics.median(r["rss_mb"] for r in results),
        "heavy": results[0]["heavy"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    rows = {name: measure(*case, runs=args.runs) for name, case in CASES.items()}
    ours = rows["swan_jupyter import + %load_ext"]
    print(f"{'what':38s} {'median':>9s} {'max RSS +':>10s}  ratio vs swan_jupyter load   heavy modules imported")
    for name, row in rows.items():
        if row is None:
            print(f"{name:38s} {'(virtualenv missing: run scripts/make_peer_venvs.sh)':>9s}")
            continue
        ratio = f"{row['median_s'] / ours['median_s']:.1f}x" if ours else "-"  # type: ignore[operator]
        print(f"{name:38s} {row['median_s'] * 1000:7.1f} ms {row['rss_mb']:7.1f} MB  {ratio:>26s}   "
              f"{', '.join(row['heavy']) or '-'}")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
