"""Committed compiler output of the sandbox contracts.

The JSON files next to this module are produced by ``node scripts/compile_contracts.mjs`` (solc-js 0.8.37,
OpenZeppelin 5.7.0, EVM ``cancun``, optimizer 200 runs) and committed, so that the sandbox and the tests never
need a compiler. ``tests/sandbox/test_contract_artifacts.py`` recompiles and checks that they did not drift from
``contracts/*.sol``.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"

#: The contracts that have an artifact.
CONTRACT_NAMES = ("SwanToken", "ClientPayment")


@cache
def _load(name: str) -> dict[str, Any]:
    if name not in CONTRACT_NAMES:
        raise KeyError(f"no artifact for contract {name!r}; known: {', '.join(CONTRACT_NAMES)}")
    path = ARTIFACTS_DIR / f"{name}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def load_artifact(name: str) -> dict[str, Any]:
    """Return the artifact of contract ``name`` (``"SwanToken"`` or ``"ClientPayment"``).

    The result has the keys ``contractName``, ``abi`` (list), ``bytecode`` (``0x`` hex creation code),
    ``compiler``, ``evmVersion`` and ``sourceSha256``. A fresh deep copy is returned on every call, so callers
    may modify it. Unknown names raise :class:`KeyError`.
    """
    return copy.deepcopy(_load(name))
