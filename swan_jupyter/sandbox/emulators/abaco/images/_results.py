"""Result channel for actor scripts: each item is appended to ``$_abaco_results_path`` as 4-byte length + bytes."""

from __future__ import annotations

import os
import struct


def send_bytes_result(data: bytes) -> None:
    """Queue one result item for the current execution (like agavepy.actors.send_bytes_result)."""
    path = os.environ.get("_abaco_results_path")  # noqa: SIM112 - Abaco env names
    if not path:
        return
    with open(path, "ab") as fh:
        fh.write(struct.pack(">I", len(data)) + data)


def read_results(path: str) -> list[bytes]:
    """Decode every item of a results file (used by the emulator)."""
    items: list[bytes] = []
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError:
        return items
    pos = 0
    while pos + 4 <= len(raw):
        (size,) = struct.unpack(">I", raw[pos:pos + 4])
        items.append(raw[pos + 4:pos + 4 + size])
        pos += 4 + size
    return items
