"""The committed contract artifacts are exactly what the committed Solidity sources compile to."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from swan_jupyter.sandbox.chain.artifacts import ARTIFACTS_DIR, CONTRACT_NAMES, load_artifact

ROOT = Path(__file__).resolve().parents[2]
SOLC = ROOT / "node_modules" / "solc"


def test_artifacts_have_the_documented_shape() -> None:
    for name in CONTRACT_NAMES:
        artifact = load_artifact(name)
        assert set(artifact) == {"contractName", "abi", "bytecode", "compiler", "evmVersion", "sourceSha256"}
        assert artifact["contractName"] == name
        assert artifact["evmVersion"] == "cancun"
        assert artifact["compiler"].startswith("0.8.37+")
        assert artifact["bytecode"].startswith("0x") and len(artifact["bytecode"]) > 1000
        source = (ROOT / "contracts" / f"{name}.sol").read_bytes()
        assert artifact["sourceSha256"] == hashlib.sha256(source).hexdigest(), f"{name}.sol changed: recompile"


@pytest.mark.skipif(not SOLC.is_dir(), reason="node_modules/solc is absent: run `npm ci` at the repository root")
def test_recompiling_gives_the_committed_artifacts(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node is not None, "node is required to recompile the contracts"
    result = subprocess.run(
        [node, str(ROOT / "scripts" / "compile_contracts.mjs"), "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )
    assert result.returncode == 0, result.stderr
    for name in CONTRACT_NAMES:
        fresh = (tmp_path / f"{name}.json").read_bytes()
        committed = (ARTIFACTS_DIR / f"{name}.json").read_bytes()
        assert fresh == committed, f"{name}.json is stale: run `node scripts/compile_contracts.mjs`"
