"""Exit 0 when swan-jupyter is installed in this interpreter with every requirement of the extras named on the
command line satisfied (``python scripts/installed.py sandbox lab test``), 1 otherwise.

``scripts/install`` uses it to skip pip (and its network round trips and banners) when nothing is missing.
The requirements are read from this checkout's ``pyproject.toml``, so an added dependency triggers pip.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib


def missing(extras: list[str]) -> list[str]:
    """The requirements of the package and of ``extras`` that this interpreter does not satisfy."""
    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
    wanted = [project["name"], *project["dependencies"]]
    for extra in extras:
        wanted += project.get("optional-dependencies", {}).get(extra, [])
    out = []
    for text in wanted:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            out.append(text)
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            out.append(f"{text} (have {version})")
    return out


if __name__ == "__main__":
    absent = missing(sys.argv[1:])
    for line in absent:
        print(f"missing: {line}", file=sys.stderr)
    sys.exit(1 if absent else 0)
