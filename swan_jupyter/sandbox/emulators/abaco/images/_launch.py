"""Run an actor image in this process and record its resource usage in ``$_abaco_stats_path``.

Usage: ``python _launch.py file <path.py>`` or ``python _launch.py module <package.module>``.
"""

from __future__ import annotations

import json
import os
import resource
import runpy
import sys


def _io_bytes() -> int:
    try:
        with open("/proc/self/io", encoding="ascii") as fh:
            fields = dict(line.split(": ") for line in fh.read().splitlines())
        return int(fields.get("rchar", 0)) + int(fields.get("wchar", 0))
    except (OSError, ValueError):
        return 0


def main() -> None:
    """Run the target as ``__main__`` and always write the stats file."""
    kind, target = sys.argv[1], sys.argv[2]
    sys.argv = [target]
    try:
        if kind == "module":
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.path.insert(0, os.path.dirname(target))
            runpy.run_path(target, run_name="__main__")
    finally:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        stats = {"cpu": int((usage.ru_utime + usage.ru_stime) * 1e9), "io": _io_bytes()}
        path = os.environ.get("_abaco_stats_path")  # noqa: SIM112 - Abaco env names
        if path:
            with open(path, "w", encoding="ascii") as fh:
                json.dump(stats, fh)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
