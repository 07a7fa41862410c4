"""``abacosamples/test``: Abaco's test sample (``samples/abaco_test/test.sh``, 34 lines), as a local program.

Like the shell script: prints ``Contents of MSG: `` and ``$MSG`` unquoted (so the shell's word splitting
turns runs of blanks and newlines into single spaces), sleeps 2 s, prints ``Environment:`` and the environment
(``env``: ``KEY=value`` lines), the root folder listing, and the checks of the optional mounts and of two
TACC folders (absent here, so ``ls`` complains on standard error, as it does in the busybox container).

With ``--short`` it is ``jstubbs/abaco_test`` (``images/abaco_test/test.sh``): the message, 2 s, the
environment, nothing more. The sleep is in sandbox seconds (:func:`.support.sleep_scaled`). The value of
``_abaco_access_token`` is not printed (only its length): logs never carry secrets.
"""

from __future__ import annotations

import os
import sys

from swan_jupyter.sandbox.abaco.images.support import sleep_scaled

TACC_FOLDERS = (("****Contents of jstubbs work:****", "/work/01837/jstubbs"),
                ("****Contents of /corral:****", "/corral"))


def _env_lines() -> list[str]:
    lines = []
    for key, value in os.environ.items():
        if key == "_abaco_access_token" and value:
            value = f"<redacted, {len(value)} characters>"
        lines.append(f"{key}={value}")
    return lines


def _ls(path: str) -> None:
    try:
        names = sorted(os.listdir(path))
    except OSError:
        print(f"ls: {path}: No such file or directory", file=sys.stderr, flush=True)
        return
    print("\n".join(names), flush=True)


def main(argv: list[str]) -> None:
    """Print what the sample prints, in its order."""
    words = os.environ.get("MSG", "").split()
    print("Contents of MSG: " + " ".join(words), flush=True)
    sleep_scaled(2, argv)
    print("Environment:")
    print("\n".join(_env_lines()), flush=True)
    if "--short" in argv:
        return
    print("Contents of root file system: ")
    _ls("/")
    print("Checking for contents of mounts:")
    print("Mount does not exist", flush=True)  # /_abaco_data1 is an optional global mount
    for title, path in TACC_FOLDERS:
        print(title, flush=True)
        _ls(path)


if __name__ == "__main__":
    main(sys.argv[1:])
