"""swan-sdk 0.1.4, unchanged and in its own virtualenv, against the Orchestrator emulator and a real anvil.

The SDK runs in ``benchmarks/.venvs/swan-sdk`` (build it with ``scripts/make_peer_venvs.sh swan-sdk``): a small
driver script does what a user does (``swan.resource`` → ``create_task(auto_pay=True)`` with the sandbox
wallet's key → ``get_deployment_info`` → ``get_real_url`` → ``renew_task`` → ``terminate_task``, plus the
side calls) and prints one JSON document. The API key and the private key reach the script through files, never
through its command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from swan_jupyter.sandbox.chain import ChainProcess, start_chain
from swan_jupyter.sandbox.orchestrator import catalogue as cat
from tests.sandbox.orchestrator_tools import Emulator, Wallet, wallet_key

ROOT = Path(__file__).resolve().parents[2]
SDK_PYTHON = ROOT / "benchmarks" / ".venvs" / "swan-sdk" / "bin" / "python"
TIME_SCALE = 60.0  # jobs run two real seconds after payment; an hour lasts a real minute

pytestmark = pytest.mark.skipif(
    not SDK_PYTHON.exists(),
    reason=f"swan-sdk 0.1.4 virtualenv missing at {SDK_PYTHON}; build it with scripts/make_peer_venvs.sh swan-sdk",
)

DRIVER = textwrap.dedent('''
    import json, sys, time
    from pathlib import Path

    import requests
    import swan
    from eth_account import Account

    url, api_key_file, key_file = sys.argv[1:4]
    api_key = Path(api_key_file).read_text().strip()
    private_key = Path(key_file).read_text().strip()
    wallet = Account.from_key(private_key).address
    out = {"wallet": wallet}

    orch = swan.resource(api_key=api_key, service_name="Orchestrator", login_url=url, url_endpoint=url)
    out["instances"] = [r.to_dict()["instance_type"] for r in orch.get_instance_resources()]
    out["gpus"] = orch.get_gpu_selection_list(region="all").to_dict()["gpu_list"]
    out["custom"] = orch.get_custom_instance_result(
        {"cpu": 2, "memory": 4, "storage": 30, "gpu_model": "NVIDIA 3080", "gpu_count": 1}, region="global").to_dict()

    created = orch.create_task(wallet_address=wallet, instance_type="C1ae.small", region="Quebec-CA",
                               duration=5400, app_repo_image="hello_world", private_key=private_key,
                               auto_pay=True)
    if created is None:
        print(json.dumps({**out, "error": "create_task returned None"}))
        sys.exit(0)
    uuid = created["task_uuid"]
    out["created"] = {"task_uuid": uuid, "tx_hash": created["tx_hash"], "price": created["price"],
                      "order_type": created["config_order"]["order_type"], "status": created["status"]}
    deadline = time.monotonic() + 60
    while True:
        info = orch.get_deployment_info(uuid)
        if info["task"]["status"] == "completed" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    out["running"] = {"status": info["task"]["status"], "jobs": [j["status"] for j in info["jobs"]]}
    out["urls"] = orch.get_real_url(uuid)
    out["url_pages"] = [[r.status_code, uuid in r.text] for r in (requests.get(u, timeout=5) for u in out["urls"])]
    renewed = orch.renew_task(uuid, duration=3600, auto_pay=True, private_key=private_key)
    out["renewed"] = None if renewed is None else {
        "tx_hash": renewed["tx_hash"], "order_type": renewed["config_order"]["order_type"],
        "duration": renewed["task"]["task_detail"]["duration"]}
    out["order_status"] = orch.get_config_order_status(uuid, created["tx_hash"])
    out["tasks"] = orch.get_task_list(wallet_address=wallet, page=1, size=5).to_dict()["total"]
    out["review"] = orch.claim_review(uuid)
    terminated = orch.terminate_task(uuid)
    out["terminated"] = None if terminated is None else terminated.to_dict()
    final = orch.get_deployment_info(uuid)
    out["final"] = {"status": final["task"]["status"], "refund_amount": final["task"]["refund_amount"],
                    "refund_tx_hash": final["config_orders"][-1]["refund_tx_hash"]}

    custom = orch.create_task(wallet_address=wallet, duration=3600, app_repo_image="tetris", private_key=private_key,
                              custom_instance={"cpu": 2, "memory": 4, "storage": 30, "gpu_model": "NVIDIA 3080",
                                               "gpu_count": 1}, auto_pay=True)
    if custom is not None:
        detail = orch.get_deployment_info(custom["task_uuid"])["task"]["task_detail"]
        out["custom_task"] = {"order_type": custom["config_order"]["order_type"], "hardware_id": detail["hardware_id"],
                              "price_per_hour": detail["price_per_hour"]}
        orch.terminate_task(custom["task_uuid"])
    print(json.dumps(out, default=str))
''')


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainProcess]:
    process = start_chain(tmp_path_factory.mktemp("orch-sdk-chain"), cat.chain_prices())
    yield process
    process.stop()


@pytest.fixture(scope="module")
def emu(chain: ChainProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    server = Emulator(tmp_path_factory.mktemp("orch-sdk-state"), chain, TIME_SCALE)
    yield server
    server.stop()


def run_driver(emu: Emulator, chain: ChainProcess, tmp_path: Path) -> dict[str, Any]:
    script = tmp_path / "drive_swan_sdk.py"
    script.write_text(DRIVER)
    api_key_file = tmp_path / "api_key"
    api_key_file.write_text(emu.api_key)
    api_key_file.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if k not in ("API_KEY", "PYTHONPATH")}
    done = subprocess.run([str(SDK_PYTHON), str(script), emu.url, str(api_key_file),
                           str(chain.info.private_key_file)], capture_output=True, text=True, timeout=240,
                          env=env, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no JSON from the driver; stderr:\n{done.stderr[-4000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def test_swan_sdk_full_task_lifecycle(emu: Emulator, chain: ChainProcess, tmp_path: Path) -> None:
    wallet = Wallet(chain, wallet_key(chain))
    start = wallet.balance()
    out = run_driver(emu, chain, tmp_path)
    assert "error" not in out, out
    assert out["instances"] == [m.name for m in cat.MACHINES if m.available]
    assert {g["gpu_model"] for g in out["gpus"]} == {"NVIDIA 3080", "NVIDIA 4090"}
    assert out["custom"]["available"] is True and out["custom"]["price_per_hour"] == 10.0
    created = out["created"]
    assert created["order_type"] == "Creation" and created["tx_hash"].startswith("0x")
    assert out["running"] == {"status": "completed", "jobs": ["Running"] * 3}
    assert len(out["urls"]) == 3
    assert out["url_pages"] == [[200, True]] * 3  # the apps answered while the task was running
    assert all(requests.get(u, timeout=5).status_code == 410 for u in out["urls"])  # and stopped at terminate
    assert out["renewed"] == {"tx_hash": out["renewed"]["tx_hash"], "order_type": "Renewal", "duration": 9000}
    assert out["order_status"]["data"]["order_type"] == "Creation"
    assert out["tasks"] >= 1 and out["review"]["status"] == "success"
    assert out["terminated"]["task_status"] == "terminate_pending" and out["terminated"]["retryable"] is False
    final = out["final"]
    assert final["status"] == "terminated" and final["refund_tx_hash"].startswith("0x")
    # 0.48 SWAN/h: 1.5 h paid at creation + 1 h at renewal, minus the refund of the unused time
    paid = 1_200_000_000_000_000_000
    refund = int(Decimal(str(final["refund_amount"])) * 10**18)
    assert 0 < refund < paid
    custom_uuid = next(item["task"]["uuid"] for item in emu.get("/v2/task_list", {"wallet": wallet.address})["data"][
        "list"] if item["task"]["task_detail"]["hardware_id"] == 12)
    custom_refund = int(Decimal(emu.info(custom_uuid)["task"]["refund_amount"]) * 10**18)
    assert start - wallet.balance() == paid - refund + 10 * 10**18 - custom_refund
    assert out["custom_task"] == {"order_type": "Creation", "hardware_id": 12, "price_per_hour": "10.0"}
    info = emu.info(created["task_uuid"])
    assert [o["order_type"] for o in info["config_orders"]] == ["Creation", "Renewal"]


def test_swan_sdk_driver_runs_with_the_pinned_versions() -> None:
    done = subprocess.run([str(SDK_PYTHON), "-c", "import importlib.metadata as m; "
                           "print(m.version('swan-sdk'), m.version('web3'))"],
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["0.1.4", "6.20.3"]
    assert sys.version_info >= (3, 10)
